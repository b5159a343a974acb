# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench nand`: the tango4 NAND against the kernel's nandsim.

One boot of the tango4 machine (no -icount, the client tear-down policy, a
scratch image of the whole chip written through as in the tests), in which
nandsim is loaded with the tango4 chip's ID bytes; both devices must show
the same geometry. Each run measures, on both, `mtd_speedtest` on the first
``--speedtest-count`` eraseblocks and a ``flash_erase`` + ``nandwrite`` +
``nanddump`` round trip of ``--size`` bytes of random data (checked). The
medians of the runs and the ratios tango4 / nandsim are printed; ``--json``
gives every run. A benchmark, not a test: nothing is asserted but that the
data came back.

The tango4 chip keeps its datasheet busy times (tR 25 us, tPROG 200 us,
tBERS 700 us), which nandsim does not model: they bound the tango4 side at
about 13 ms per MiB read and 102 ms per MiB written. ``--chip-times zero``
sets them to 0 on the live chip (QMP) to measure the controller, DMA and
driver path alone against nandsim.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from tangolab.build.artifacts import BOOT
from tangolab.commands.bench import add_runs_option
from tangolab.commands.options import add_artifact_options, artifacts_from_args, positive_float
from tangolab.faults import Faults
from tangolab.machine import Machine
from tangolab.nand.layout import Geometry
from tangolab.nand.speed import Row, summarize
from tangolab.nand.speedrun import measure
from tangolab.paths import build_dir
from tangolab.units import format_size, parse_size

CHIP = Geometry()
BLOCK = CHIP.pages_per_block * CHIP.page_size
#: the round trip's data and its dump both live in the guest's tmpfs
MAX_SIZE = 64 << 20
DEFAULT_COUNT = 32


def _size(text: str) -> int:
    try:
        value = parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value <= 0 or value % BLOCK or value > MAX_SIZE:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a whole number of {BLOCK >> 10} KiB eraseblocks, "
            f"{BLOCK >> 10} KiB to {MAX_SIZE >> 20} MiB"
        )
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of eraseblocks: {text!r}") from None
    if not 2 <= value <= CHIP.blocks:
        raise argparse.ArgumentTypeError(f"{value} eraseblocks: 2..{CHIP.blocks}")
    return value


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in values)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3f}"


def table(rows: list[Row]) -> str:
    """The medians side by side, with tango4 / nandsim and its reading."""
    head = ("figure (median)", "tango4", "nandsim", "tango4/nandsim", "tango4 is")
    lines = [
        (
            r.label,
            _number(r.tango4),
            _number(r.nandsim),
            "-" if r.ratio is None else f"{r.ratio:.3f}",
            r.verdict(),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in (head, *lines)) for i in range(len(head))]
    out = []
    for cells in (head, *lines):
        left = cells[0].ljust(widths[0])
        rest = "  ".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        out.append(f"{left}  {rest}")
    return "\n".join(out)


def cmd_bench_nand(args: argparse.Namespace) -> int:
    art = artifacts_from_args(args, build_dir())
    art.check(*BOOT)
    load = os.getloadavg()
    with Machine(art, scratch_nand=CHIP.blocks, boot_timeout=args.timeout) as m:
        if args.chip_times == "zero":
            Faults(m).set_chip_timing(0, tR=0, tPROG=0, tBERS=0)
        results = measure(m, args.runs, args.size, args.speedtest_count, args.timeout)
    results["settings"]["chip_times"] = args.chip_times
    # the figures depend on what else the host runs meanwhile
    results["host"] = {"cpus": os.cpu_count(), "load_before": load, "load_after": os.getloadavg()}
    rows = summarize(results["runs"])
    results["medians"] = [
        {"figure": r.label, "tango4": r.tango4, "nandsim": r.nandsim, "ratio": r.ratio}
        for r in rows
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    dev = results["devices"]
    print(
        f"tango4 /dev/mtd{dev['tango4']['mtd']} and nandsim /dev/mtd{dev['nandsim']['mtd']}: "
        f"{dev['tango4']['geometry']}"
    )
    print(
        f"{args.runs} run(s); mtd_speedtest on {args.speedtest_count} eraseblocks, "
        f"round trip of {format_size(args.size)} (data verified); QEMU CPU = utime+stime "
        f"of all QEMU threads; tango4 chip busy times: {args.chip_times}"
    )
    host = results["host"]
    before, after = (_load(host[k]) for k in ("load_before", "load_after"))
    print(f"host: {host['cpus']} CPUs, load average (1/5/15 min) {before} before, {after} after")
    print(table(rows))
    return 0


def register(bsub: Any) -> None:
    b = bsub.add_parser("nand", help="the tango4 NAND against nandsim, same geometry")
    add_runs_option(b, "runs, each on both devices")
    b.add_argument(
        "--size",
        type=_size,
        default=8 << 20,
        metavar="SIZE",
        help="round trip size, a multiple of 128KiB (8MiB)",
    )
    b.add_argument(
        "--speedtest-count",
        type=_count,
        default=DEFAULT_COUNT,
        metavar="N",
        help=f"eraseblocks mtd_speedtest uses ({DEFAULT_COUNT})",
    )
    b.add_argument(
        "--timeout",
        type=positive_float,
        default=600.0,
        metavar="S",
        help="for the boot and for each guest step (600 s)",
    )
    b.add_argument(
        "--chip-times",
        choices=("datasheet", "zero"),
        default="datasheet",
        help="the tango4 chip's tR/tPROG/tBERS: the datasheet's (default), or 0 to "
        "measure the controller, DMA and driver path alone",
    )
    b.add_argument("--json", action="store_true", help="every run's figures as JSON")
    add_artifact_options(b)
    b.set_defaults(func=cmd_bench_nand)
