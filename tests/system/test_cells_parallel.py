# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Cells are independent and repeatable: under -icount a matrix gives the
same results run one after the other and on a Dask LocalCluster."""

from __future__ import annotations

from dataclasses import replace

from tangolab.experiment import CellResult, CellSpec
from tangolab.experiment.runner import run_cells

SPECS = [
    CellSpec(policy="irq", latency_ns=4_000, jitter_ns=4_000, seed=s, pages=8) for s in (1, 2)
] + [CellSpec(policy="client", latency_ns=4_000, jitter_ns=4_000, seed=1, pages=8)]


def timeless(cells: list[CellResult]) -> list[CellResult]:
    return [replace(c, wall_s=0.0) for c in cells]


def test_serial_and_dask_give_the_same_results() -> None:
    serial = run_cells(SPECS)
    parallel = run_cells(SPECS, jobs=2)
    assert timeless(serial) == timeless(parallel)
    assert [c.spec for c in parallel] == SPECS  # in the order asked, whatever finished first
    assert any(c.failed for c in serial[:2]), serial  # irq at 4 us loses pages
    assert serial[2].failed == 0, serial[2]
