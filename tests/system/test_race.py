# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The sbox tear-down race, per DMA tear-down policy, with route latency
injected over QMP. Every assertion here can fail: `irq` must lose data when
bytes are in flight, `client` must never lose any."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangolab.experiment.cells import CellResult, run_cell
from tangolab.machine import Machine
from tangolab.nand.layout import EccLayout, Geometry, compute_layout

BLOCKS = 64
GEO = Geometry(blocks=BLOCKS)
LAYOUT = compute_layout(GEO, EccLayout())
PAGES = 8

pytestmark = pytest.mark.tangolab(blocks=BLOCKS, icount=4)


class Cells:
    """Runs cells on one machine, each on a fresh block."""

    def __init__(self, machine: Machine, image: Path) -> None:
        self.m = machine
        self.image = image
        self.block = 1
        machine.run("dmesg -n 1", timeout=30)

    def run(self, policy: str, latency_ns: int, seed: int = 7) -> CellResult:
        start = self.block * GEO.pages_per_block
        self.block += 1
        return run_cell(self.m, self.image, GEO.page_size, policy, latency_ns, seed, PAGES,
                        start, 900, LAYOUT)


@pytest.fixture
def cells(tango_machine: Machine, tango_nand_image: Path) -> Cells:
    return Cells(tango_machine, tango_nand_image)


def intact(c: CellResult) -> bool:
    return (c.intact == c.pages and c.write_errors == 0 and c.readback_mismatch == 0
            and c.bytes_dropped == 0)


def test_client_policy_never_loses(cells: Cells) -> None:
    for latency in (0, 10_000, 100_000, 1_000_000):
        c = cells.run("client", latency)
        assert intact(c), c


def test_irq_policy_loses_data_in_flight(cells: Cells) -> None:
    c0 = cells.run("irq", 0)
    assert intact(c0), c0  # with no latency nothing is in flight
    c = cells.run("irq", 100_000)
    assert c.bytes_dropped > 0, c
    assert c.teardowns_in_flight > 0, c
    assert c.lost + c.corrupted > 0 or c.write_errors > 0, c


def test_delay_policy_survives_only_below_its_delay(cells: Cells) -> None:
    cells.m.run("echo 100 > /sys/module/tangox_dma/parameters/teardown_delay_us",
                timeout=30, check=True)
    below = cells.run("delay", 20_000)
    assert intact(below), below
    above = cells.run("delay", 500_000)
    assert above.bytes_dropped > 0, above
    assert above.lost + above.corrupted > 0 or above.write_errors > 0, above
