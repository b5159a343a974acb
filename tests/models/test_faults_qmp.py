# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab.faults and `tangolab inject` end to end against the real tango4 models.

QEMU runs under qtest with chip 0 (host memory) and chip 2 (an image file),
both of 16 blocks, and two extra QMP sockets: one for `Faults` (through
QmpClient, as `Faults.for_instance` does) and one registered as an instance
for the `tangolab inject` command line. The properties are checked through
qtest's own QMP connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tangolab import instances
from tangolab.cli import main
from tangolab.errors import QmpCommandError
from tangolab.faults import (
    COUNTERS,
    MAX_CHIP_TIME_NS,
    MAX_DELAY_NS,
    MIN_BANDWIDTH,
    FaultError,
    Faults,
    FaultValueError,
)
from tangolab.qmp import QmpClient
from tangolab.qtest import QTestMachine

BLOCKS = 16
RAW_PAGE = 2112
PAGES = BLOCKS * 64


@pytest.fixture
def image(tmp_path: Path) -> Path:
    img = tmp_path / "nand2.img"
    img.write_bytes(b"\xff" * (PAGES * RAW_PAGE))
    return img


@pytest.fixture
def machine(
    qtest_factory: Callable[..., QTestMachine], tmp_path: Path, image: Path
) -> QTestMachine:
    return qtest_factory(
        [
            "-global", f"onfi-nand.blocks={BLOCKS}",
            "-drive", f"if=mtd,index=2,format=raw,file={image}",
            "-qmp", f"unix:{tmp_path / 'faults.sock'},server=on,wait=off",
            "-qmp", f"unix:{tmp_path / 'cli.sock'},server=on,wait=off",
        ],
        intercept_gic=False,
    )  # fmt: skip


@pytest.fixture
def faults(machine: QTestMachine, tmp_path: Path) -> Iterator[Faults]:
    client = QmpClient(tmp_path / "faults.sock", timeout=10)
    client.connect(timeout=10, alive=machine.alive)
    try:
        yield Faults(client)
    finally:
        client.close()


def settings(m: QTestMachine) -> dict[str, Any]:
    """Every fault setting, read through qtest's QMP connection (not Faults)."""
    props: dict[str, Any] = {
        f"sbox.{p}": m.qom_get("/machine/sbox", p) for p in ("latency-ns", "bandwidth")
    }
    for n in range(4):
        props[f"mchan{n}.irq-delay-ns"] = m.qom_get(f"/machine/mchan{n}", "irq-delay-ns")
    for cs in (0, 2):
        for p in ("t-r-ns", "t-prog-ns", "t-bers-ns", "flip-bits", "mark-bad",
                  "fail-next-program", "fail-next-erase", "power-cut"):  # fmt: skip
            props[f"nand{cs}.{p}"] = m.qom_get(f"/machine/nand{cs}", p)
    return props


def test_chips_are_found_with_their_geometry(faults: Faults) -> None:
    chips = faults.chips()
    assert sorted(chips) == [0, 2]
    assert chips[2].blocks == BLOCKS and chips[2].pages == PAGES


def test_values_reach_the_qom_properties(machine: QTestMachine, faults: Faults) -> None:
    faults.set_route_latency("50us")
    faults.set_route_bandwidth("10MB/s")
    faults.set_irq_delay(1, "20us")
    faults.set_chip_timing(2, tR="30us", tPROG="300us", tBERS="3ms")
    faults.fail_next_program(0)
    faults.fail_next_erase(2)
    s = settings(machine)
    assert s["sbox.latency-ns"] == 50_000 and s["sbox.bandwidth"] == 10_000_000
    assert [s[f"mchan{n}.irq-delay-ns"] for n in range(4)] == [0, 20_000, 0, 0]
    assert (s["nand2.t-r-ns"], s["nand2.t-prog-ns"], s["nand2.t-bers-ns"]) == (
        30_000,
        300_000,
        3_000_000,
    )
    assert s["nand0.t-prog-ns"] == 200_000  # the other chip is untouched
    assert s["nand0.fail-next-program"] is True and s["nand0.fail-next-erase"] is False
    assert s["nand2.fail-next-erase"] is True and s["nand2.fail-next-program"] is False
    faults.set_irq_delay("all", 7)
    assert [machine.qom_get(f"/machine/mchan{n}", "irq-delay-ns") for n in range(4)] == [7] * 4
    assert faults.settings()["sbox"] == {
        "latency-ns": 50_000,
        "jitter": "none",
        "jitter-ns": 0,
        "seed": 0,
        "bandwidth": 10_000_000,
    }


