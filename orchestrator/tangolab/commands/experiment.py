# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab experiment` and `tangolab demo`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from tangolab.errors import UsageError
from tangolab.experiment import POLICIES, Config, run_experiment
from tangolab.experiment.report import fmt_latency
from tangolab.paths import build_dir
from tangolab.units import parse_duration

MAX_LATENCY_NS = 1_000_000_000


def _list(text: str, parse: Any, what: str) -> list[Any]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"empty list of {what}")
    out = []
    for t in items:
        try:
            out.append(parse(t))
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"bad {what} {t!r}: {e}") from None
    return out


def _policies(text: str) -> list[str]:
    def check(p: str) -> str:
        if p not in POLICIES:
            raise ValueError(f"choose from {', '.join(POLICIES)}")
        return p
    return _list(text, check, "policy")


def _latencies(text: str) -> list[int]:
    return _list(text, lambda t: parse_duration(t, maximum=MAX_LATENCY_NS), "latency")


def _seeds(text: str) -> list[int]:
    def seed(t: str) -> int:
        v = int(t, 0)
        if not 0 <= v < 2**32:
            raise ValueError("a seed is 0 .. 2^32-1")
        return v
    return _list(text, seed, "seed")


def _count(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is outside {lo}..{hi}")
        return v
    return parse


def _config(args: argparse.Namespace) -> Config:
    icount: int | str | None = None if args.no_icount else args.icount
    cfg = Config(policies=args.policies, latencies_ns=args.latencies, seeds=args.seeds,
                 pages=args.pages, blocks=args.blocks, delay_us=args.delay_us, icount=icount)
    cells_per_boot = len(cfg.latencies_ns) * len(cfg.seeds)
    blocks_needed = 2 + cells_per_boot * -(-cfg.pages // 64)
    if blocks_needed > cfg.blocks:
        raise UsageError(f"{cells_per_boot} cells of {cfg.pages} pages need {blocks_needed} "
                         f"blocks; the chip has {cfg.blocks} (--blocks)")
    return cfg


def _outdir(args: argparse.Namespace, name: str) -> Path:
    if args.out:
        return Path(args.out)
    return build_dir() / "experiments" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_experiment(args: argparse.Namespace) -> int:
    cfg = _config(args)
    run_experiment(cfg, _outdir(args, "experiment"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build what is missing, then show the bug (irq) and its fix (client)."""
    from tangolab.build import build

    con = Console()
    cfg = _config(args)  # bad options fail before the build
    con.print("[bold]tangolab demo[/]: the tango4 sbox tear-down race, and its fix\n")
    build(["all"])
    con.print(f"\nwriting {cfg.pages} pages per cell with policies {', '.join(cfg.policies)} "
              f"at route latencies {', '.join(fmt_latency(x) for x in cfg.latencies_ns)}\n")
    out = _outdir(args, "demo")
    cells = run_experiment(cfg, out, con)
    by_policy: dict[str, int] = {}
    for c in cells:
        by_policy[c.policy] = by_policy.get(c.policy, 0) + c.lost + c.corrupted
    con.print("\npages lost or corrupted per policy: "
              + json.dumps(by_policy))
    con.print(f"report: {out}/results.json, table: {out}/results.csv, plot: {out}/lost-pages.png")
    return 0


def _add_options(p: argparse.ArgumentParser, policies: str, latencies: str, pages: int) -> None:
    p.add_argument("--policies", type=_policies, default=_policies(policies),
                   help=f"comma-separated, from {', '.join(POLICIES)} (default {policies})")
    p.add_argument("--latencies", type=_latencies, default=_latencies(latencies),
                   help=f"comma-separated durations, e.g. 0,5us,1ms (default {latencies})")
    p.add_argument("--seeds", type=_seeds, default=[1], help="comma-separated (default 1)")
    p.add_argument("--pages", type=_count(1, 1024), default=pages,
                   help=f"pages written per cell (default {pages})")
    p.add_argument("--blocks", type=_count(8, 1024), default=64,
                   help="NAND chip size in blocks of 64 pages (default 64)")
    p.add_argument("--delay-us", type=_count(0, 100000), default=10,
                   help="teardown_delay_us for the delay policy (default 10)")
    p.add_argument("--icount", type=_count(0, 10), default=4,
                   help="QEMU -icount shift: deterministic guest timing (default 4)")
    p.add_argument("--no-icount", action="store_true", help="run without -icount")
    p.add_argument("--out", metavar="DIR", help="output directory (default build/experiments/...)")


def register(sub: Any) -> None:
    p = sub.add_parser("experiment", help="teardown policies x route latencies x seeds")
    _add_options(p, "irq,delay,client", "0,5us,20us,100us,1ms", 16)
    p.set_defaults(func=cmd_experiment)
    p = sub.add_parser("demo", help="build, then show the bug and its fix in a few minutes")
    _add_options(p, "irq,delay,client", "0,20us,200us,1ms", 8)
    p.set_defaults(func=cmd_demo)
