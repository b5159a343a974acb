# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench nand`'s parsing and statistics (tangolab.nand.speed), on
output captured from the guest and the host."""

from __future__ import annotations

from typing import Any

import pytest

from tangolab.commands.bench_nand import table
from tangolab.nand.speed import (
    FIGURES,
    BenchError,
    MtdGeometry,
    check_roundtrip,
    check_same_geometry,
    parse_mtd_sysfs,
    parse_sha256sums,
    parse_speedtest,
    process_cpu_seconds,
    summarize,
)
from tangolab.nand.speedrun import DATA, DUMP

# `modprobe mtd_speedtest dev=0 count=16; dmesg -c` on the tango4 NAND
# (captured 2026-12-03, the "rc=0" line is the benchmark's own echo)
TANGO4_SPEEDTEST = """\
rc=0
[    6.106961] =================================================
[    6.106989] mtd_speedtest: MTD device: 0    count: 16
[    6.107144] mtd_speedtest: MTD device size 134217728, eraseblock size 131072, page size 2048, count of eraseblocks 1024, pages per eraseblock 64, OOB size 64
[    6.109185] mtd_test: scanning for bad eraseblocks
[    6.109425] mtd_test: scanned 16 eraseblocks, 0 are bad
[    6.145223] mtd_speedtest: testing eraseblock write speed
[    7.460139] mtd_speedtest: eraseblock write speed is 1557 KiB/s
[    7.460242] mtd_speedtest: testing eraseblock read speed
[    8.738801] mtd_speedtest: eraseblock read speed is 1601 KiB/s
[    8.754032] mtd_speedtest: testing page write speed
[    9.874250] mtd_speedtest: page write speed is 1828 KiB/s
[    9.874348] mtd_speedtest: testing page read speed
[   11.166761] mtd_speedtest: page read speed is 1584 KiB/s
[   11.181079] mtd_speedtest: testing 2 page write speed
[   11.856333] mtd_speedtest: 2 page write speed is 3033 KiB/s
[   11.856435] mtd_speedtest: testing 2 page read speed
[   12.529425] mtd_speedtest: 2 page read speed is 3043 KiB/s
[   12.529526] mtd_speedtest: Testing erase speed
[   12.545735] mtd_speedtest: erase speed is 126654 KiB/s
[   12.545835] mtd_speedtest: Testing 2x multi-block erase speed
[   12.565272] mtd_speedtest: 2x multi-block erase speed is 105632 KiB/s
[   12.565381] mtd_speedtest: Testing 4x multi-block erase speed
[   12.579855] mtd_speedtest: 4x multi-block erase speed is 141759 KiB/s
[   12.579934] mtd_speedtest: Testing 8x multi-block erase speed
[   12.594404] mtd_speedtest: 8x multi-block erase speed is 141779 KiB/s
[   12.594469] mtd_speedtest: Testing 16x multi-block erase speed
[   12.615654] mtd_speedtest: 16x multi-block erase speed is 96795 KiB/s
[   12.615718] mtd_speedtest: Testing 32x multi-block erase speed
[   12.632230] mtd_speedtest: 32x multi-block erase speed is 124219 KiB/s
[   12.632289] mtd_speedtest: Testing 64x multi-block erase speed
[   12.645975] mtd_speedtest: 64x multi-block erase speed is 149915 KiB/s
[   12.646082] mtd_speedtest: finished
[   12.646264] =================================================
"""  # noqa: E501 - the kernel's lines as they came

# the same on nandsim (mtd1), loaded with the tango4 chip's ID bytes
NANDSIM_SPEEDTEST = """\
[   13.124420] mtd_speedtest: MTD device: 1    count: 16
[   13.126892] mtd_speedtest: testing eraseblock write speed
[   13.149848] mtd_speedtest: eraseblock write speed is 90049 KiB/s
[   13.149976] mtd_speedtest: testing eraseblock read speed
[   13.159238] mtd_speedtest: eraseblock read speed is 222318 KiB/s
[   13.160289] mtd_speedtest: testing page write speed
[   13.178196] mtd_speedtest: page write speed is 114714 KiB/s
[   13.215646] mtd_speedtest: 64x multi-block erase speed is 89043478 KiB/s
[   13.215660] mtd_speedtest: finished
"""

# the mtd sysfs attributes of both devices in that boot
TANGO4_SYSFS = """\
name=tango-nand.0
type=nand
size=134217728
erasesize=131072
writesize=2048
oobsize=64
"""
NANDSIM_SYSFS = TANGO4_SYSFS.replace("tango-nand.0", "NAND simulator partition 0")

# /proc/PID/stat of a running tango4 QEMU
QEMU_STAT = (
    "25674 (qemu-system-arm) S 25655 25674 25674 34816 25674 138412160 8270 0 4 0 456 70 "
    "0 0 20 0 7 0 2151761 2118762496 39406 18446744073709551615 93952265801728 "
    "93952270822837 140736389088336 0 0 0 268444224 16781312 147523 0 0 0 17 1 0 0 0 0 0"
)


def test_speedtest_figures() -> None:
    speeds = parse_speedtest(TANGO4_SPEEDTEST)
    assert speeds["eraseblock write"] == 1557
    assert speeds["eraseblock read"] == 1601
    assert speeds["2 page read"] == 3043
    assert speeds["64x multi-block erase"] == 149915
    assert len(speeds) == 13
    assert parse_speedtest(NANDSIM_SPEEDTEST)["eraseblock read"] == 222318


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (TANGO4_SPEEDTEST.replace("mtd_speedtest: finished", ""), "did not finish"),
        (
            TANGO4_SPEEDTEST.replace("mtd_speedtest: finished", "mtd_speedtest: error -5 occurred"),
            "error -5 occurred",
        ),
        (
            TANGO4_SPEEDTEST.replace("eraseblock read speed is 1601", "eraseblock read speed is 0"),
            "eraseblock read speed 0 KiB/s",
        ),
        (
            "\n".join(ln for ln in TANGO4_SPEEDTEST.splitlines() if "eraseblock write" not in ln),
            "no eraseblock write speed",
        ),
        ("", "did not finish"),
    ],
)
def test_speedtest_refused(log: str, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        parse_speedtest(log)


def test_geometry_same_and_different() -> None:
    tango4, nandsim = parse_mtd_sysfs(TANGO4_SYSFS), parse_mtd_sysfs(NANDSIM_SYSFS)
    assert tango4 == MtdGeometry("tango-nand.0", "nand", 128 << 20, 128 << 10, 2048, 64)
    assert nandsim.name == "NAND simulator partition 0"
    check_same_geometry(tango4, nandsim)
    # nandsim with the default ID (0x98 0x39: 128 MiB, 512-byte pages, 16 KiB blocks)
    small = parse_mtd_sysfs(
        NANDSIM_SYSFS.replace("erasesize=131072", "erasesize=16384")
        .replace("writesize=2048", "writesize=512")
        .replace("oobsize=64", "oobsize=16")
    )
    with pytest.raises(BenchError, match=r"geometries differ.*512\+16-byte pages"):
        check_same_geometry(tango4, small)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TANGO4_SYSFS.replace("oobsize=64\n", ""), "no oobsize"),
        (TANGO4_SYSFS.replace("size=134217728", "size=big"), "not a number"),
        ("cat: can't open 'name'", "no name"),
    ],
)
def test_geometry_refused(text: str, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        parse_mtd_sysfs(text)


def test_cpu_seconds() -> None:
    assert process_cpu_seconds(QEMU_STAT, 100) == pytest.approx(5.26)
    # a command name with spaces and a parenthesis
    odd = QEMU_STAT.replace("(qemu-system-arm)", "(qemu (x) y)")
    assert process_cpu_seconds(odd, 100) == pytest.approx(5.26)
    with pytest.raises(BenchError, match="not a /proc/PID/stat line"):
        process_cpu_seconds("25674 (qemu) S 1 2", 100)


def test_roundtrip_verification() -> None:
    a, b = "ab" * 32, "cd" * 32
    sums = parse_sha256sums(f"{a}  {DATA}\n{a}  {DUMP}\n")
    assert check_roundtrip(sums, DATA, DUMP) == a
    with pytest.raises(BenchError, match="the dumped data differ"):
        check_roundtrip(parse_sha256sums(f"{a}  {DATA}\n{b}  {DUMP}\n"), DATA, DUMP)
    missing = parse_sha256sums(f"{a}  {DATA}\nsha256sum: {DUMP}: No such file or directory\n")
    with pytest.raises(BenchError, match=f"no checksum of {DUMP}"):
        check_roundtrip(missing, DATA, DUMP)


def _side(eb_write: float, eb_read: float, seconds: float) -> dict[str, Any]:
    step = {"host_s_per_mib": seconds, "cpu_s_per_mib": seconds / 2}
    return {
        "speedtest": {"eraseblock write": eb_write, "eraseblock read": eb_read},
        "roundtrip": {s: dict(step) for s in ("flash_erase", "nandwrite", "nanddump")},
    }


def test_medians_and_ratios() -> None:
    runs = [
        {"tango4": _side(2000, 3000, 0.6), "nandsim": _side(40000, 100000, 0.1)},
        {"tango4": _side(2100, 3300, 0.5), "nandsim": _side(44000, 130000, 0.2)},
        {"tango4": _side(1900, 3100, 0.4), "nandsim": _side(43000, 120000, 0.3)},
    ]
    rows = {r.label: r for r in summarize(runs)}
    assert list(rows) == [label for label, _, _ in FIGURES]
    w = rows["mtd_speedtest eraseblock write (guest KiB/s)"]
    assert (w.tango4, w.nandsim) == (2000, 43000)
    assert w.ratio == pytest.approx(2000 / 43000)
    assert w.verdict() == "21.50x slower"
    d = rows["nanddump (host s/MiB)"]
    assert (d.tango4, d.nandsim, d.ratio) == (0.5, 0.2, pytest.approx(2.5))
    assert d.verdict() == "2.50x slower"
    c = rows["nandwrite (QEMU CPU s/MiB)"]
    assert (c.tango4, c.nandsim) == (0.25, 0.1)
    text = table(summarize(runs))
    assert "mtd_speedtest eraseblock write (guest KiB/s)   2,000   43,000           0.047" in text
    # the reading of a ratio: less time is faster, more KiB/s is faster
    fast = summarize([{"tango4": _side(9000, 9000, 0.1), "nandsim": _side(3000, 3000, 0.4)}])
    assert {r.verdict() for r in fast} == {"3.00x faster", "4.00x faster"}


def test_a_run_without_a_figure_is_refused() -> None:
    bad = _side(1, 1, 1.0)
    del bad["roundtrip"]["nanddump"]
    with pytest.raises(BenchError, match="no roundtrip nanddump host_s_per_mib figure"):
        summarize([{"tango4": bad, "nandsim": _side(1, 1, 1.0)}])
    with pytest.raises(BenchError, match="no runs"):
        summarize([])
