# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""One page's program drawn per component, for several runs one above the
other (tangolab trace --compare: the page under irq above the same page
under client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .page import PageStory

LANES = (
    "guest DMA driver",
    "memory channel",
    "sbox: bursts",
    "sbox: bytes in flight",
    "NFC",
    "chip",
)


def _us(story: PageStory, ns: int) -> float:
    return (ns - story.start_ns) / 1000


def _span(story: PageStory) -> float:
    """The interesting part: up to the later of the tear-down and the last
    burst, with a margin (a lost page's time-out would squash the rest)."""
    marks = [
        t
        for t in (
            story.teardown_ns,
            story.route_drop_ns,
            story.last_delivery_ns,
            story.last_arrival_ns,
        )
        if t is not None
    ]
    marks += [e.ts_ns for e in story.named("tango4_sbox_drop", "tango4_nfc_cmd_done")]
    top = max(marks) if marks else story.end_ns
    return max(1.0, _us(story, top) * 1.15)


def _bar(
    ax: Any, lane: int, story: PageStory, t0: int, t1: int | None, color: str, label: str
) -> None:
    x0 = _us(story, t0)
    x1 = _us(story, t1) if t1 is not None else _span(story)
    ax.broken_barh([(x0, max(x1 - x0, 0.05))], (lane - 0.35, 0.7), color=color, alpha=0.55)
    ax.text(x0, lane + 0.4, label, fontsize=7, va="bottom")


def _draw(ax: Any, title: str, story: PageStory) -> None:
    y = {name: len(LANES) - i for i, name in enumerate(LANES)}
    ev = story.events
    setup = [e for e in ev if e.name == "tangox_dma_route_setup" and e.text("dir") == "mem_to_dev"]
    if setup:
        _bar(
            ax,
            y["guest DMA driver"],
            story,
            setup[0].ts_ns,
            story.teardown_ns,
            "tab:blue",
            "route set",
        )
    for e in story.named("tangox_dma_irq"):
        ax.plot(_us(story, e.ts_ns), y["guest DMA driver"], "v", color="black", ms=6)
    if story.route_drop_ns is not None:
        # the ROUTE register write itself (QEMU, exact); the guest's
        # tracepoint follows when its CPU gets there (vCPUs run in turn)
        ax.axvline(_us(story, story.route_drop_ns), color="tab:red", lw=1.2, ls="--")
        ax.text(
            _us(story, story.route_drop_ns),
            y["guest DMA driver"] - 0.45,
            " tear-down (ROUTE write)",
            color="tab:red",
            fontsize=8,
            va="top",
        )
    for e in story.named("tango4_mchan_start"):
        end = next(
            (
                x.ts_ns
                for x in story.named("tango4_mchan_mem_done")
                if x.ts_ns >= e.ts_ns and x.text("chan") == e.text("chan")
            ),
            None,
        )
        _bar(
            ax,
            y["memory channel"],
            story,
            e.ts_ns,
            end,
            "tab:green",
            f"{e.text('chan')} reads memory",
        )
    for e in story.named("tango4_mchan_irq"):
        ax.plot(_us(story, e.ts_ns), y["memory channel"], "v", color="black", ms=6)
    pushed = [_us(story, e.num("arrival")) for e in story.named("tango4_sbox_burst")]
    ax.plot(
        pushed,
        [y["sbox: bursts"] + 0.2] * len(pushed),
        "|",
        color="tab:gray",
        ms=8,
        label="burst due",
    )
    got = [_us(story, e.ts_ns) for e in story.named("tango4_sbox_deliver")]
    ax.plot(
        got,
        [y["sbox: bursts"] - 0.2] * len(got),
        "o",
        color="tab:green",
        ms=3,
        label="burst delivered",
    )
    for e in story.named("tango4_sbox_drop"):
        ax.plot(_us(story, e.ts_ns), y["sbox: bursts"], "X", color="tab:red", ms=11)
        ax.text(
            _us(story, e.ts_ns),
            y["sbox: bursts"] + 0.3,
            f" {e.num('bytes')} bytes dropped",
            color="tab:red",
            fontsize=8,
            fontweight="bold",
        )
    level = [(e.ts_ns, e.num("level")) for e in story.named("tango4_sbox_burst")]
    level += [(e.ts_ns, e.num("left")) for e in story.named("tango4_sbox_deliver")]
    level += [(e.ts_ns, 0) for e in story.named("tango4_sbox_drop")]
    level.sort()
    if level:
        top = max(v for _, v in level) or 1
        ax.step(
            [_us(story, t) for t, _ in level],
            [y["sbox: bytes in flight"] - 0.35 + 0.7 * v / top for _, v in level],
            where="post",
            color="tab:purple",
        )
        ax.text(0, y["sbox: bytes in flight"] + 0.4, f"0..{top} bytes", fontsize=7)
    wait = next((e for e in story.named("tango4_nfc_cmd") if e.text("cmd") == "write"), None)
    if wait is not None:
        full = next(
            (
                e.ts_ns
                for e in story.named("tango4_nfc_fifo_in", "tango4_nfc_abort")
                if e.name == "tango4_nfc_abort" or e.num("used") >= e.num("total")
            ),
            None,
        )
        _bar(
            ax,
            y["NFC"],
            story,
            wait.ts_ns,
            full,
            "tab:orange",
            "waiting for bytes" + ("" if full is not None else " (never complete)"),
        )
    for e in story.named("onfi_nand_busy"):
        end = next((x.ts_ns for x in story.named("onfi_nand_done") if x.ts_ns >= e.ts_ns), None)
        _bar(ax, y["chip"], story, e.ts_ns, end, "tab:brown", f"busy: {e.text('op')}")
    ax.set_yticks(list(y.values()), list(y))
    ax.set_xlim(-_span(story) * 0.03, _span(story))
    ax.set_ylim(0.4, len(LANES) + 0.9)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)


def draw_pages(path: Path, runs: list[tuple[str, PageStory]]) -> None:
    """One panel per (title, page), top to bottom; PNG or SVG by suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.6 * len(runs)), squeeze=False)
    for ax, (title, story) in zip(axes[:, 0], runs, strict=True):
        _draw(ax, title, story)
    axes[-1, 0].set_xlabel("virtual time from the NFC's program command (us)")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
