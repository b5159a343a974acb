# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench nand` in the guest: the tango4 NAND (the whole DMA path)
against the kernel's nandsim, loaded with the tango4 chip's ID bytes, in one
booted machine.

`measure` does it all: `prepare` loads nandsim and checks that both
devices have the same geometry; then, each run, `speedtest` runs
`mtd_speedtest` on each and `roundtrip` times ``flash_erase``, ``nandwrite``
and ``nanddump`` of fresh random data on each, in host wall seconds and
QEMU CPU seconds, and checks the dumped data. Both devices are used from
their first block: the same region on each.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tangolab.experiment.cells import POLICY_PARAM, WAIT_PARAM
from tangolab.machine import Machine

from .speed import (
    ROUNDTRIP_STEPS,
    TANGO4_ID_BYTES,
    BenchError,
    MtdGeometry,
    check_roundtrip,
    check_same_geometry,
    mtd_sysfs_command,
    parse_mtd_sysfs,
    parse_sha256sums,
    parse_speedtest,
    process_cpu_seconds,
)

SIDES = ("tango4", "nandsim")
TANGO4_MTD_NAME = "tango-nand.0"
NANDSIM_MTD_NAME = "NAND simulator partition 0"
#: the round trip's files in the guest's /tmp (a tmpfs)
DATA = "/tmp/bench-data.bin"
DUMP = "/tmp/bench-dump.bin"
MIB = 1 << 20


@dataclass(frozen=True)
class Flash:
    """One device under test: its side, /dev/mtdN number and geometry."""

    side: str
    index: int
    geometry: MtdGeometry

    @property
    def dev(self) -> str:
        return f"/dev/mtd{self.index}"


def _run(m: Machine, cmd: str, timeout: float) -> str:
    res = m.run(cmd, timeout=timeout)
    if res.status != 0:
        raise BenchError(f"guest command {cmd!r} failed ({res.status}): {res.output[-500:]}")
    return res.output


def _mtd_names(m: Machine) -> dict[int, str]:
    # /sys/class/mtd also lists the mtdNro read-only devices, without a name
    out = _run(
        m,
        'for d in /sys/class/mtd/mtd*; do [ -f $d/name ] && echo "${d##*mtd} $(cat $d/name)"; '
        "done; true",
        30,
    )
    names: dict[int, str] = {}
    for line in out.splitlines():
        num, _, name = line.strip().partition(" ")
        if num.isdigit():
            names[int(num)] = name
    return names


def _find(names: dict[int, str], wanted: str, side: str) -> int:
    found = [i for i, n in names.items() if n == wanted]
    if len(found) != 1:
        raise BenchError(
            f"{side}: expected one MTD device named {wanted!r}, found {len(found)} "
            f"(devices: {names or 'none'})"
        )
    return found[0]


def _flash(m: Machine, side: str, index: int) -> Flash:
    return Flash(side, index, parse_mtd_sysfs(_run(m, mtd_sysfs_command(index), 30)))


def prepare(m: Machine) -> dict[str, Flash]:
    """Quiet console, the client tear-down policy, nandsim loaded with the
    tango4 chip's ID; both devices, refused unless their geometries agree."""
    # The modules' messages go to dmesg only, not at 115200 baud to the console.
    _run(m, "dmesg -n 1", 30)
    _run(m, f"echo 0 > {WAIT_PARAM} && echo client > {POLICY_PARAM}", 30)
    policy = _run(m, f"cat {POLICY_PARAM}", 30).strip()
    if policy != "client":
        raise BenchError(f"the DMA tear-down policy is {policy!r}, not client")
    tango4 = _flash(m, "tango4", _find(_mtd_names(m), TANGO4_MTD_NAME, "tango4"))
    ids = ",".join(f"0x{b:02x}" for b in TANGO4_ID_BYTES)
    res = m.run(f"modprobe nandsim id_bytes={ids}", timeout=120)
    if res.status != 0 and "not found" in res.output:
        raise BenchError(
            "the guest kernel has no nandsim module: rebuild it with `tangolab build all` "
            "(guest/config/tango4.config has CONFIG_MTD_NAND_NANDSIM=m)"
        )
    if res.status != 0:
        raise BenchError(f"modprobe nandsim failed ({res.status}): {res.output[-500:]}")
    nandsim = _flash(m, "nandsim", _find(_mtd_names(m), NANDSIM_MTD_NAME, "nandsim"))
    check_same_geometry(tango4.geometry, nandsim.geometry)
    return {"tango4": tango4, "nandsim": nandsim}


def speedtest(m: Machine, flash: Flash, count: int, timeout: float) -> dict[str, int]:
    """`mtd_speedtest` on the first `count` eraseblocks: its KiB/s figures."""
    out = _run(
        m,
        f"dmesg -c > /dev/null; modprobe mtd_speedtest dev={flash.index} count={count}; "
        "echo modprobe=$?; rmmod mtd_speedtest 2>/dev/null; dmesg -c",
        timeout,
    )
    status = re.search(r"modprobe=(\d+)", out)
    if status is None or status.group(1) != "0":
        raise BenchError(f"{flash.side}: mtd_speedtest failed: {out[-800:]}")
    try:
        return parse_speedtest(out)
    except BenchError as e:
        raise BenchError(f"{flash.side}: {e}") from None


