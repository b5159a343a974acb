# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Experiment output: a terminal table, CSV, JSON and a PNG plot."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .cells import CellResult


def fmt_latency(ns: int) -> str:
    if ns == 0:
        return "0"
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    if ns % 1_000 == 0:
        return f"{ns // 1_000}us"
    return f"{ns}ns"


def table(cells: Sequence[CellResult], title: str = "sbox teardown experiment") -> Table:
    t = Table(title=title)
    for col, justify in (("policy", "left"), ("latency", "right"), ("seed", "right"),
                         ("pages", "right"), ("intact", "right"), ("lost", "right"),
                         ("corrupt", "right"), ("wr err", "right"),
                         ("DMA t/o", "right"), ("dropped B", "right"),
                         ("KiB/s", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for c in cells:
        bad = c.lost + c.corrupted
        style = "red" if bad else "green"
        t.add_row(c.policy, fmt_latency(c.latency_ns), str(c.seed), str(c.pages),
                  f"[{style}]{c.intact}[/]", str(c.lost), str(c.corrupted), str(c.write_errors),
                  str(c.dma_timeouts), str(c.bytes_dropped), f"{c.throughput_kib_s:.0f}")
    return t


def write_csv(cells: Sequence[CellResult], path: Path) -> None:
    names = [f.name for f in fields(CellResult)]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=names)
        w.writeheader()
        for c in cells:
            w.writerow(c.to_dict())


def write_json(cells: Sequence[CellResult], path: Path, meta: dict[str, Any]) -> None:
    path.write_text(json.dumps({"meta": meta, "cells": [c.to_dict() for c in cells]},
                               indent=2) + "\n")


def write_plot(cells: Sequence[CellResult], path: Path) -> None:
    """Pages not intact (lost + corrupted) against route latency, per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    policies = sorted({c.policy for c in cells}, key=lambda p: [c.policy for c in cells].index(p))
    latencies = sorted({c.latency_ns for c in cells})
    xs = {lat: i for i, lat in enumerate(latencies)}
    markers = {"irq": "o", "delay": "s", "static": "^", "client": "D"}
    for n, policy in enumerate(policies):
        pts: dict[int, list[int]] = {}
        for c in cells:
            if c.policy == policy:
                pts.setdefault(c.latency_ns, []).append(c.lost + c.corrupted)
        lat = sorted(pts)
        ys = [sum(pts[x]) / len(pts[x]) for x in lat]
        ax.plot([xs[x] + (n - len(policies) / 2) * 0.04 for x in lat], ys,
                marker=markers.get(policy, "x"), label=policy)
    ax.set_xticks(range(len(latencies)), [fmt_latency(x) for x in latencies])
    ax.set_xlabel("sbox route latency (data in flight)")
    ax.set_ylabel("pages lost or corrupted (mean over seeds)")
    pages = max((c.pages for c in cells), default=0)
    ax.set_ylim(-0.5, pages + 0.5)
    ax.set_title("tango4 NAND writes vs DMA route tear-down policy")
    ax.grid(alpha=0.3)
    ax.legend(title="teardown policy")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def print_table(cells: Sequence[CellResult], console: Console | None = None) -> None:
    con = console or Console()
    if not con.is_terminal and con.width < 120:
        con = Console(file=con.file, width=120)  # logs and pipes get the whole table
    con.print(table(cells))
