# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Experiment output: a terminal table, CSV, JSON, a plot and a conclusion.

Cells of the same policy and latency (different seeds) are pooled: every
page is an independent trial, so the loss rate of a group is its failed
pages over its pages, with a Wilson interval.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .cells import POLICIES, CellResult
from .stats import Rate, loss_rate

#: what each policy stands for in the thread
MEANING = {
    "irq": "tear down in the interrupt (the original driver)",
    "delay": "tear down a fixed delay after the interrupt (workaround 1)",
    "static": "route set once, never torn down (workaround 2)",
    "callback": "the client's callback waits for the device (the reply)",
    "irq-callback": "the client's callback runs in the interrupt, before the tear-down",
    "client": "the client says when its device is done (the peripheral-done hook)",
}


def fmt_latency(ns: int) -> str:
    if ns == 0:
        return "0"
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    if ns % 1_000 == 0:
        return f"{ns // 1_000}us"
    return f"{ns}ns"


@dataclass(frozen=True)
class Group:
    """The cells of one policy at one latency, pooled over seeds."""

    policy: str
    latency_ns: int
    cells: tuple[CellResult, ...]

    @property
    def rate(self) -> Rate:
        return loss_rate(sum(c.failed for c in self.cells), sum(c.pages for c in self.cells))

    def total(self, name: str) -> float:
        return float(sum(getattr(c, name) for c in self.cells))

    @property
    def throughput_kib_s(self) -> float:
        us = self.total("write_us")
        pages = sum(c.pages for c in self.cells)
        return pages * 2 / (us / 1e6) if us else 0.0

    @property
    def atomic_wait_us_per_page(self) -> float:
        return self.total("atomic_wait_us") / max(1, sum(c.pages for c in self.cells))


def groups(cells: Sequence[CellResult]) -> list[Group]:
    order = {p: i for i, p in enumerate(POLICIES)}
    keyed: dict[tuple[str, int], list[CellResult]] = {}
    for c in cells:
        keyed.setdefault((c.spec.policy, c.spec.latency_ns), []).append(c)
    return [
        Group(p, lat, tuple(cs))
        for (p, lat), cs in sorted(
            keyed.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])
        )
    ]


def table(cells: Sequence[CellResult], title: str = "sbox tear-down experiment") -> Table:
    t = Table(title=title)
    for col in (
        "policy",
        "latency",
        "pages",
        "lost",
        "loss rate [95% CI]",
        "dropped B",
        "t/o",
        "wedged",
        "KiB/s",
        "atomic us/pg",
    ):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for g in groups(cells):
        r = g.rate
        style = "red" if r.k else "green"
        t.add_row(
            g.policy,
            fmt_latency(g.latency_ns),
            str(r.n),
            f"[{style}]{r.k}[/]",
            f"{100 * r.value:5.1f}% [{100 * r.low:.0f},{100 * r.high:.0f}]",
            f"{g.total('bytes_dropped'):.0f}",
            f"{g.total('nfc_timeouts') + g.total('dma_timeouts'):.0f}",
            f"{g.total('wedged'):.0f}",
            f"{g.throughput_kib_s:.0f}",
            f"{g.atomic_wait_us_per_page:.1f}",
        )
    return t


def print_table(cells: Sequence[CellResult], console: Console | None = None) -> None:
    con = console or Console()
    if not con.is_terminal and con.width < 120:
        con = Console(file=con.file, width=120, soft_wrap=True)
    con.print(table(cells))


def write_csv(cells: Sequence[CellResult], path: Path) -> None:
    rows = [c.row() for c in cells]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["policy"])
        w.writeheader()
        w.writerows(rows)


def write_json(cells: Sequence[CellResult], path: Path, meta: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"meta": meta, "cells": [c.row() for c in cells]}, indent=2) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a tangolab experiment result (no 'cells' list)")
    return data.get("meta", {}), data["cells"]


def write_plot(cells: Sequence[CellResult], path: Path) -> None:
    """Loss rate (with its 95% band) and throughput against mean latency, per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gs = groups(cells)
    latencies = sorted({g.latency_ns for g in gs})
    xs = {lat: i for i, lat in enumerate(latencies)}
    fig, (ax, bx) = plt.subplots(
        2, 1, figsize=(7.5, 6.5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    policies = [p for p in POLICIES if any(g.policy == p for g in gs)]
    for n, policy in enumerate(policies):
        pg = [g for g in gs if g.policy == policy]
        off = (n - (len(policies) - 1) / 2) * 0.05
        x = [xs[g.latency_ns] + off for g in pg]
        rates = [g.rate for g in pg]
        (line,) = ax.plot(x, [100 * r.value for r in rates], marker="o", label=policy)
        ax.fill_between(
            x,
            [100 * r.low for r in rates],
            [100 * r.high for r in rates],
            color=line.get_color(),
            alpha=0.15,
        )
        bx.plot(x, [g.throughput_kib_s for g in pg], marker="o", color=line.get_color())
    ax.set_ylabel("pages lost or corrupted (%)\n95% Wilson interval")
    ax.set_ylim(-3, 103)
    ax.set_title("tango4 NAND programs vs DMA route tear-down policy")
    ax.grid(alpha=0.3)
    ax.legend(title="policy", fontsize="small", ncol=2)
    bx.set_ylabel("write throughput\n(KiB/s, virtual time)")
    bx.set_xticks(range(len(latencies)), [fmt_latency(x) for x in latencies])
    bx.set_xlabel("mean sbox route latency (data in flight)")
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def conclusion(cells: Sequence[CellResult]) -> list[str]:
    """One line per policy: its worst loss rate over latencies > 0, and its cost."""
    lines = []
    for policy in POLICIES:
        pg = [g for g in groups(cells) if g.policy == policy and g.latency_ns > 0]
        if not pg:
            continue
        worst = max(pg, key=lambda g: (g.rate.value, g.latency_ns))
        r = worst.rate
        wait = max(g.atomic_wait_us_per_page for g in pg)
        if r.k:
            verdict = (
                f"loses {r.value:.0%} of pages [{r.low:.0%}, {r.high:.0%}] at "
                f"{fmt_latency(worst.latency_ns)}"
            )
        else:
            verdict = f"loses none of {sum(g.rate.n for g in pg)} pages (< {r.high:.1%} each)"
        cost = f"; busy-waits {wait:.0f} us per page in atomic context" if wait >= 1 else ""
        if policy == "static":
            cost = "; but each memory channel serves one device for good"
        lines.append(f"{policy:12s} {verdict}{cost}  ({MEANING[policy]})")
    return lines
