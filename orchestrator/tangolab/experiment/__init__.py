# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Experiments answering the thread's question with numbers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tangolab.build.artifacts import BOOT, load_artifacts
from tangolab.paths import build_dir

from .cells import JITTERS, POLICIES, CellResult, CellSpec, run_cell
from .report import conclusion, fmt_latency, print_table, write_csv, write_json, write_plot
from .runner import run_cells

__all__ = ["JITTERS", "POLICIES", "CellResult", "CellSpec", "Outputs", "run_cell", "run_experiment"]


@dataclass(frozen=True)
class Outputs:
    dir: Path

    @property
    def csv(self) -> Path:
        return self.dir / "results.csv"

    @property
    def json(self) -> Path:
        return self.dir / "results.json"

    @property
    def png(self) -> Path:
        return self.dir / "loss-rate.png"


def run_experiment(
    specs: Sequence[CellSpec],
    outdir: Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    console: Console | None = None,
) -> tuple[list[CellResult], Outputs]:
    """Run the cells, write CSV/JSON/plot, print the table and the conclusion."""
    con = console or Console()
    artifacts = load_artifacts(build_dir())
    artifacts.check(*BOOT)  # before any worker starts
    out = Outputs(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "started": time.strftime("%FT%TZ", time.gmtime()),
        "versions": artifacts.versions,
        "jobs": jobs,
        "scheduler": scheduler,
    }
    done: list[CellResult] = []

    def on_result(c: CellResult) -> None:
        s = c.spec
        con.print(
            f"  {s.policy:12s} {fmt_latency(s.latency_ns):>6s} seed {s.seed:<4d} "
            f"{c.failed:3d}/{c.pages} lost, {c.bytes_dropped:6d} B dropped, "
            f"{c.nfc_timeouts + c.dma_timeouts} t/o ({c.wall_s:.0f} s)",
            soft_wrap=True,
        )
        done.append(c)
        write_json(done, out.json, meta)  # keep what we have if interrupted

    cells = run_cells(specs, jobs=jobs, scheduler=scheduler, console=con, on_result=on_result)
    meta["finished"] = time.strftime("%FT%TZ", time.gmtime())
    write_json(cells, out.json, meta)
    write_csv(cells, out.csv)
    write_plot(cells, out.png)
    print_table(cells, con)
    for line in conclusion(cells):
        con.print(line, soft_wrap=True)
    return cells, out
