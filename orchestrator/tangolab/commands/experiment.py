# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab experiment` and `tangolab demo`."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from tangolab.commands.options import (
    comma_list,
    fraction,
    latency_item,
    one_of,
    seed_item,
    whole,
)
from tangolab.errors import ExperimentError, UsageError
from tangolab.experiment import JITTERS, POLICIES, CellResult, CellSpec, run_cell, run_experiment
from tangolab.experiment.cells import with_defaults
from tangolab.experiment.report import fmt_latency, read_json
from tangolab.paths import build_dir

_policies = comma_list(one_of(POLICIES), "policy")
_latencies = comma_list(latency_item, "latency")
_seeds = comma_list(seed_item, "seed")


def _rerun(text: str) -> tuple[Path, int]:
    path, sep, row = text.rpartition(":")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected RESULTS.json:ROW")
    try:
        return Path(path), int(row)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: ROW must be a number") from None


def specs_from_args(args: argparse.Namespace) -> list[CellSpec]:
    """Every cell of the matrix, checked (before anything is built or booted)."""
    if args.fifo_depth % 64:
        raise UsageError(f"--fifo-depth {args.fifo_depth}: a multiple of 64")
    icount = None if args.no_icount else args.icount
    specs = []
    for policy in args.policies:
        for latency in args.latencies:
            for seed in args.seeds:
                spec = with_defaults(
                    CellSpec(
                        policy=policy,
                        latency_ns=latency,
                        seed=seed,
                        pages=args.pages,
                        jitter=args.jitter,
                        delay_us=args.delay_us,
                        fifo_depth=args.fifo_depth,
                        icount=icount,
                    ),
                    args.jitter_frac,
                )
                spec.check()
                specs.append(spec)
    return specs


def _jobs(args: argparse.Namespace) -> int:
    return int(args.jobs or os.cpu_count() or 1)


def _outdir(args: argparse.Namespace, name: str) -> Path:
    if args.out:
        return Path(args.out)
    return build_dir() / "experiments" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _rerun_cell(path: Path, row: int, con: Console) -> int:
    try:
        _, rows = read_json(path)
    except (OSError, ValueError) as e:
        raise UsageError(f"--rerun {path}: {e}") from None
    if not 0 <= row < len(rows):
        raise UsageError(f"--rerun {path}:{row}: the file has rows 0..{len(rows) - 1}")
    try:
        old = CellResult.from_row(rows[row])
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"--rerun {path}:{row}: not a cell row ({e})") from None
    s = old.spec
    con.print(
        f"re-running row {row}: {s.policy} at {fmt_latency(s.latency_ns)}, seed {s.seed}, "
        f"{s.pages} pages, jitter {s.jitter} {fmt_latency(s.jitter_ns)}"
    )
    new = run_cell(s)
    keys = ("intact", "lost", "corrupted", "bytes_dropped", "teardowns_in_flight", "write_us")
    for k in keys:
        con.print(f"  {k:20s} recorded {getattr(old, k):>10}  now {getattr(new, k):>10}")
    same = all(getattr(old, k) == getattr(new, k) for k in keys)
    if same:
        con.print("identical")
        return 0
    if s.icount is None:
        con.print("different (this cell ran without -icount: its timing is not repeatable)")
        return 0
    con.print("[red]different[/]: the same cell under -icount gave another result")
    return 1


def cmd_experiment(args: argparse.Namespace) -> int:
    con = Console(soft_wrap=True)
    if args.rerun:
        path, row = args.rerun
        return _rerun_cell(path, row, con)
    specs = specs_from_args(args)
    out = _outdir(args, "experiment")
    con.print(
        f"{len(specs)} cells of {args.pages} pages on {_jobs(args)} worker(s)"
        + (f" at {args.scheduler}" if args.scheduler else "")
    )
    _, outputs = run_experiment(specs, out, jobs=_jobs(args), scheduler=args.scheduler, console=con)
    con.print(f"results: {outputs.csv} {outputs.json}\nplot: {outputs.png}")
    return 0


