# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the flow-controlled data path across the switch box and
its endpoints (issue 10): sources wait instead of dropping, FIFOs of
`fifo-depth` bytes pace them, a tear-down loses exactly what is in flight,
latency jitter is seeded and repeatable, and the state migrates.

As in test_sbox.py, memory channel 0 (mem-to-dev, port 1) sends through the
box to memory channel 3 (dev-to-mem, port 2): route "dst 2 <- src 1".
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tangolab.errors import QmpCommandError, QmpError
from tangolab.qtest import (
    MCHAN_CMD,
    MCHAN_COUNT,
    RAM_BASE,
    SBOX_BASE,
    SBOX_PATH,
    SBOX_RESET,
    SBOX_ROUTE,
    ST_BUSY,
    ST_ERROR,
    QTestError,
    QTestMachine,
    Tango4Dma,
)

StartFn = Callable[..., QTestMachine]

SRC = RAM_BASE + 0x10_0000
DST = RAM_BASE + 0x20_0000
READ_CH, WRITE_CH = 0, 3
SRC_PORT, DST_PORT = 1, 2
DEPTH = 512  # default fifo-depth


def data(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def depth_args(depth: int) -> tuple[str, ...]:
    return ("-global", f"tango4-sbox.fifo-depth={depth}")


def start(dma: Tango4Dma, payload: bytes, *, write: bool = True) -> None:
    """Payload in memory, destination 0xee; route, then the write and read commands."""
    m = dma.m
    m.memwrite(SRC, payload)
    m.memset(DST, len(payload) + 0x100, 0xEE)
    dma.route(DST_PORT, SRC_PORT)
    if write:
        dma.single(WRITE_CH, DST, len(payload))
    dma.single(READ_CH, SRC, len(payload))


def set_box(m: QTestMachine, **props: int | str) -> None:
    for name, value in props.items():
        m.qom_set(SBOX_PATH, name.replace("_", "-"), value)


# --- a source waits for its route --------------------------------------------


def test_push_into_an_unrouted_port_waits_then_completes(dma: Tango4Dma) -> None:
    m = dma.m
    set_box(m, latency_ns=2_000)
    payload = data(3000)
    m.memwrite(SRC, payload)
    m.memset(DST, 0x1000, 0xEE)
    dma.single(READ_CH, SRC, 3000)  # started before any route exists
    dma.single(WRITE_CH, DST, 3000)
    m.clock_step(1_000_000)
    assert dma.status(READ_CH) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert dma.reg(READ_CH, MCHAN_COUNT) == 3000
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    assert dma.sbox("stalls") == 1, "one wait, not a retry loop"
    dma.route(DST_PORT, SRC_PORT)
    m.clock_step(100_000)
    assert m.memread(DST, 0x1000) == payload + b"\xee" * (0x1000 - 3000)
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("bytes-dropped") == 0


# --- paced FIFOs ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [64, DEPTH, 4096])
def test_full_fifo_stalls_and_interrupt_follows_the_last_byte(
    start_tango4: StartFn, depth: int
) -> None:
    """With latency L a route moves one FIFO per L: the read channel's
    interrupt comes when its last byte has entered the route, with at most
    fifo-depth bytes in flight."""
    m = start_tango4(*depth_args(depth))
    dma = Tango4Dma(m)
    latency, n = 10_000, 5000
    set_box(m, latency_ns=latency)
    payload = data(n, depth)
    start(dma, payload)
    m.clock_step(latency // 2)
    assert dma.sbox("bytes-in-flight") == depth
    assert dma.reg(READ_CH, MCHAN_COUNT) == n - depth, "the channel waits for room"
    rounds = (n - 1) // depth  # latencies before the last push
    at = dma.wait_irq(READ_CH, step_ns=latency)
    assert at == rounds * latency
    in_flight = dma.sbox("bytes-in-flight")
    assert in_flight == n - rounds * depth
    assert 0 < in_flight <= depth
    assert m.memread(DST, n - in_flight) == payload[: n - in_flight]
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0
    m.clock_step(latency)
    assert m.memread(DST, n) == payload
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("stalls") >= rounds
    assert dma.sbox("bytes-dropped") == 0


def test_bounded_by_construction(start_tango4: StartFn) -> None:
    """No consumer: whatever the sources push, the box holds at most
    fifo-depth bytes per route (here two routes from one source, and the
    NFC's read data on a third)."""
    m = start_tango4()
    dma = Tango4Dma(m)
    m.memwrite(SRC, data(8191))
    dma.route(DST_PORT, SRC_PORT)
    dma.route(1, SRC_PORT)  # fan-out to channel 1 as well; neither has a command
    dma.single(READ_CH, SRC, 8191)
    dma.rect(2, SRC, 8000, 16000, 0)  # 128 MB from channel 2 to nowhere...
    dma.route(4, 2)  # ... then to the loopback, whose way out has no route
    for _ in range(5):
        m.clock_step(1_000_000)
        assert dma.sbox("bytes-in-flight") <= 3 * DEPTH
    assert dma.reg(READ_CH, MCHAN_COUNT) == 8191 - DEPTH
    assert dma.status(READ_CH) & ST_BUSY
    assert dma.status(2) & ST_BUSY
    # the loopback's FIFO (8 KiB) is full, and one box FIFO in front of it
    assert m.qom_get("/machine/loopback", "bytes") == 0
    assert dma.chan(2, "bytes") == 8192 + DEPTH
    assert dma.sbox("bytes-in-flight") == 3 * DEPTH
    assert dma.sbox("bytes-dropped") == 0


def test_largest_fifo_is_bounded_too(start_tango4: StartFn) -> None:
    m = start_tango4(*depth_args(65536))
    dma = Tango4Dma(m)
    assert dma.sbox("fifo-depth") == 65536
    dma.route(DST_PORT, SRC_PORT)
    dma.rect(READ_CH, SRC, 8000, 12, 8000)  # 96000 bytes, no consumer
    m.clock_step(1_000_000)
    assert dma.sbox("bytes-in-flight") == 65536
    assert dma.reg(READ_CH, MCHAN_COUNT) == 96000 - 65536


# --- a tear-down loses exactly what is in flight --------------------------------


@pytest.mark.parametrize("when", [3_000, 7_500, 12_345, 40_000])
def test_teardown_loses_exactly_the_bytes_in_flight(dma: Tango4Dma, when: int) -> None:
    """Torn down at any moment: bytes-dropped is what was in flight just
    before, the destination has everything before the hole, the source is
    charged for nothing more, and once routed again it goes on after the
    hole."""
    m = dma.m
    set_box(m, latency_ns=2_000, bandwidth=50_000_000)
    n = 3000
    payload = data(n, when)
    start(dma, payload)
    m.clock_step(when)
    in_flight = dma.sbox("bytes-in-flight")
    arrived = dma.sbox("bytes-moved")
    pushed = dma.chan(READ_CH, "bytes")
    assert pushed == arrived + in_flight
    assert in_flight <= DEPTH
    dma.disconnect(DST_PORT)
    assert dma.sbox("bytes-dropped") == in_flight
    assert dma.sbox("teardowns-in-flight") == (1 if in_flight else 0)
    m.clock_step(100_000)
    assert dma.sbox("bytes-moved") == arrived
    assert dma.chan(READ_CH, "bytes") == pushed, "the source is not charged for more"
    assert dma.reg(READ_CH, MCHAN_COUNT) == n - pushed
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == n - arrived
    assert m.memread(DST, n) == payload[:arrived] + b"\xee" * (n - arrived)
    # routed again: the rest comes, after a hole of exactly the lost bytes
    dma.route(DST_PORT, SRC_PORT)
    m.clock_step(200_000)
    got = m.memread(DST, n)
    assert got == payload[:arrived] + payload[pushed:] + b"\xee" * in_flight
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == in_flight, "waits for what was lost"
    assert m.irq_raises(dma.irq(READ_CH)) == 1


# --- catch up before a route change ------------------------------------------


def test_route_change_at_the_arrival_time_loses_nothing(dma: Tango4Dma) -> None:
    m = dma.m
    set_box(m, latency_ns=10_000)
    payload = data(256)
    start(dma, payload)
    m.clock_step(9_999)
    assert dma.sbox("bytes-in-flight") == 256
    m.clock_step(1)  # exactly the arrival
    dma.disconnect(DST_PORT)
    assert dma.sbox("bytes-dropped") == 0
    assert m.memread(DST, 256) == payload


def test_latency_0_moves_within_the_cmd_write(dma: Tango4Dma) -> None:
    """Latency 0, the read channel's CMD and the tear-down in one batch: the
    box's timer has not run, but the CMD write itself has moved every byte
    (the box catches up when the write ends), so the tear-down finds
    nothing in flight and the channel is done."""
    m = dma.m
    payload = data(2000)
    m.memwrite(SRC, payload)
    m.memset(DST, 0x1000, 0xEE)
    dma.route(DST_PORT, SRC_PORT)
    dma.single(WRITE_CH, DST, 2000)
    base = dma.base(READ_CH)
    m.writel(base, SRC)
    m.writel(base + MCHAN_COUNT, 2000)
    m.command_batch(
        ("writel", hex(base + MCHAN_CMD), 3),
        ("writel", hex(SBOX_BASE + SBOX_ROUTE), 0xF << 4),  # disconnect port 2
    )
    assert dma.sbox("bytes-dropped") == 0
    assert dma.sbox("teardowns-in-flight") == 0
    assert m.memread(DST, 2000) == payload
    assert dma.reg(READ_CH, MCHAN_COUNT) == 0
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 0


def test_reset_hold_catches_up_too(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(300)
    m.memwrite(SRC, payload)
    m.memset(DST, 0x200, 0xEE)
    dma.route(DST_PORT, SRC_PORT)
    dma.single(WRITE_CH, DST, 300)
    base = dma.base(READ_CH)
    m.writel(base, SRC)
    m.writel(base + MCHAN_COUNT, 300)
    m.command_batch(
        ("writel", hex(base + MCHAN_CMD), 3),
        ("writel", hex(SBOX_BASE + SBOX_RESET), 1),
    )
    assert dma.sbox("bytes-dropped") == 0
    assert m.memread(DST, 300) == payload


# --- latency jitter: seeded, repeatable ----------------------------------------


def losses(dma: Tango4Dma, seed: int, pages: int = 6, n: int = 1500) -> list[int]:
    """Per page: bytes lost when the route is torn down at the read
    channel's interrupt (the reporter's driver), under `seed`."""
    m = dma.m
    m.qom_set(SBOX_PATH, "seed", seed)
    lost = []
    for page in range(pages):
        before = dma.sbox("bytes-dropped")
        m.memwrite(SRC, data(n, page))
        dma.route(DST_PORT, SRC_PORT)
        dma.single(WRITE_CH, DST, n)
        dma.single(READ_CH, SRC, n)
        dma.wait_irq(READ_CH, step_ns=100)
        dma.disconnect(DST_PORT)  # at the interrupt
        dma.stop(WRITE_CH)  # it waits for bytes that will not come
        m.clock_step(100_000)
        lost.append(dma.sbox("bytes-dropped") - before)
    return lost


@pytest.mark.parametrize("jitter", ["uniform", "exponential"])
def test_jitter_two_seeds_two_patterns_each_repeatable(start_tango4: StartFn, jitter: str) -> None:
    m = start_tango4()
    dma = Tango4Dma(m)
    set_box(m, latency_ns=3_000, jitter=jitter, jitter_ns=2_500)
    a = losses(dma, 5)
    b = losses(dma, 6)
    assert losses(dma, 5) == a, "the same seed loses the same bytes"
    assert a != b, "another seed loses others"
    assert all(0 <= x <= DEPTH for x in a + b)
    assert any(a) and any(b)
    # and in a fresh machine too
    m2 = start_tango4()
    dma2 = Tango4Dma(m2)
    set_box(m2, latency_ns=3_000, jitter=jitter, jitter_ns=2_500)
    assert losses(dma2, 6) == b


def test_without_jitter_the_seed_changes_nothing(dma: Tango4Dma) -> None:
    set_box(dma.m, latency_ns=3_000, jitter_ns=2_500)  # jitter "none"
    assert losses(dma, 5, pages=3) == losses(dma, 6, pages=3)


# --- migration -----------------------------------------------------------------


def run_jittered(m: QTestMachine, until: int) -> None:
    dma = Tango4Dma(m)
    set_box(m, latency_ns=4_000, jitter="exponential", jitter_ns=3_000, seed=11)
    start(dma, data(6000, 3))
    m.clock_set(until)


def test_migration_keeps_fifos_and_generator(start_tango4: StartFn, tmp_path: Path) -> None:
    """Saved with bytes in flight and the channel waiting for room, loaded,
    the transfer ends as in a machine that was never saved: the FIFO and the
    generator's state migrated (a tear-down loses the same bytes)."""
    ref = start_tango4("-m", "64")
    run_jittered(ref, 20_000)
    ref_dma = Tango4Dma(ref)
    ref.clock_step(7_000)
    ref_dma.disconnect(DST_PORT)
    ref_lost = ref_dma.sbox("bytes-dropped")
    ref_moved = ref_dma.sbox("bytes-moved")
    assert ref_lost > 0

    state = tmp_path / "state.bin"
    src = start_tango4("-m", "64")
    run_jittered(src, 20_000)
    src_dma = Tango4Dma(src)
    in_flight = src_dma.sbox("bytes-in-flight")
    assert 0 < in_flight <= DEPTH
    assert src_dma.status(READ_CH) & ST_BUSY
    src.migrate_to_file(state)
    src.close()

    dst = start_tango4("-m", "64", "-incoming", f"file:{state}")
    dst.wait_running()
    dst.clock_set(20_000)
    dma = Tango4Dma(dst)
    assert dma.sbox("bytes-in-flight") == in_flight
    assert dma.sbox("seed") == 11
    dst.clock_step(7_000)
    dma.disconnect(DST_PORT)
    assert dma.sbox("bytes-dropped") == ref_lost
    assert dma.sbox("bytes-moved") == ref_moved
    assert dst.memread(DST, 6000) == ref.memread(DST, 6000)


def test_migration_to_another_fifo_depth_is_refused(
    start_tango4: StartFn, qemu_path: Path, tmp_path: Path
) -> None:
    """A stream from a box with another fifo-depth is refused: QEMU says
    why and exits (when depends on how far it got: start or wait)."""
    state = tmp_path / "state.bin"
    src = start_tango4("-m", "64")
    dma = Tango4Dma(src)
    set_box(src, latency_ns=10_000)
    start(dma, data(1000))
    src.migrate_to_file(state)
    src.close()

    args = ["-m", "64", *depth_args(1024), "-incoming", f"file:{state}"]
    dst = QTestMachine(args, qemu=qemu_path, timeout=5.0)
    try:
        with contextlib.suppress(QTestError, QmpError):
            dst.start()
            dst.wait_running()
        deadline = time.monotonic() + 10
        while dst.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not dst.alive(), "QEMU refuses the stream and exits"
    finally:
        dst.close()
    err = dst.stderr()
    assert "Input validation failed: tango4-sbox/fifo-depth matches" in err
    assert "error while loading state for instance 0x0 of device 'tango4-sbox'" in err


# --- fifo-depth validation -------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 32, 100, 65600, 131072])
def test_fifo_depth_is_validated(start_tango4_fails: Callable[..., str], depth: int) -> None:
    err = start_tango4_fails(*depth_args(depth))
    assert f"fifo-depth must be a multiple of 64 from 64 to 65536 bytes, not {depth}" in err


@pytest.mark.parametrize("depth", [64, 65536])
def test_fifo_depth_limits_are_accepted(start_tango4: StartFn, depth: int) -> None:
    m = start_tango4(*depth_args(depth))
    assert m.qom_get(SBOX_PATH, "fifo-depth") == depth


def test_fifo_depth_cannot_change_at_run_time(dma: Tango4Dma) -> None:
    """The FIFOs are allocated at realize: no run-time setting grows them."""
    with pytest.raises(QmpCommandError):
        dma.m.qom_set(SBOX_PATH, "fifo-depth", 65536)
    assert dma.sbox("fifo-depth") == DEPTH
