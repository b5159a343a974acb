# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab trace`: a timeline of a few pages under one or more policies.

Each policy's cell runs with the guest's tracepoints and QEMU's trace
events on (tangolab.trace.record) and gets DIR/<policy>/trace.json, which
Perfetto opens; DIR/page.png (or --picture) draws one page under each
policy, top to bottom: by default the first page the first policy lost.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from tangolab.commands.options import comma_list, fraction, latency, one_of, seed, whole
from tangolab.errors import UsageError
from tangolab.experiment import POLICIES, CellSpec
from tangolab.experiment.cells import with_defaults
from tangolab.experiment.report import fmt_latency
from tangolab.trace.page import page_story
from tangolab.trace.picture import draw_pages
from tangolab.trace.record import TraceRun, record

MAX_PAGES = 64


policies = comma_list(one_of(POLICIES), "policy", unique=True)
pages = whole(1, MAX_PAGES, "pages (a trace is for looking at)")


def _picture_page(runs: list[TraceRun], page: int | None) -> int:
    """The chip page to draw: asked for, or the first page the first run lost."""
    first = runs[0]
    if page is not None:
        return first.first_page + page
    lost = first.result.failed_pages
    return first.first_page + (lost[0] if lost else 0)


def cmd_trace(args: argparse.Namespace) -> int:
    con = Console(highlight=False)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    picture = Path(args.picture) if args.picture else out / "page.png"
    if picture.suffix not in (".png", ".svg"):
        raise UsageError(f"--picture {picture}: a .png or .svg file")
    if args.page is not None and not 0 <= args.page < args.pages:
        raise UsageError(f"--page {args.page}: the cells have pages 0..{args.pages - 1}")
    runs = []
    for policy in args.policy:
        spec = with_defaults(
            CellSpec(policy=policy, latency_ns=args.latency, seed=args.seed, pages=args.pages),
            args.jitter_frac,
        )
        con.print(
            f"tracing {policy} at {fmt_latency(spec.latency_ns)}, seed {spec.seed}, "
            f"{spec.pages} page(s) ..."
        )
        run = record(spec, out / policy)
        r = run.result
        a = run.alignment
        con.print(
            f"  {r.failed} of {r.pages} page(s) lost, {r.bytes_dropped} bytes dropped (sbox); "
            f"clocks aligned on {a.pairs} NAND command(s), spread {a.spread_ns / 1000:.1f} us"
        )
        con.print(f"  {run.trace_path}  (open in Perfetto)")
        runs.append(run)
    page = _picture_page(runs, args.page)
    draw_pages(
        picture,
        [
            (
                f"{run.result.spec.policy}: page {page}, latency "
                f"{fmt_latency(run.result.spec.latency_ns)}",
                page_story(run.guest, run.qemu, page),
            )
            for run in runs
        ],
    )
    con.print(f"picture of page {page}: {picture}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "trace",
        help="a timeline (Perfetto JSON and a picture) of a few pages under a policy",
    )
    p.add_argument(
        "--policy",
        type=policies,
        required=True,
        metavar="P[,P...]",
        help=f"tear-down policies, from {', '.join(POLICIES)}; several: one panel each",
    )
    p.add_argument(
        "--latency", type=latency, required=True, help="mean sbox route latency, e.g. 20us"
    )
    p.add_argument("--pages", type=pages, default=2, help=f"pages per cell, 1..{MAX_PAGES} (2)")
    p.add_argument("--seed", type=seed, default=1, help="latency draws and page pattern (1)")
    p.add_argument(
        "--jitter-frac",
        type=fraction,
        default=0.5,
        help="exponential jitter as a fraction of the latency (0.5, as the experiment)",
    )
    p.add_argument("--page", type=int, help="cell page to draw (default: the first one lost)")
    p.add_argument("--picture", metavar="FILE", help="PNG or SVG (default DIR/page.png)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=cmd_trace)
