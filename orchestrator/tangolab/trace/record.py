# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Run a batch cell of the experiment with both traces on and write its
timeline: DIR/trace.json (Perfetto), DIR/qemu-trace.log, DIR/guest-trace.txt,
DIR/cell.json (the cell's result, the sbox counters included)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tangolab.experiment.cells import FIRST_BLOCK, CellResult, CellSpec, run_cell
from tangolab.nand.layout import Geometry

from .align import Alignment, align, shifted
from .chrome import chrome_trace, write_trace
from .parse import QEMU_EVENTS, Event, TraceError, parse_guest, parse_qemu

#: kernel command line word that makes the guest's init record and print its trace
GUEST_FLAG = "tangolab.trace"
SECTION, SECTION_END = "tangolab-cell: trace", "tangolab-cell: trace-end"


@dataclass(frozen=True)
class TraceRun:
    result: CellResult
    alignment: Alignment
    guest: list[Event]  # on QEMU's time axis
    qemu: list[Event]
    out: Path

    @property
    def first_page(self) -> int:
        """The chip page of the cell's page 0."""
        return FIRST_BLOCK * Geometry(blocks=8).pages_per_block

    @property
    def trace_path(self) -> Path:
        return self.out / "trace.json"


def guest_section(console: str) -> str:
    start = console.find(SECTION)
    end = console.find(SECTION_END, start)
    if start < 0 or end < 0:
        raise TraceError(
            "the guest printed no trace section (is the rootfs built with the current "
            "guest/rootfs/init, and the kernel with tracing? run `tangolab build`)"
        )
    return console[start:end]


def record(spec: CellSpec, out: Path) -> TraceRun:
    """Run `spec` as a batch cell with the guest's and QEMU's traces on."""
    out.mkdir(parents=True, exist_ok=True)
    events_file, qemu_log = out / "qemu-events.txt", out / "qemu-trace.log"
    events_file.write_text("".join(f"{e}\n" for e in QEMU_EVENTS))
    qemu_log.unlink(missing_ok=True)
    console: list[str] = []
    result = run_cell(
        spec,
        append=GUEST_FLAG,
        extra_args=["-trace", f"events={events_file},file={qemu_log}"],
        console=console.append,
    )
    text = guest_section(console[0])
    (out / "guest-trace.txt").write_text(text)
    try:
        qemu = parse_qemu(qemu_log.read_text(errors="replace"))
    except OSError as e:
        raise TraceError(f"QEMU wrote no trace to {qemu_log}: {e.strerror}") from None
    guest = parse_guest(text)
    if not guest:
        raise TraceError(
            f"the guest's trace section has no driver events (see {out}/guest-trace.txt)"
        )
    alignment = align(guest, qemu)
    guest = shifted(guest, alignment)
    meta = {"cell": result.row(), "guest_clock": text.splitlines()[0].split("clock=")[-1]}
    write_trace(out / "trace.json", chrome_trace(guest, qemu, alignment, meta))
    (out / "cell.json").write_text(json.dumps(result.row(), indent=2) + "\n")
    return TraceRun(result=result, alignment=alignment, guest=guest, qemu=qemu, out=out)
