# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The sbox tear-down race, per DMA tear-down policy, with route latency
injected over QMP. Every assertion here can fail both ways: `irq` must lose
data when bytes are in flight, `client` must never lose any, and after a
lost page the driver must go on without a reboot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tangolab.experiment.cells import DELAY_PARAM, CellResult, CellSpec, measure, run_cell
from tangolab.machine import Machine
from tangolab.nand.layout import EccLayout, Geometry, compute_layout
from tangolab.paths import build_dir, runs_dir

BLOCKS = 64
GEO = Geometry(blocks=BLOCKS)
LAYOUT = compute_layout(GEO, EccLayout())
PAGES = 8

pytestmark = pytest.mark.tangolab(blocks=BLOCKS, icount=4)


class Cells:
    """Runs cells on one booted machine, each on a fresh block: `measure`
    sets the tear-down policy, its delay and the route latency at run time,
    so one boot serves every cell of a class (or of the module's functions);
    the fresh boots are `test_losses_are_seeded_and_repeatable`'s."""

    def __init__(self, machine: Machine, image: Path) -> None:
        self.m = machine
        self.image = image
        self.block = 1
        machine.run("dmesg -n 1", timeout=30)

    def run(
        self,
        policy: str,
        latency_ns: int,
        seed: int = 7,
        pages: int = PAGES,
        jitter: str = "exponential",
    ) -> CellResult:
        assert self.block < BLOCKS, "the machine's NAND has no fresh block left"
        start = self.block * GEO.pages_per_block
        self.block += 1
        spec = CellSpec(
            policy=policy,
            latency_ns=latency_ns,
            seed=seed,
            pages=pages,
            jitter=jitter,
            jitter_ns=latency_ns // 2 if jitter != "none" else 0,
        )
        return measure(self.m, spec, self.image, LAYOUT, start)


@pytest.fixture(scope="class")
def cells(tango_machine_class: Machine) -> Cells:
    assert tango_machine_class.nand is not None
    return Cells(tango_machine_class, tango_machine_class.nand)


def intact(c: CellResult) -> bool:
    return (
        c.intact == c.pages
        and c.write_errors == 0
        and c.readback_mismatch == 0
        and c.bytes_dropped == 0
    )


def check_client_never_loses(cells: Cells) -> None:
    for latency in (0, 10_000, 100_000, 1_000_000):
        c = cells.run("client", latency)
        assert intact(c), c
        assert c.aborts == 0 and c.wedged == 0, c


def check_irq_loses_then_recovers(cells: Cells, latency_ns: int) -> None:
    c0 = cells.run("irq", 0)
    assert intact(c0), c0  # nothing in flight at latency 0: nothing lost
    c = cells.run("irq", latency_ns)
    assert c.failed > 0, c
    assert c.bytes_dropped > 0 and c.teardowns_in_flight > 0, c
    # what is lost is what was in flight, not whole pages
    assert c.bytes_dropped < c.failed * GEO.page_size, c
    assert c.wedged == 0, c  # no page failed because an earlier one did
    assert c.aborts >= c.failed, c  # the driver abandoned each lost page itself
    # the same boot, no reboot: the next pages are written intact
    after = cells.run("irq", 0)
    assert intact(after), after
    assert cells.run("client", latency_ns).intact == PAGES


class TestIcount:
    """Under the module's -icount 4, one boot for the whole class."""

    def test_client_policy_never_loses(self, cells: Cells) -> None:
        check_client_never_loses(cells)

    def test_irq_policy_loses_data_in_flight_then_recovers(self, cells: Cells) -> None:
        check_irq_loses_then_recovers(cells, 100_000)

    def test_delay_policy_survives_only_below_its_delay(self, cells: Cells) -> None:
        cells.m.run(f"echo 100 > {DELAY_PARAM}", timeout=30, check=True)
        below = cells.run("delay", 20_000, jitter="none")
        assert intact(below), below
        above = cells.run("delay", 500_000)
        assert above.bytes_dropped > 0, above
        assert above.failed > 0, above

    def test_callback_policies_through_the_test_layer(self, cells: Cells) -> None:
        """The reply of the thread (the client's callback waits for its device)
        and the reporter's idea (the callback runs in the interrupt, before the
        tear-down), with the NAND driver's test-layer callback_wait: the first
        waits in atomic context and still loses, the second waits there and
        loses nothing; the hook needs no atomic wait at all."""
        late = cells.run("callback", 100_000)
        assert late.failed > 0 and late.bytes_dropped > 0, late
        assert late.atomic_wait_us > 0, late
        early = cells.run("irq-callback", 100_000)
        assert intact(early), early
        assert early.atomic_wait_us > 0, early
        hook = cells.run("client", 100_000)
        assert intact(hook), hook
        assert hook.atomic_wait_us == 0, hook


def test_losses_are_seeded_and_repeatable() -> None:
    """Under -icount the same seed loses the same pages; another seed others."""

    def cell(seed: int) -> CellResult:
        return run_cell(
            CellSpec(
                policy="irq",
                latency_ns=4_000,
                jitter="exponential",
                jitter_ns=4_000,
                seed=seed,
                pages=16,
            )
        )

    t0 = time.time()
    a, a2, b = cell(1), cell(1), cell(2)
    # a cell that measured removes its run directory (no other test runs
    # these irq 4 us seed 1 cells)
    left = [d for d in runs_dir(build_dir()).glob("cell-irq-4000-1-*") if d.stat().st_mtime >= t0]
    assert left == [], left
    assert 0 < a.failed < a.pages, a  # some pages, not all: losses are random
    assert a.failed_pages == a2.failed_pages and a.bytes_dropped == a2.bytes_dropped, (a, a2)
    assert b.failed_pages != a.failed_pages, (a, b)


@pytest.mark.tangolab(icount=None)
class TestRealTime:
    """The same without -icount (one boot for the class): the models catch up
    on virtual time, so the fixed driver loses nothing and the original still
    loses."""

    def test_client_policy_never_loses(self, cells: Cells) -> None:
        check_client_never_loses(cells)

    def test_irq_policy_loses_data_in_flight_then_recovers(self, cells: Cells) -> None:
        check_irq_loses_then_recovers(cells, 1_000_000)
