# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Record a batch cell with QEMU's record/replay and replay it.

`-icount shift=N,rr=record,rrfile=F` logs every non-deterministic input
(here: the console's, the clocks' reads); `rr=replay` runs the same
instructions again from the same NAND image. What this machine allows
**(ours: found by trying)**:
- one vCPU only: QEMU refuses record/replay with -smp 2, so the replayed
  cell runs on one CPU (its timing differs from the experiment's);
- no blkreplay: the NAND chip model reads and writes its image
  synchronously from the vCPU (blk_pread/blk_pwrite), and blkreplay
  completes requests only at replay checkpoints, which that vCPU would
  have to reach: the guest hangs at its first NAND read. The raw image is
  used directly, which is deterministic because no block request is ever
  in flight across instructions; the replay starts from a copy of the
  image the record started from;
- no networking (a batch cell needs none);
- no reverse debugging: reverse-step/continue need rrsnapshot, i.e. a
  savevm at the start, which needs every writable drive to take internal
  snapshots; the raw NAND image cannot (a qcow2 image would, but the
  build has no qemu-img to make one).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tangolab.errors import UsageError
from tangolab.experiment.cells import CALLBACK_POLICIES, FIRST_BLOCK, CellSpec
from tangolab.machine import Machine
from tangolab.nand.image import write_erased_image
from tangolab.nand.layout import Geometry

from .parse import QEMU_EVENTS, Event, TraceError, parse_qemu

RR_SHIFT = 4


@dataclass(frozen=True)
class Pass:
    console: str  # the cell's sections (before .. end)
    bytes_dropped: int
    events: list[Event]  # QEMU's timeline events
    image: bytes


def _cell_args(spec: CellSpec) -> tuple[str, list[str]]:
    start = FIRST_BLOCK * Geometry(blocks=8).pages_per_block
    wait = int(spec.policy in CALLBACK_POLICIES)
    cell = f"{spec.policy},{spec.delay_us},{wait},{start},{spec.pages},{spec.seed}"
    settings = {
        "tango4-sbox.fifo-depth": spec.fifo_depth,
        "tango4-sbox.seed": spec.seed,
        "tango4-sbox.jitter": spec.jitter,
        "tango4-sbox.jitter-ns": spec.jitter_ns,
        "tango4-sbox.latency-ns": spec.latency_ns,
    }
    return f"loglevel=1 tangolab.cell={cell}", [
        a for k, v in settings.items() for a in ("-global", f"{k}={v}")
    ]


def _run(spec: CellSpec, out: Path, mode: str) -> Pass:
    image = out / f"nand-{mode}.img"
    shutil.copyfile(out / "nand-initial.img", image)
    events_file, log = out / "qemu-events.txt", out / f"qemu-trace-{mode}.log"
    events_file.write_text("".join(f"{e}\n" for e in QEMU_EVENTS))
    append, extra = _cell_args(spec)
    m = Machine(
        name=f"rr-{mode}-{spec.policy}-{out.stat().st_ino % 10**6}",
        smp=1,
        icount=f"shift={RR_SHIFT},rr={mode},rrfile={out / 'cell.rr'}",
        nand=image,
        append=append,
        extra_args=[*extra, "-trace", f"events={events_file},file={log}"],
        boot_timeout=max(300.0, spec.timeout_s),
    )
    with m:
        text = m.console_log.read_text(errors="replace").replace("\r", "")
        dropped = int(m.qom_get("/machine/sbox", "bytes-dropped"))
    start, end = text.find("tangolab-cell: before"), text.find("tangolab-cell: end")
    if start < 0 or end < 0:
        raise TraceError(f"the {mode} run printed no cell output (see {m.console_log})")
    return Pass(text[start:end], dropped, parse_qemu(log.read_text()), image.read_bytes())


def record_and_replay(spec: CellSpec, out: Path) -> tuple[Pass, Pass]:
    """Record the cell into OUT/cell.rr, replay it; both passes."""
    if "," in str(out):
        raise UsageError(f"{out}: QEMU's -icount rrfile= cannot take a path with a comma")
    out.mkdir(parents=True, exist_ok=True)
    blocks = spec.blocks
    write_erased_image(out / "nand-initial.img", Geometry(blocks=blocks).image_size, force=True)
    rec = _run(spec, out, "record")
    rep = _run(spec, out, "replay")
    (out / "replay.json").write_text(
        json.dumps(
            {
                "spec": spec.to_dict(),
                "bytes_dropped": [rec.bytes_dropped, rep.bytes_dropped],
                "qemu_events": [len(rec.events), len(rep.events)],
                "same": same(rec, rep),
            },
            indent=2,
        )
        + "\n"
    )
    return rec, rep


def same(a: Pass, b: Pass) -> dict[str, bool]:
    return {
        "console": a.console == b.console,
        "bytes_dropped": a.bytes_dropped == b.bytes_dropped,
        "qemu_trace": a.events == b.events,
        "nand_image": a.image == b.image,
    }
