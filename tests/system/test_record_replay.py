# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A failing cell recorded with QEMU's record/replay (NAND behind a qcow2
overlay, VM snapshot at the start) replays exactly: the same console
output, the same QEMU trace (virtual times included), the same bytes
dropped and the same NAND image, and the raw image it started from is
never written (tangolab.trace.replay). Replayed to the loss, gdb's
reverse-continue goes back to the DMA driver's tear-down in its interrupt
handler, before the loss (tangolab.trace.reverse).

One recording (one page, irq, 20 us) serves both tests."""

from __future__ import annotations

import json
import shutil

import pytest

from tangolab.build.artifacts import load_artifacts
from tangolab.experiment.cells import CellSpec, with_defaults
from tangolab.nand.layout import Geometry
from tangolab.paths import build_dir
from tangolab.ssh import free_port
from tangolab.trace.replay import (
    Pass,
    Recording,
    qemu_img,
    record,
    replay,
    replay_to_loss,
    same,
    sha256,
)
from tangolab.trace.reverse import GDB, IRQ_HANDLER, TEARDOWN, reverse_to

#: the generic IRQ layer's entry, which every interrupt goes through
GENIRQ = "handle_irq_desc"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, Pass]:
    spec = with_defaults(CellSpec(policy="irq", latency_ns=20_000, seed=1, pages=1), 0.5)
    return record(spec, tmp_path_factory.mktemp("rr"))


def _erased(rec: Recording) -> bool:
    return rec.base.read_bytes() == b"\xff" * Geometry(blocks=rec.spec.blocks).image_size


def test_a_lost_page_replays_exactly(recording: tuple[Recording, Pass]) -> None:
    rec, first = recording
    assert rec.rrfile.stat().st_size > 0 and rec.snapshot_bytes > 0
    assert first.bytes_dropped > 0  # the recorded cell did lose bytes
    drops = [e for e in first.events if e.name == "tango4_sbox_drop"]
    assert sum(e.num("bytes") for e in drops) == first.bytes_dropped
    again = replay(rec)
    assert same(first, again) == {
        "console": True,
        "bytes_dropped": True,
        "qemu_trace": True,
        "nand_image": True,
    }
    # the guest's erase and program went to the record's overlay; the raw image is untouched
    art = load_artifacts(build_dir())
    layout = qemu_img(art, "map", "--output=json", "-f", "qcow2", rec.overlay.name, cwd=rec.dir)
    assert any(e["depth"] == 0 and e["data"] for e in json.loads(layout)), layout
    assert _erased(rec) and sha256(rec.base) == rec.base_sha256


@pytest.mark.skipif(shutil.which(GDB) is None, reason=f"{GDB} is not installed (bootstrap.sh)")
def test_reverse_continue_from_the_loss_stops_at_the_teardown(
    recording: tuple[Recording, Pass],
) -> None:
    rec, first = recording
    vmlinux = build_dir() / "linux/obj/vmlinux"
    port = free_port()
    with replay_to_loss(rec, port, timeout=300) as (m, drop):
        assert m.qmp("query-status")["status"] == "paused"
        # the record's first loss, at the same virtual time
        lost = next(e for e in first.events if e.name == "tango4_sbox_drop")
        assert (drop["vtime-ns"], drop["bytes"]) == (lost.ts_ns, lost.num("bytes"))
        assert drop["bytes"] > 0
        rev = reverse_to(vmlinux, port, TEARDOWN, timeout=300)
    # stopped in the DMA driver's ROUTE store path (the loss is inside the tear-down)
    assert TEARDOWN in rev.loss.frames, rev.transcript
    # reverse-continue stopped at the breakpoint, not at the start of the recording ...
    assert rev.hit, rev.transcript
    frames = rev.stop.frames
    assert frames[0] == TEARDOWN, rev.transcript
    # ... called from the interrupt path: the DMA driver's handler, under the
    # generic IRQ layer's entry (only the two drivers have DWARF: gdb unwinds
    # the rest by symbol and may stop there, before gic_handle_irq)
    assert IRQ_HANDLER in frames and GENIRQ in frames, rev.transcript
    assert frames.index(TEARDOWN) < frames.index(IRQ_HANDLER) < frames.index(GENIRQ)
    # ... before the loss: a few instructions earlier, in the same handler
    assert 0 < rev.loss.icount - rev.stop.icount < 10_000, rev.transcript
    assert _erased(rec) and sha256(rec.base) == rec.base_sha256
