# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench boot`: boot-to-userspace wall time, tango4 against virt
(and the benchmarks' shared options; `bench nand` is in bench_nand).

The same kernel and initramfs boot on the tango4 machine and on QEMU's
virt machine (Cortex-A15, GICv2, PL011) in the same run; the figures and
their ratio are printed. A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from tangolab.build.artifacts import BOOT
from tangolab.commands.options import add_artifact_options, artifacts_from_args, positive_float
from tangolab.errors import TangolabError
from tangolab.paths import build_dir

READY = b"tangolab: userspace ready"


def _tail(output: bytes, lines: int = 10) -> str:
    """The last lines of QEMU's output, indented under the error line."""
    text = output.decode(errors="replace").replace("\r", "").rstrip().splitlines()[-lines:]
    return "".join(f"\n  | {line}" for line in text) if text else " (no output)"


def boot_time(argv: list[str], timeout: float) -> float:
    """Seconds from starting QEMU until the guest init says it is ready."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    seen = b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                raise TangolabError(f"no '{READY.decode()}' within {timeout:.0f} s" + _tail(seen))
            if not sel.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise TangolabError(
                    f"QEMU exited ({proc.wait()}) before the guest was ready" + _tail(seen)
                )
            seen = (seen + chunk)[-4096:]
            if READY in seen:
                return time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
        sel.close()


def machine_argv(machine: str, qemu: Path, kernel: Path, dtb: Path, initrd: Path) -> list[str]:
    common = [
        "-m",
        "512",
        "-smp",
        "2",
        "-kernel",
        str(kernel),
        "-initrd",
        str(initrd),
        "-nographic",
        "-no-reboot",
        "-nodefaults",
        "-serial",
        "stdio",
    ]
    if machine == "tango4":
        return [
            str(qemu),
            "-M",
            "tango4",
            "-dtb",
            str(dtb),
            *common,
            "-append",
            "console=ttyS0,115200",
        ]
    return [str(qemu), "-M", "virt", "-cpu", "cortex-a15", *common, "-append", "console=ttyAMA0"]


def cmd_bench_boot(args: argparse.Namespace) -> int:
    art = artifacts_from_args(args, build_dir())
    art.check(*BOOT)
    results: dict[str, Any] = {}
    for machine in ("tango4", "virt"):
        argv = machine_argv(machine, art.qemu, art.kernel, art.dtb, art.initrd)
        times = [boot_time(argv, args.timeout) for _ in range(args.runs)]
        results[machine] = {"runs": times, "median_s": statistics.median(times)}
    ratio = results["tango4"]["median_s"] / results["virt"]["median_s"]
    results["ratio_tango4_over_virt"] = ratio
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for machine in ("tango4", "virt"):
            r = results[machine]
            runs = " ".join(f"{t:.2f}" for t in r["runs"])
            print(f"{machine:7s} boot to userspace: median {r['median_s']:.2f} s  (runs: {runs})")
        print(f"ratio tango4/virt: {ratio:.2f}")
    return 0


def add_runs_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--runs N`` (1..20, default 3) of a benchmark."""
    p.add_argument(
        "--runs",
        type=int,
        default=3,
        choices=range(1, 21),
        metavar="N",
        help=f"{what} (3)",
    )


def register(sub: Any) -> None:
    from tangolab.commands import bench_build, bench_nand

    p = sub.add_parser("bench", help="benchmarks that print figures")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    b = bsub.add_parser("boot", help="boot-to-userspace time, tango4 vs virt")
    add_runs_option(b, "boots per machine")
    b.add_argument(
        "--timeout", type=positive_float, default=120.0, metavar="S", help="per boot (120 s)"
    )
    b.add_argument("--json", action="store_true")
    add_artifact_options(b)
    b.set_defaults(func=cmd_bench_boot)
    bench_nand.register(bsub)
    bench_build.register(bsub)
