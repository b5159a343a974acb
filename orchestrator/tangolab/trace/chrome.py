# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The timeline as a Chrome trace-event JSON file, which Perfetto
(ui.perfetto.dev, trace_processor) and chrome://tracing open.

The format (the "JSON Object Format" of Google's Trace Event Format
document) is a list of dicts: complete events ("ph": "X", with "dur"),
instant events ("i"), counters ("C") and metadata ("M") naming processes
and threads; "ts" and "dur" in microseconds (fractions keep the ns). It
is written with the json module: a library for it would add a dependency
for what is one list of dicts.

Tracks: the guest (NAND driver pages and waits, DMA transfers, DMA
routes, DMA events) and QEMU (NFC commands, NFC input, the chip, one per
memory channel, one per sbox destination port with its bytes in flight).
Every event keeps its fields in "args", so that a test can read the
trace it asserts on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .align import Alignment
from .parse import Event, TraceError

GUEST_PID, QEMU_PID = 1, 2
NAND_TID, DMA_TID, ROUTE_TID, DMA_EVENTS_TID = 1, 2, 3, 4
NFC_TID, NFC_INPUT_TID, CHIP_TID = 10, 11, 12
MCHAN_TID0, SBOX_TID0 = 20, 40
DISCONNECTED = 15


@dataclass
class _Builder:
    out: list[dict[str, Any]] = field(default_factory=list)
    threads: dict[tuple[int, int], str] = field(default_factory=dict)
    end_ns: int = 0

    def thread(self, pid: int, tid: int, name: str) -> None:
        self.threads.setdefault((pid, tid), name)

    def slice(
        self, pid: int, tid: int, name: str, start: Event, end: Event | None, **args: Any
    ) -> None:
        stop = end.ts_ns if end is not None else self.end_ns
        self.out.append(
            {
                "name": name,
                "ph": "X",
                "pid": pid,
                "tid": tid,
                "ts": start.ts_ns / 1000,
                "dur": max(0, stop - start.ts_ns) / 1000,
                "args": {
                    **start.args,
                    **({"end": end.name, **_prefixed(end)} if end else {"unfinished": True}),
                    **args,
                },
            }
        )

    def instant(self, pid: int, tid: int, e: Event, name: str | None = None) -> None:
        self.out.append(
            {
                "name": name or e.name,
                "ph": "i",
                "s": "t",
                "pid": pid,
                "tid": tid,
                "ts": e.ts_ns / 1000,
                "args": {"event": e.name, **e.args},
            }
        )

    def counter(self, pid: int, name: str, ts_ns: int, value: int) -> None:
        self.out.append(
            {"name": name, "ph": "C", "pid": pid, "ts": ts_ns / 1000, "args": {"bytes": value}}
        )


def _prefixed(e: Event) -> dict[str, Any]:
    return {f"end_{k}": v for k, v in e.args.items()}


def _first(events: Iterator[Event]) -> Event | None:
    return next(events, None)


def _guest(b: _Builder, ev: list[Event]) -> None:
    b.thread(GUEST_PID, NAND_TID, "tango_nand pages")
    b.thread(GUEST_PID, DMA_TID, "tangox_dma transfers")
    b.thread(GUEST_PID, ROUTE_TID, "tangox_dma routes")
    b.thread(GUEST_PID, DMA_EVENTS_TID, "tangox_dma events")
    for i, e in enumerate(ev):
        later = iter(ev[i + 1 :])
        if e.name == "tango_nand_cmd" and e.num("cmd") in (1, 2):
            end = _first(
                x
                for x in later
                if x.name == "tango_nand_page_done" and x.num("page") == e.num("page")
            )
            kind = "program" if e.num("cmd") == 2 else "read"
            b.slice(GUEST_PID, NAND_TID, f"{kind} page {e.num('page')}", e, end)
        elif e.name == "tango_nand_wait_begin":
            end = _first(
                x
                for x in later
                if x.name == "tango_nand_wait_end" and x.num("page") == e.num("page")
            )
            b.slice(GUEST_PID, NAND_TID, f"wait {e.text('what')}", e, end)
        elif e.name == "tangox_dma_issue":
            end = _first(
                x
                for x in later
                if x.name == "tangox_dma_complete" and x.num("cookie") == e.num("cookie")
            )
            b.slice(GUEST_PID, DMA_TID, f"transfer cookie {e.num('cookie')}", e, end)
        elif e.name == "tangox_dma_route_setup":
            end = _first(
                x
                for x in later
                if x.name == "tangox_dma_route_teardown" and x.num("chan") == e.num("chan")
            )
            b.slice(
                GUEST_PID,
                ROUTE_TID,
                f"route {e.num('src')}->{e.num('dst')} (chan {e.num('chan')})",
                e,
                end,
            )
        if e.name.startswith("tangox_dma_") or e.name == "tango_nand_cmd":
            tid = NAND_TID if e.name == "tango_nand_cmd" else DMA_EVENTS_TID
            b.instant(GUEST_PID, tid, e, e.name.removeprefix("tangox_dma_"))


