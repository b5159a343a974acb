# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A failing cell recorded with QEMU's record/replay replays exactly: the
same console output, the same QEMU trace (virtual times included), the
same bytes dropped and the same NAND image (tangolab.trace.replay)."""

from __future__ import annotations

from pathlib import Path

from tangolab.experiment.cells import CellSpec, with_defaults
from tangolab.trace.replay import record_and_replay, same


def test_a_lost_page_replays_exactly(tmp_path: Path) -> None:
    spec = with_defaults(CellSpec(policy="irq", latency_ns=20_000, seed=1, pages=1), 0.5)
    rec, rep = record_and_replay(spec, tmp_path)
    assert (tmp_path / "cell.rr").stat().st_size > 0
    assert rec.bytes_dropped > 0  # the recorded cell did lose bytes
    drops = [e for e in rec.events if e.name == "tango4_sbox_drop"]
    assert sum(e.num("bytes") for e in drops) == rec.bytes_dropped
    assert same(rec, rep) == {
        "console": True,
        "bytes_dropped": True,
        "qemu_trace": True,
        "nand_image": True,
    }