def check_claim(cells: list[CellResult]) -> list[str]:
    """What contradicts the demo's claim: the original policy loses pages where
    data is in flight, the peripheral-done hook loses none."""
    problems = []
    irq_hi = [
        c
        for c in cells
        if c.spec.policy == "irq" and c.spec.latency_ns == max(x.spec.latency_ns for x in cells)
    ]
    if irq_hi and irq_hi[0].spec.latency_ns > 0 and not any(c.failed for c in irq_hi):
        problems.append("the original policy (irq) lost no page with data in flight")
    lost = sum(c.failed for c in cells if c.spec.policy == "client")
    if lost:
        problems.append(f"the peripheral-done hook (client) lost {lost} page(s)")
    return problems


def cmd_demo(args: argparse.Namespace) -> int:
    """Build what is missing, then show the bug and its remedies."""
    from tangolab.build import build

    con = Console(soft_wrap=True)
    specs = specs_from_args(args)  # bad options fail before the build
    con.print("[bold]tangolab demo[/]: the tango4 sbox tear-down race, and the thread's remedies\n")
    build(["all"])
    con.print(
        f"\n{len(specs)} cells: policies {', '.join(args.policies)} at mean route "
        f"latencies {', '.join(fmt_latency(x) for x in args.latencies)}, "
        f"{args.pages} pages each, on {_jobs(args)} worker(s)\n"
    )
    cells, outputs = run_experiment(
        specs, _outdir(args, "demo"), jobs=_jobs(args), scheduler=args.scheduler, console=con
    )
    con.print(f"\nresults: {outputs.json} (CSV beside it); plot: {outputs.png}")
    problems = check_claim(cells)
    if problems:
        raise ExperimentError("the demo contradicts its claim: " + "; ".join(problems))
    return 0


def _add_options(
    p: argparse.ArgumentParser, policies: str, latencies: str, pages: int, seeds: str
) -> None:
    p.add_argument(
        "--policies",
        type=_policies,
        default=_policies(policies),
        help=f"comma-separated, from {', '.join(POLICIES)} (default {policies})",
    )
    p.add_argument(
        "--latencies",
        type=_latencies,
        default=_latencies(latencies),
        help=f"mean route latencies, e.g. 0,5us,1ms (default {latencies})",
    )
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=_seeds(seeds),
        help=f"comma-separated; each seeds the latency draws and the page pattern "
        f"(default {seeds})",
    )
    p.add_argument(
        "--pages",
        type=whole(1, 4096),
        default=pages,
        help=f"pages written per cell, each one trial (default {pages})",
    )
    p.add_argument(
        "--jitter",
        choices=JITTERS,
        default="exponential",
        help="how each burst's latency is drawn around the mean (default exponential)",
    )
    p.add_argument(
        "--jitter-frac",
        type=fraction,
        default=0.5,
        help="jitter-ns as a fraction of the latency (default 0.5)",
    )
    p.add_argument(
        "--delay-us",
        type=whole(0, 100000),
        default=10,
        help="teardown_delay_us of the delay policy (default 10, the reporter's)",
    )
    p.add_argument(
        "--fifo-depth",
        type=whole(64, 65536),
        default=512,
        help="bytes in flight per sbox route at most (default 512)",
    )
    p.add_argument(
        "--icount",
        type=whole(0, 10),
        default=4,
        help="QEMU -icount shift: repeatable guest timing (default 4)",
    )
    p.add_argument("--no-icount", action="store_true", help="run in real time (not repeatable)")
    p.add_argument(
        "--jobs",
        type=whole(1, 256),
        default=None,
        help="cells run at once on this machine (default: the number of cores)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the cells on this Dask scheduler's workers (same build there)",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default build/experiments/...)")


def register(sub: Any) -> None:
    p = sub.add_parser("experiment", help="tear-down policies x route latencies x seeds")
    _add_options(p, ",".join(POLICIES), "0,2us,5us,20us,100us,1ms", 64, "1,2")
    p.add_argument(
        "--rerun",
        type=_rerun,
        metavar="RESULTS.json:ROW",
        help="run one recorded cell again and compare",
    )
    p.set_defaults(func=cmd_experiment)
    p = sub.add_parser("demo", help="build, then show the bug and the thread's remedies")
    _add_options(p, ",".join(POLICIES), "0,20us,200us", 16, "1")
    p.set_defaults(func=cmd_demo)