class QemuCpu:
    """QEMU's CPU time so far: utime + stime of the whole process (all its
    threads, vCPUs, main loop and I/O workers, exited ones included)."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.ticks = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        try:
            text = self.stat.read_text()
        except OSError as e:
            raise BenchError(f"cannot read QEMU's CPU time: {e}") from None
        return process_cpu_seconds(text, self.ticks)


class StepTimer:
    """Host wall and QEMU CPU seconds between the begin and end marks of a
    guest command (`Machine.run`'s ``marks``): the command alone, without
    the typing of its line on the serial console and the prompt after it."""

    def __init__(self, cpu: QemuCpu) -> None:
        self.cpu = cpu
        self.at: dict[str, tuple[float, float]] = {}

    def mark(self, what: str) -> None:
        self.at[what] = (time.monotonic(), self.cpu.seconds())

    def elapsed(self) -> tuple[float, float]:
        if "begin" not in self.at or "end" not in self.at:
            raise BenchError("a step's begin or end was not seen on the console")
        (t0, c0), (t1, c1) = self.at["begin"], self.at["end"]
        return t1 - t0, c1 - c0


def roundtrip(m: Machine, flash: Flash, size: int, timeout: float, cpu: QemuCpu) -> dict[str, Any]:
    """Erase, write and dump `size` bytes of fresh random data from the
    first block, each step timed in host wall and QEMU CPU seconds per MiB;
    a BenchError unless the dumped bytes are the written ones."""
    blocks = size // flash.geometry.erasesize
    _run(
        m,
        f"rm -f {DUMP} && dd if=/dev/urandom of={DATA} bs={flash.geometry.erasesize} "
        f"count={blocks} 2>/dev/null",
        timeout,
    )
    commands = {
        "flash_erase": f"flash_erase -q {flash.dev} 0 {blocks}",
        "nandwrite": f"nandwrite -q {flash.dev} {DATA}",
        "nanddump": f"nanddump -q -l {size} -f {DUMP} {flash.dev}",
    }
    figures: dict[str, Any] = {}
    for step in ROUNDTRIP_STEPS:
        timer = StepTimer(cpu)
        res = m.run(commands[step], timeout=timeout, marks=timer.mark)
        if res.status != 0:
            raise BenchError(
                f"{flash.side}: {commands[step]!r} failed ({res.status}): {res.output[-500:]}"
            )
        wall, cpu_s = timer.elapsed()
        figures[step] = {"host_s_per_mib": wall * MIB / size, "cpu_s_per_mib": cpu_s * MIB / size}
    figures["sha256"] = verify(m, flash.side, timeout)
    figures["verified"] = True
    return figures


def verify(m: Machine, side: str, timeout: float) -> str:
    """The digest of the round trip's data; a BenchError unless the dumped
    file holds the same bytes as the written one."""
    sums = parse_sha256sums(m.run(f"sha256sum {DATA} {DUMP}", timeout=timeout).output)
    try:
        return check_roundtrip(sums, DATA, DUMP)
    except BenchError as e:
        raise BenchError(f"{side}: {e}") from None


def measure(m: Machine, runs: int, size: int, count: int, timeout: float) -> dict[str, Any]:
    """`runs` runs on a booted machine, each `speedtest` (`count` blocks)
    then `roundtrip` (`size` bytes) on both sides in turn, after an
    uncounted one-block round trip on each; every figure."""
    if m.pid is None:
        raise BenchError("the machine is not running")
    flashes = prepare(m)
    cpu = QemuCpu(m.pid)
    # Warm-up, not counted: the first round trip also pays for translating
    # the code it runs (TCG), seen as 3x the time of the next ones.
    for side in SIDES:
        roundtrip(m, flashes[side], flashes[side].geometry.erasesize, timeout, cpu)
    results: list[dict[str, dict[str, Any]]] = []
    for _ in range(runs):
        run: dict[str, dict[str, Any]] = {side: {} for side in SIDES}
        for side in SIDES:
            run[side]["speedtest"] = speedtest(m, flashes[side], count, timeout)
        for side in SIDES:
            run[side]["roundtrip"] = roundtrip(m, flashes[side], size, timeout, cpu)
        results.append(run)
    return {
        "settings": {
            "runs": runs,
            "size_bytes": size,
            "speedtest_count": count,
            "policy": "client",
            "icount": m.icount,
            "cpu_time": "utime+stime of the whole QEMU process (all threads), 1/CLK_TCK s steps",
        },
        "devices": {
            side: {"mtd": f.index, "name": f.geometry.name, "geometry": f.geometry.describe()}
            for side, f in flashes.items()
        },
        "runs": results,
    }