def test_flips_and_bad_blocks_reach_the_image(
    machine: QTestMachine, faults: Faults, image: Path
) -> None:
    page = PAGES - 1
    faults.flip_bits(2, page, [(0, 0), (2111, 7), (0x800, 3)])
    assert machine.qom_get("/machine/nand2", "flip-bits") == f"{page}:0.0,2111.7,2048.3"
    faults.mark_bad(2, 3)
    assert machine.qom_get("/machine/nand2", "mark-bad") == 3
    data = image.read_bytes()
    raw = data[page * RAW_PAGE : (page + 1) * RAW_PAGE]
    assert (raw[0], raw[2048], raw[2111]) == (0xFE, 0xF7, 0x7F)
    assert raw.count(0xFF) == RAW_PAGE - 3
    first = 3 * 64 * RAW_PAGE
    assert data[first + 2048] == 0x00
    changed = sum(1 for b in data if b != 0xFF)
    assert changed == 4  # nothing else moved


def test_power_cut_arms_an_idle_chip(machine: QTestMachine, faults: Faults) -> None:
    faults.power_cut(2)
    assert machine.qom_get("/machine/nand2", "power-cut") is True
    assert machine.qom_get("/machine/nand0", "power-cut") is False


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda f: f.set_route_latency(MAX_DELAY_NS + 1), "too long"),
        (lambda f: f.set_route_bandwidth(MIN_BANDWIDTH - 1), "too low"),
        (lambda f: f.set_irq_delay(4, 1), "memory channel 4"),
        (lambda f: f.set_irq_delay("all", "1001ms"), "too long"),
        (lambda f: f.set_chip_timing(2, tR=1, tBERS=MAX_CHIP_TIME_NS + 1), "tBERS"),
        (lambda f: f.set_chip_timing(1, tR=1), "no NAND chip on chip select 1"),
        (lambda f: f.flip_bits(2, PAGES, [(0, 0)]), f"page {PAGES} is beyond nand2"),
        (lambda f: f.flip_bits(2, 0, [(0, 0), (2112, 0)]), "offset 2112"),
        (lambda f: f.mark_bad(0, BLOCKS), f"block {BLOCKS} is beyond nand0"),
        (lambda f: f.fail_next_program(3), "no NAND chip on chip select 3"),
        (lambda f: f.power_cut(5), "chip select 5 out of range"),
    ],
)
def test_bad_values_leave_the_instance_as_it_was(
    machine: QTestMachine, faults: Faults, image: Path, call: Any, message: str
) -> None:
    faults.set_route_latency(123)
    before = settings(machine)
    with pytest.raises(FaultValueError, match=message):
        call(faults)
    assert settings(machine) == before
    assert image.read_bytes().count(0xFF) == PAGES * RAW_PAGE


@pytest.mark.parametrize(
    "path,prop,maximum,minimum",
    [
        ("/machine/sbox", "latency-ns", MAX_DELAY_NS, None),
        ("/machine/mchan3", "irq-delay-ns", MAX_DELAY_NS, None),
        ("/machine/nand0", "t-r-ns", MAX_CHIP_TIME_NS, None),
        ("/machine/nand0", "t-prog-ns", MAX_CHIP_TIME_NS, None),
        ("/machine/nand2", "t-bers-ns", MAX_CHIP_TIME_NS, None),
        ("/machine/sbox", "bandwidth", None, MIN_BANDWIDTH),
    ],
)
def test_the_limits_agree_with_the_models(
    machine: QTestMachine, path: str, prop: str, maximum: int | None, minimum: int | None
) -> None:
    """faults.py's limits are exactly those the models enforce."""
    if maximum is not None:
        machine.qom_set(path, prop, maximum)
        with pytest.raises(QmpCommandError):
            machine.qom_set(path, prop, maximum + 1)
        assert machine.qom_get(path, prop) == maximum
    if minimum is not None:
        machine.qom_set(path, prop, minimum)
        with pytest.raises(QmpCommandError):
            machine.qom_set(path, prop, minimum - 1)
        assert machine.qom_get(path, prop) == minimum


