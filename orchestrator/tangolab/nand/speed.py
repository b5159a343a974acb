# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The figures of `tangolab bench nand`: what the guest and the host print,
parsed, and their medians and ratios (no guest, no QEMU here).

    parse_speedtest(dmesg)        -> {"eraseblock write": 2092, ...}  (KiB/s)
    parse_mtd_sysfs(text)         -> MtdGeometry
    process_cpu_seconds(stat)     -> utime + stime of /proc/PID/stat, in s
    parse_sha256sums(text)        -> {path: digest}
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tangolab.errors import TangolabError

#: the ID bytes of the modelled chip (hw-models/HARDWARE.md, "NAND chip"):
#: Micron MT29F1G08ABADA, 2048 + 64-byte pages, 128 KiB blocks, 128 MiB
TANGO4_ID_BYTES = (0x2C, 0xF1, 0x80, 0x95, 0x02)

#: the two `mtd_speedtest` figures compared (the others are kept in --json)
SPEEDTEST_COMPARED = ("eraseblock write", "eraseblock read")

#: the user-space round trip, in order
ROUNDTRIP_STEPS = ("flash_erase", "nandwrite", "nanddump")

_SPEED = re.compile(r"mtd_speedtest: (?P<what>[\w -]+?) speed is (?P<kib>\d+) KiB/s")
_SPEED_ERROR = re.compile(r"mtd_speedtest: error (-?\d+) occurred")


class BenchError(TangolabError):
    """The benchmark could not measure: a guest step failed or disagreed."""


def parse_speedtest(log: str) -> dict[str, int]:
    """The KiB/s figures `mtd_speedtest` printed in `log` (its dmesg).

    Every figure of the run, keyed by what the module names it ("eraseblock
    write", "page read", "4x multi-block erase", ...). The run must have
    finished without error and have given the compared figures, non-zero
    (the module prints 0 when a pass took less than a millisecond).
    """
    err = _SPEED_ERROR.search(log)
    if err:
        raise BenchError(f"mtd_speedtest: error {err.group(1)} occurred")
    if "mtd_speedtest: finished" not in log:
        raise BenchError("mtd_speedtest did not finish (no 'finished' line in its log)")
    speeds: dict[str, int] = {}
    for m in _SPEED.finditer(log):
        speeds[m.group("what")] = int(m.group("kib"))
    for what in SPEEDTEST_COMPARED:
        if what not in speeds:
            raise BenchError(f"mtd_speedtest printed no {what} speed")
        if speeds[what] <= 0:
            raise BenchError(
                f"mtd_speedtest: {what} speed 0 KiB/s (the pass took under a millisecond: "
                "raise --speedtest-count)"
            )
    return speeds


@dataclass(frozen=True)
class MtdGeometry:
    """What /sys/class/mtd/mtdN says about a device."""

    name: str
    type: str
    size: int
    erasesize: int
    writesize: int
    oobsize: int

    def shape(self) -> tuple[str, int, int, int, int]:
        """The fields that must agree for a comparison (not the name)."""
        return (self.type, self.size, self.erasesize, self.writesize, self.oobsize)

    def describe(self) -> str:
        return (
            f"{self.type}, {self.size >> 20} MiB, {self.erasesize >> 10} KiB blocks, "
            f"{self.writesize}+{self.oobsize}-byte pages"
        )


#: the sysfs attributes read, in the order `mtd_sysfs_command` prints them
MTD_ATTRIBUTES = ("name", "type", "size", "erasesize", "writesize", "oobsize")


def mtd_sysfs_command(index: int) -> str:
    """A guest command printing ``attribute=value`` lines for mtd`index`."""
    files = " ".join(MTD_ATTRIBUTES)
    return f'cd /sys/class/mtd/mtd{index} && for f in {files}; do echo "$f=$(cat $f)"; done'


