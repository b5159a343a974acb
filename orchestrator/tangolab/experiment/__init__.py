# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Experiments answering the thread's question with numbers."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from .cells import POLICIES, CellResult, Config, run_policy
from .report import fmt_latency, print_table, write_csv, write_json, write_plot

__all__ = ["POLICIES", "CellResult", "Config", "Outputs", "run_experiment"]


class Outputs:
    def __init__(self, outdir: Path) -> None:
        outdir.mkdir(parents=True, exist_ok=True)
        self.dir = outdir
        self.csv = outdir / "results.csv"
        self.json = outdir / "results.json"
        self.png = outdir / "lost-pages.png"


def run_experiment(cfg: Config, outdir: Path, console: Console | None = None) -> list[CellResult]:
    con = console or Console()
    out = Outputs(outdir)
    cells: list[CellResult] = []
    meta: dict[str, Any] = {"config": asdict(cfg), "started": time.strftime("%FT%TZ",
                                                                             time.gmtime())}

    def on_cell(c: CellResult) -> None:
        con.print(f"  {c.policy:7s} latency {fmt_latency(c.latency_ns):>6s} seed {c.seed}: "
                  f"{c.intact}/{c.pages} intact, {c.lost} lost, {c.corrupted} corrupted, "
                  f"{c.dma_timeouts} DMA time-outs ({c.wall_s:.0f} s)")

    for policy in cfg.policies:
        con.print(f"[bold]policy {policy}[/]: booting")
        for cell in run_policy(cfg, policy, out.dir, on_cell):
            cells.append(cell)
            write_json(cells, out.json, meta)  # keep what we have if interrupted
    write_csv(cells, out.csv)
    write_json(cells, out.json, meta)
    write_plot(cells, out.png)
    print_table(cells, con)
    con.print(f"results: {out.csv}, {out.json}\nplot: {out.png}")
    (out.dir / "summary.json").write_text(json.dumps(summarise(cells), indent=2) + "\n")
    return cells


def summarise(cells: list[CellResult]) -> dict[str, dict[str, int]]:
    """Per policy: pages written, intact, lost, corrupted over all cells."""
    out: dict[str, dict[str, int]] = {}
    for c in cells:
        s = out.setdefault(c.policy, {"pages": 0, "intact": 0, "lost": 0, "corrupted": 0,
                                      "dma_timeouts": 0})
        s["pages"] += c.pages
        s["intact"] += c.intact
        s["lost"] += c.lost
        s["corrupted"] += c.corrupted
        s["dma_timeouts"] += c.dma_timeouts
    return out