def _qemu(b: _Builder, ev: list[Event]) -> None:
    b.thread(QEMU_PID, NFC_TID, "NFC commands")
    b.thread(QEMU_PID, NFC_INPUT_TID, "NFC waiting for bytes")
    b.thread(QEMU_PID, CHIP_TID, "NAND chip")
    chans: dict[str, int] = {}
    for i, e in enumerate(ev):
        later = iter(ev[i + 1 :])
        if e.name == "tango4_nfc_cmd":
            end = _first(
                x
                for x in later
                if x.name in ("tango4_nfc_cmd_done", "tango4_nfc_abort")
                and x.num("page") == e.num("page")
            )
            b.slice(QEMU_PID, NFC_TID, f"{e.text('cmd')} page {e.num('page')}", e, end)
            if e.text("cmd") == "write":
                full = _first(
                    x
                    for x in iter(ev[i + 1 :])
                    if (x.name == "tango4_nfc_fifo_in" and x.num("used") >= x.num("total"))
                    or x.name in ("tango4_nfc_abort", "tango4_nfc_cmd")
                )
                b.slice(
                    QEMU_PID, NFC_INPUT_TID, f"waiting for bytes (page {e.num('page')})", e, full
                )
        elif e.name in ("tango4_nfc_fifo_in", "tango4_nfc_abort", "tango4_nfc_cmd_done"):
            b.instant(QEMU_PID, NFC_INPUT_TID if e.name.endswith("fifo_in") else NFC_TID, e)
        elif e.name == "onfi_nand_busy":
            end = _first(x for x in later if x.name == "onfi_nand_done")
            b.slice(QEMU_PID, CHIP_TID, f"busy: {e.text('op')} row {e.num('row')}", e, end)
        elif e.name.startswith("tango4_mchan_"):
            tid = chans.setdefault(e.text("chan"), MCHAN_TID0 + len(chans))
            b.thread(QEMU_PID, tid, f"memory channel {e.text('chan')}")
            if e.name == "tango4_mchan_start":
                end = _first(
                    x
                    for x in later
                    if x.name == "tango4_mchan_mem_done" and x.text("chan") == e.text("chan")
                )
                b.slice(QEMU_PID, tid, f"command (count {e.num('count')})", e, end)
            else:
                b.instant(QEMU_PID, tid, e, e.name.removeprefix("tango4_mchan_"))
        elif e.name.startswith("tango4_sbox_"):
            port = e.num("dst") if "dst" in e.args else e.num("src")
            tid = SBOX_TID0 + port
            b.thread(QEMU_PID, tid, f"sbox port {port}")
            if e.name == "tango4_sbox_route" and e.num("new_src") != DISCONNECTED:
                end = _first(
                    x for x in later if x.name == "tango4_sbox_route" and x.num("dst") == port
                )
                b.slice(QEMU_PID, tid, f"route {e.num('new_src')}->{port}", e, end)
            elif e.name != "tango4_sbox_route":
                b.instant(QEMU_PID, tid, e, e.name.removeprefix("tango4_sbox_"))
            if e.name == "tango4_sbox_burst":
                b.counter(QEMU_PID, f"in flight to port {port}", e.ts_ns, e.num("level"))
            elif e.name == "tango4_sbox_deliver":
                b.counter(QEMU_PID, f"in flight to port {port}", e.ts_ns, e.num("left"))
            elif e.name == "tango4_sbox_drop":
                b.counter(QEMU_PID, f"in flight to port {port}", e.ts_ns, 0)


def chrome_trace(
    guest: list[Event], qemu: list[Event], alignment: Alignment, meta: dict[str, Any]
) -> dict[str, Any]:
    """The trace: `guest` already on QEMU's time axis (align.shifted)."""
    if not qemu:
        raise TraceError("the QEMU trace has none of the timeline's events")
    b = _Builder(end_ns=max(e.ts_ns for e in [*guest, *qemu]))
    _guest(b, sorted(guest, key=lambda e: e.ts_ns))
    _qemu(b, qemu)
    names = [
        {"name": "process_name", "ph": "M", "pid": GUEST_PID, "args": {"name": "guest (Linux)"}},
        {"name": "process_name", "ph": "M", "pid": QEMU_PID, "args": {"name": "QEMU (models)"}},
    ]
    names += [
        {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
        for (pid, tid), name in sorted(b.threads.items())
    ]
    return {
        "traceEvents": names + b.out,
        "displayTimeUnit": "ns",
        "otherData": {**meta, "clock_alignment": alignment.to_dict()},
    }


def write_trace(path: Path, trace: dict[str, Any]) -> None:
    path.write_text(json.dumps(trace, separators=(",", ":")) + "\n")


def read_trace(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TraceError(f"cannot read the trace {path}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        raise TraceError(f"{path} is not a Chrome trace-event JSON object")
    return data