def parse_mtd_sysfs(text: str) -> MtdGeometry:
    """The geometry from the output of `mtd_sysfs_command`."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in MTD_ATTRIBUTES:
            values[key] = value.strip()
    missing = [a for a in MTD_ATTRIBUTES if a not in values]
    if missing:
        raise BenchError(f"mtd sysfs: no {', '.join(missing)} in {text.strip()[-200:]!r}")
    try:
        numbers = {a: int(values[a]) for a in MTD_ATTRIBUTES[2:]}
    except ValueError:
        raise BenchError(f"mtd sysfs: a size is not a number in {text.strip()!r}") from None
    return MtdGeometry(name=values["name"], type=values["type"], **numbers)


def check_same_geometry(tango4: MtdGeometry, nandsim: MtdGeometry) -> None:
    """Refuse to compare devices whose geometry differs."""
    if tango4.shape() != nandsim.shape():
        raise BenchError(
            f"geometries differ, not comparing: tango4 {tango4.describe()}, "
            f"nandsim {nandsim.describe()}"
        )


def process_cpu_seconds(stat: str, clock_ticks: int) -> float:
    """utime + stime of a /proc/PID/stat line, in seconds.

    These are the whole process's: every thread, those that exited included
    (each thread's own times are in /proc/PID/task/TID/stat).
    """
    # the command name (field 2) is in parentheses and may hold spaces
    _, paren, rest = stat.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) < 13:
        raise BenchError(f"not a /proc/PID/stat line: {stat[:80]!r}")
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    try:
        utime, stime = int(fields[11]), int(fields[12])
    except ValueError:
        raise BenchError(f"not a /proc/PID/stat line: {stat[:80]!r}") from None
    return (utime + stime) / clock_ticks


def parse_sha256sums(text: str) -> dict[str, str]:
    """``{path: digest}`` from ``sha256sum`` output."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([0-9a-f]{64})\s+\*?(\S+)", line.strip())
        if m:
            sums[m.group(2)] = m.group(1)
    return sums


def check_roundtrip(sums: Mapping[str, str], written: str, dumped: str) -> str:
    """The digest of the data when the dumped file equals the written one."""
    for path in (written, dumped):
        if path not in sums:
            raise BenchError(f"round trip: no checksum of {path}")
    if sums[written] != sums[dumped]:
        raise BenchError(
            f"round trip: the dumped data differ from the written data "
            f"(sha256 {sums[dumped][:16]}... != {sums[written][:16]}...)"
        )
    return sums[written]


def median(values: Sequence[float]) -> float:
    if not values:
        raise BenchError("no runs to take a median of")
    return float(statistics.median(values))


def ratio(tango4: float, nandsim: float) -> float | None:
    """tango4 / nandsim, None when nandsim's figure is 0 (nothing measurable)."""
    return tango4 / nandsim if nandsim else None


#: the round trip's figures of each step: key in the results, unit
ROUNDTRIP_FIGURES = (("host_s_per_mib", "host s/MiB"), ("cpu_s_per_mib", "QEMU CPU s/MiB"))

#: the rows of the comparison: label, the figure's path in one side's
#: results of a run, and whether more is better
FIGURES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    *((f"mtd_speedtest {w} (guest KiB/s)", ("speedtest", w), True) for w in SPEEDTEST_COMPARED),
    *(
        (f"{step} ({unit})", ("roundtrip", step, key), False)
        for step in ROUNDTRIP_STEPS
        for key, unit in ROUNDTRIP_FIGURES
    ),
)


@dataclass(frozen=True)
class Row:
    """One figure's medians over the runs, both sides, and their ratio."""

    label: str
    tango4: float
    nandsim: float
    ratio: float | None
    higher_is_better: bool

    def verdict(self) -> str:
        """How tango4 compares, in words ("3.1x slower")."""
        if self.ratio is None or self.ratio == 0:
            return "-"
        faster = self.ratio > 1 if self.higher_is_better else self.ratio < 1
        factor = self.ratio if self.ratio >= 1 else 1 / self.ratio
        return f"{factor:.2f}x {'faster' if faster else 'slower'}"


def _figure(side: Mapping[str, Any], path: Sequence[str]) -> float:
    value: Any = side
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            raise BenchError(f"a run has no {' '.join(path)} figure")
        value = value[key]
    return float(value)


def summarize(runs: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[Row]:
    """The medians of every compared figure over `runs` (each run maps
    "tango4" and "nandsim" to that side's results) and their ratios."""
    rows = []
    for label, path, higher in FIGURES:
        t = median([_figure(run["tango4"], path) for run in runs])
        n = median([_figure(run["nandsim"], path) for run in runs])
        rows.append(Row(label, t, n, ratio(t, n), higher))
    return rows
