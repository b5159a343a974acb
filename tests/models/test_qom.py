# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The machine as QEMU's monitor shows it, and the range-checked run-time
settings (hw-models/include/hw/limited-uint64.h).

- ``info qom-tree``: the tango4-soc container at /machine/soc holds the
  CPUs, the MPCore block, the L2 cache controller, the switch box, the
  memory channels and the NFC; the board's NAND chips and the loopback are
  the machine's children beside it.
- ``info qtree``: the SoC is a device on the system bus with its
  ``num-cpus``; its devices are on that bus too (qtree lists buses, not the
  QOM composition), the bus-less NAND chips are not there.
- Every limited uint64 property keeps its range, refuses a value outside
  it with a message naming the device type, the property, the limit with
  its unit and what it means, and keeps its previous value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import QTestMachine

StartFn = Callable[..., QTestMachine]

TANGO4_INTERCEPT_GIC = False


def hmp(machine: QTestMachine, command: str) -> str:
    out: str = machine.qmp("human-monitor-command", **{"command-line": command})
    return out.replace("\r\n", "\n")  # the monitor's line ends


def qom_children(tree: str, path: str) -> dict[str, str]:
    """The direct children (name -> type) of `path` in `info qom-tree`."""
    lines = tree.splitlines()
    parts = path.strip("/").split("/")
    depth, start = -1, 0
    for part in parts:  # walk down: each part is a child of the line before
        depth += 1
        pattern = re.compile(rf"^{' ' * 2 * depth}/{re.escape(part)} \((\S+)\)$")
        start = next(i for i in range(start, len(lines)) if pattern.match(lines[i])) + 1
    children = {}
    child = re.compile(rf"^{' ' * 2 * (depth + 1)}/(\S+) \((\S+)\)$")
    for line in lines[start:]:
        if not line.startswith(" " * 2 * (depth + 1)):
            break
        m = child.match(line)
        if m:
            children[m.group(1)] = m.group(2)
    return children


def test_qom_tree_shows_the_soc_container(start_tango4: StartFn) -> None:
    machine = start_tango4()
    tree = hmp(machine, "info qom-tree")
    top = qom_children(tree, "/machine")
    assert top["soc"] == "tango4-soc"
    assert top["nand0"] == "onfi-nand" and top["loopback"] == "tango4-loopback"
    soc = qom_children(tree, "/machine/soc")
    assert {name: soc[name] for name in ("sbox", "nfc", "a9mpcore", "l2cc")} == {
        "sbox": "tango4-sbox",
        "nfc": "tango4-nfc",
        "a9mpcore": "a9mpcore_priv",
        "l2cc": "l2x0",
    }
    assert [soc[f"mchan{n}"] for n in range(4)] == ["tango4-mchan"] * 4
    assert sorted(k for k in soc if k.startswith("cpu[")) == ["cpu[0]", "cpu[1]"]
    assert "sbox" not in top  # a link to /machine/soc/sbox, not a child
    assert machine.qom_get("/machine/soc", "num-cpus") == 2
    assert machine.qom_get("/machine/sbox", "type") == "tango4-sbox"


def test_qtree_shows_the_soc_on_the_system_bus(start_tango4: StartFn) -> None:
    machine = start_tango4("-smp", "1")
    qtree = hmp(machine, "info qtree")
    assert qtree.startswith("bus: main-system-bus\n")
    soc = re.search(r"^  dev: tango4-soc, id \"\"\n((?:    .*\n)*)", qtree, re.M)
    assert soc, qtree
    assert "    num-cpus = 1 (0x1)\n" in soc.group(1)
    for dev in ("tango4-sbox", "tango4-nfc", "tango4-loopback", "a9mpcore_priv"):
        assert qtree.count(f"  dev: {dev}, id") == 1, dev
    assert qtree.count("  dev: tango4-mchan, id") == 4
    assert "onfi-nand" not in qtree  # no bus: not in the bus tree


# (QOM path, property, largest value, its unit and meaning, least non-zero value)
LIMITED = [
    ("/machine/sbox", "latency-ns", 10**9, "ns (1 s)", 0),
    ("/machine/sbox", "jitter-ns", 10**9, "ns (1 s)", 0),
    ("/machine/sbox", "bandwidth", 10**12, "bytes/s (1 TB/s)", 1024),
    ("/machine/mchan2", "irq-delay-ns", 10**9, "ns (1 s)", 0),
    (
        "/machine/nand0",
        "t-r-ns",
        65_535_000,
        "ns (65535 us, the largest time an ONFI parameter page can give)",
        0,
    ),
    ("/machine/nand0", "t-prog-ns", 65_535_000, "ns (65535 us, ", 0),
    ("/machine/nand0", "t-bers-ns", 65_535_000, "ns (65535 us, ", 0),
]


@pytest.mark.parametrize(("path", "prop", "maximum", "unit", "least"), LIMITED)
def test_limited_settings_keep_their_range(
    start_tango4: StartFn, path: str, prop: str, maximum: int, unit: str, least: int
) -> None:
    machine = start_tango4()
    kind = machine.qom_get(path, "type")
    machine.qom_set(path, prop, maximum)
    assert machine.qom_get(path, prop) == maximum
    machine.qom_set(path, prop, 0)
    assert machine.qom_get(path, prop) == 0
    machine.qom_set(path, prop, max(least, 1))
    with pytest.raises(QmpCommandError) as e:
        machine.qom_set(path, prop, maximum + 1)
    assert f"{kind}: {prop} must be at most {maximum} {unit}" in e.value.desc
    assert e.value.desc.endswith(f", not {maximum + 1}")
    with pytest.raises(QmpCommandError):
        machine.qom_set(path, prop, -1)  # not a uint64
    with pytest.raises(QmpCommandError):
        machine.qom_set(path, prop, "5")
    if least:
        with pytest.raises(QmpCommandError) as e:
            machine.qom_set(path, prop, least - 1)
        assert e.value.desc == (
            f"{kind}: {prop} must be 0 or at least {least} {unit.split()[0]}, not {least - 1}"
        )
    assert machine.qom_get(path, prop) == max(least, 1)  # every refusal left it


def test_limited_settings_are_described(start_tango4: StartFn) -> None:
    machine = start_tango4()
    for path, prop, *_ in LIMITED:
        kind = machine.qom_get(path, "type")
        props = {p["name"]: p for p in machine.qmp("qom-list-properties", typename=kind)}
        assert props[prop]["type"] == "uint64"
        assert props[prop].get("description"), (kind, prop)