def test_qemu_refusal_is_reported_and_rolled_back(machine: QTestMachine, faults: Faults) -> None:
    """What QEMU refuses becomes FaultError; the settings already made are undone
    (driven through the internal helper: the public API refuses such values itself)."""
    faults.set_irq_delay("all", 5)
    with pytest.raises(FaultError, match=r"QEMU refused irq-delay-ns = 2000000000 on "
                       r"/machine/mchan2: .*1 s"):  # fmt: skip
        faults._set_all(
            [(f"/machine/mchan{n}", "irq-delay-ns", 2 * 10**9 if n == 2 else 9) for n in range(4)]
        )
    assert [machine.qom_get(f"/machine/mchan{n}", "irq-delay-ns") for n in range(4)] == [5] * 4


def test_counters_have_every_counter(machine: QTestMachine, faults: Faults) -> None:
    counters = faults.counters()
    assert list(counters) == ["sbox", "mchan0", "mchan1", "mchan2", "mchan3", "nfc", "nand0",
                              "nand2", "loopback"]  # fmt: skip
    kinds = {"sbox": "sbox", "nfc": "nfc", "nand0": "nand", "nand2": "nand", "loopback": "loopback"}
    for name, values in counters.items():
        kind = kinds.get(name, "mchan")
        assert tuple(values) == COUNTERS[kind]
        assert all(isinstance(v, int) and v >= 0 for v in values.values())
    # the same numbers QEMU reports
    assert counters["nand2"]["blocks-erased"] == machine.qom_get("/machine/nand2", "blocks-erased")
    for prop in COUNTERS["sbox"]:  # read-only: QEMU refuses writes
        with pytest.raises(QmpCommandError):
            machine.qom_set("/machine/sbox", prop, 1)


# --- the command line against a registered instance --------------------------------------


@pytest.fixture
def instance(
    machine: QTestMachine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Register the qtest QEMU as instance "qt" of a build directory in tmp_path."""
    build = tmp_path / "build"
    runs = build / "runs"
    claim = instances.claim("qt", runs)
    assert machine.pid is not None
    instances.write_record(
        instances.InstanceRecord(
            name="qt",
            pid=machine.pid,
            pid_start=instances.process_start_time(machine.pid),
            run_dir=str(runs / "qt"),
            qmp_socket=str(tmp_path / "cli.sock"),
            console_log=str(runs / "qt" / "console.log"),
            stderr_log=str(runs / "qt" / "qemu.stderr"),
            state="ready",
        ),
        runs,
    )
    monkeypatch.setenv("TANGOLAB_BUILD", str(build))
    try:
        yield "qt"
    finally:
        instances.remove_record("qt", runs)
        claim.release()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inject", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sets_the_properties(
    machine: QTestMachine, instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "--instance", instance, "latency", "50us")[0] == 0
    assert cli(capsys, "bandwidth", "512KiB/s")[0] == 0  # the only instance
    assert cli(capsys, "irq-delay", "--channel", "3", "1ms")[0] == 0
    assert cli(capsys, "timing", "--cs", "2", "--tprog", "650us")[0] == 0
    code, out, _ = cli(capsys, "flip", "--cs", "2", "--page", "5", "--bits", "100.3,200.0")
    assert code == 0 and "flipped 2 bit(s) of page 5" in out
    assert cli(capsys, "bad-block", "--cs", "0", "15")[0] == 0
    assert cli(capsys, "power-cut", "--cs", "0")[0] == 0
    s = settings(machine)
    assert s["sbox.latency-ns"] == 50_000 and s["sbox.bandwidth"] == 524_288
    assert s["mchan3.irq-delay-ns"] == 1_000_000 and s["nand2.t-prog-ns"] == 650_000
    assert s["nand2.flip-bits"] == "5:100.3,200.0" and s["nand0.mark-bad"] == 15
    assert s["nand0.power-cut"] is True
    code, out, _ = cli(capsys, "counters", "--json")
    assert code == 0 and set(json.loads(out)) == {"sbox", "mchan0", "mchan1", "mchan2",
                                                   "mchan3", "nfc", "nand0", "nand2",
                                                   "loopback"}  # fmt: skip


@pytest.mark.parametrize(
    "argv,message",
    [
        (["latency", "2s"], "too long"),
        (["bandwidth", "1000B/s"], "too low"),
        (["timing", "--cs", "1", "--tr", "1us"], "no NAND chip on chip select 1"),
        (["flip", "--cs", "2", "--page", str(PAGES), "--bits", "1.1"], "is beyond nand2"),
        (["bad-block", "--cs", "2", str(BLOCKS)], "is beyond nand2"),
        (["fail-erase", "--cs", "3"], "no NAND chip on chip select 3"),
    ],
)
def test_cli_bad_values_exit_2_and_change_nothing(
    machine: QTestMachine,
    instance: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    before = settings(machine)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert settings(machine) == before
