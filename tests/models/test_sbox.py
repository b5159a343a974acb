# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the tango4 switch box (hw-models/hw/dma/tango4_sbox.c).

Data goes from memory channel 0 (memory-to-device, sbox port 1) through the
box to memory channel 3 (device-to-memory, port 2): route "dst 2 <- src 1".
So what arrives, when, and what is lost can be read back from guest memory.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import (
    MCHAN_COUNT,
    RAM_BASE,
    SBOX_BASE,
    SBOX_RESET,
    SBOX_RESET2,
    SBOX_ROUTE,
    SBOX_ROUTE2,
    ST_BUSY,
    ST_ERROR,
    QemuExited,
    QTestCommandError,
    QTestMachine,
    QTestTimeout,
    Tango4Dma,
)

StartFn = Callable[..., QTestMachine]

SRC = RAM_BASE + 0x10_0000
DST = RAM_BASE + 0x20_0000
GUARD = 256
READ_CH, WRITE_CH = 0, 3  # port 1 source, port 2 destination
FIFO_DEPTH = 512  # the box's default fifo-depth


def data(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def prepare(m: QTestMachine, payload: bytes) -> None:
    """Source buffer = payload; destination (and guards around it) = 0xee."""
    m.memwrite(SRC, payload)
    m.memset(DST - GUARD, len(payload) + 2 * GUARD, 0xEE)


def loop_transfer(dma: Tango4Dma, payload: bytes) -> None:
    """Route port 1 -> port 2 and start both channels on `payload`."""
    prepare(dma.m, payload)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, len(payload))
    dma.single(READ_CH, SRC, len(payload))


def dst_bytes(m: QTestMachine, n: int) -> bytes:
    return m.memread(DST, n)


def guards_intact(m: QTestMachine, n: int) -> bool:
    before = m.memread(DST - GUARD, GUARD)
    after = m.memread(DST + n, GUARD)
    return before == after == b"\xee" * GUARD


def test_reset_values(dma: Tango4Dma) -> None:
    m = dma.m
    assert m.readl(SBOX_BASE + SBOX_RESET) == 0
    assert m.readl(SBOX_BASE + SBOX_RESET2) == 0
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert m.readl(SBOX_BASE + SBOX_ROUTE2) == 0xFFFF_FFFF
    for prop in ("latency-ns", "bandwidth", "bytes-moved", "bytes-dropped",
                 "bytes-in-flight", "teardowns-in-flight", "stalls", "jitter-ns",
                 "seed"):  # fmt: skip
        assert dma.sbox(prop) == 0, prop
    assert dma.sbox("jitter") == "none"
    assert dma.sbox("fifo-depth") == FIFO_DEPTH


def test_route_nibbles(dma: Tango4Dma) -> None:
    m = dma.m
    route = SBOX_BASE + SBOX_ROUTE
    m.writel(route, 0x0000_0010)  # dst 2 <- 1, others: 0 = unchanged
    assert m.readl(route) == 0xFFFF_FF1F
    m.writel(route, 0x0000_0000)  # all unchanged
    assert m.readl(route) == 0xFFFF_FF1F
    m.writel(route, 0x3000_0300)  # dst 3 <- 3, dst 8 <- 3
    assert m.readl(route) == 0x3FFF_F31F
    m.writel(route, 0x0000_00F0)  # dst 2 disconnected
    assert m.readl(route) == 0x3FFF_F3FF
    m.writel(route, 0xE000_0000)  # dst 8 <- 14
    assert m.readl(route) == 0xEFFF_F3FF
    assert m.readl(SBOX_BASE + SBOX_ROUTE2) == 0xFFFF_FFFF


def test_route2_is_ports_9_to_16(dma: Tango4Dma) -> None:
    m = dma.m
    m.writel(SBOX_BASE + SBOX_ROUTE2, 0x1000_0002)  # dst 9 <- 2, dst 16 <- 1
    assert m.readl(SBOX_BASE + SBOX_ROUTE2) == 0x1FFF_FFF2
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert dma.source_of(9) == 2
    assert dma.source_of(16) == 1
    # Port 9 has nothing attached: channel 2 (port 2) has no route, it waits.
    assert "port 9 routed from port 2 has nothing attached: the source will wait" in m.guest_log()
    m.memwrite(SRC, data(100))
    dma.single(2, SRC, 100)
    m.clock_step(10_000)
    assert dma.status(2) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert dma.reg(2, MCHAN_COUNT) == 100
    assert m.irq_raises(dma.irq(2)) == 0
    assert dma.sbox("stalls") >= 1
    assert dma.sbox("bytes-in-flight") == 0
    assert dma.sbox("bytes-dropped") == 0
    assert dma.sbox("bytes-moved") == 0


def test_reset_sequence_leaves_box_usable(dma: Tango4Dma) -> None:
    m = dma.m
    dma.route(2, 1)
    dma.route(9, 3)
    for reg in (SBOX_RESET, SBOX_RESET2):
        m.writel(SBOX_BASE + reg, 0xFFFF_FFFF)
    # Held in reset: every route disconnected, route writes ignored.
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert m.readl(SBOX_BASE + SBOX_ROUTE2) == 0xFFFF_FFFF
    dma.route(2, 1)
    assert dma.source_of(2) == 0xF
    m.clock_step(2000)
    for reg in (SBOX_RESET, SBOX_RESET2):
        m.writel(SBOX_BASE + reg, 0xFF00_FF00)
    for reg in (SBOX_ROUTE, SBOX_ROUTE2):
        m.writel(SBOX_BASE + reg, 0xFFFF_FFFF)
    assert m.readl(SBOX_BASE + SBOX_RESET) == 0xFF00_FF00
    assert m.readl(SBOX_BASE + SBOX_RESET2) == 0xFF00_FF00
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert m.readl(SBOX_BASE + SBOX_ROUTE2) == 0xFFFF_FFFF
    payload = data(300)
    loop_transfer(dma, payload)
    dma.settle()
    assert dst_bytes(m, 300) == payload
    assert guards_intact(m, 300)


def test_reset_hold_drops_bytes_in_flight(dma: Tango4Dma) -> None:
    """Entering reset loses what is in flight (at most one FIFO); the source
    is not charged for more: it waits, and goes on once routed again."""
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 10_000)
    payload = data(640)
    loop_transfer(dma, payload)
    assert dma.sbox("bytes-in-flight") == FIFO_DEPTH
    assert dma.reg(READ_CH, MCHAN_COUNT) == 640 - FIFO_DEPTH
    m.writel(SBOX_BASE + SBOX_RESET2, 0x0000_0001)
    assert dma.sbox("bytes-dropped") == FIFO_DEPTH
    assert dma.sbox("teardowns-in-flight") == 1
    assert dma.sbox("bytes-in-flight") == 0
    m.clock_step(20_000)
    assert dst_bytes(m, 640) == b"\xee" * 640
    # Held: the read channel finds no route and waits, without an error.
    assert dma.status(READ_CH) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert dma.reg(READ_CH, MCHAN_COUNT) == 640 - FIFO_DEPTH
    m.writel(SBOX_BASE + SBOX_RESET2, 0)
    assert dma.source_of(2) == 0xF
    # Routed again: the 128 bytes it still had go, and nothing else.
    dma.route(2, 1)
    m.clock_step(10_000)
    assert dst_bytes(m, 128) == payload[FIFO_DEPTH:]
    assert dst_bytes(m, 640)[128:] == b"\xee" * 512
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert dma.chan(READ_CH, "bytes") == 640
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 640 - 128
    assert dma.sbox("bytes-dropped") == FIFO_DEPTH


def test_latency_delays_delivery_after_the_interrupt(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 10_000)
    payload = data(256)
    loop_transfer(dma, payload)
    dma.settle()
    # The read channel's memory side is done: its interrupt came ...
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert dma.status(READ_CH) & ST_BUSY == 0
    # ... while nothing has reached the destination yet.
    assert dst_bytes(m, 256) == b"\xee" * 256
    assert dma.sbox("bytes-in-flight") == 256
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0
    m.clock_step(9_998)
    assert dst_bytes(m, 256) == b"\xee" * 256
    m.clock_step(1)
    assert dst_bytes(m, 256) == payload
    assert guards_intact(m, 256)
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("bytes-moved") == 256
    assert dma.sbox("bytes-in-flight") == 0


def test_bandwidth_paces_bursts(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "bandwidth", 64_000_000)  # 64 bytes per us
    payload = data(256)
    loop_transfer(dma, payload)
    m.clock_step(1_999)
    assert dst_bytes(m, 64) == payload[:64]
    assert dst_bytes(m, 256)[64:] == b"\xee" * 192
    m.clock_step(1)
    assert dst_bytes(m, 128) == payload[:128]
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 128
    assert dma.sbox("bytes-in-flight") == 128
    m.clock_step(2_000)
    assert dst_bytes(m, 256) == payload


def test_teardown_drops_exactly_the_bytes_in_flight(dma: Tango4Dma) -> None:
    """What a tear-down loses is the route's FIFO (bytes on the wire), no
    more: the read channel moved only as fast as the route took bytes."""
    m = dma.m
    m.qom_set("/machine/sbox", "bandwidth", 64_000_000)  # a burst per us
    payload = data(1024)
    loop_transfer(dma, payload)
    m.clock_step(5_000)  # 5 bursts of 64 arrived, the FIFO is full again
    in_flight = dma.sbox("bytes-in-flight")
    assert in_flight == FIFO_DEPTH
    pushed = dma.chan(READ_CH, "bytes")
    assert pushed == 320 + FIFO_DEPTH
    dma.disconnect(2)  # what the DMA driver does from its interrupt handler
    assert dma.sbox("bytes-dropped") == in_flight
    assert dma.sbox("teardowns-in-flight") == 1
    assert dma.sbox("bytes-in-flight") == 0
    m.clock_step(100_000)
    got = dst_bytes(m, 1024)
    assert got[:320] == payload[:320]
    assert got[320:] == b"\xee" * (1024 - 320)
    assert guards_intact(m, 1024)
    assert dma.sbox("bytes-moved") == 320
    # The source is not charged for more: the rest never left memory, and
    # the read channel waits for a route for it.
    assert dma.chan(READ_CH, "bytes") == pushed
    assert dma.reg(READ_CH, MCHAN_COUNT) == 1024 - pushed
    assert dma.status(READ_CH) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    # The write channel is still waiting for the rest.
    assert dma.status(WRITE_CH) & ST_BUSY
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 1024 - 320
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0


def test_reroute_also_drops_and_same_route_does_not(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 1_000)
    loop_transfer(dma, data(128))
    dma.route(2, 1)  # the same source again: not a change
    assert dma.sbox("bytes-dropped") == 0
    dma.route(2, 3)  # a new source
    assert dma.sbox("bytes-dropped") == 128
    assert dma.sbox("teardowns-in-flight") == 1


def test_latency_zero_loses_nothing(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(4000)
    loop_transfer(dma, payload)
    dma.wait_irq(READ_CH, step_ns=1)  # the read channel's interrupt
    dma.disconnect(2)  # torn down from the interrupt handler, as the driver does
    dma.settle()
    assert dst_bytes(m, 4000) == payload
    assert dma.sbox("bytes-dropped") == 0
    assert dma.sbox("teardowns-in-flight") == 0
    assert dma.sbox("bytes-moved") == 4000


def test_latency_change_applies_to_later_pushes(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 10_000)
    first = data(64, 1)
    loop_transfer(dma, first)
    m.qom_set("/machine/sbox", "latency-ns", 1_000)
    m.clock_step(1_000)
    assert dst_bytes(m, 64) == b"\xee" * 64  # still the old latency
    m.clock_step(9_000)
    assert dst_bytes(m, 64) == first
    second = data(64, 2)
    m.memwrite(SRC, second)
    dma.single(WRITE_CH, DST, 64)
    dma.single(READ_CH, SRC, 64)
    m.clock_step(999)
    assert dst_bytes(m, 64) == first
    m.clock_step(1)
    assert dst_bytes(m, 64) == second


def test_fan_out_to_two_destinations(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(500)
    prepare(m, payload)
    other = DST + 0x1_0000
    m.memset(other, 500, 0)
    dma.route(1, 1)  # port 1 -> port 1 (channel 1)
    dma.route(2, 1)  # port 1 -> port 2 (channel 3)
    dma.single(1, other, 500)
    dma.single(WRITE_CH, DST, 500)
    dma.single(READ_CH, SRC, 500)
    dma.settle()
    assert m.memread(other, 500) == payload
    assert dst_bytes(m, 500) == payload
    assert dma.sbox("bytes-moved") == 1000


@pytest.mark.parametrize(
    ("prop", "bad", "good"),
    [
        ("latency-ns", 1_000_000_001, 1_000_000_000),
        ("latency-ns", -1, 0),
        ("bandwidth", 1000, 1024),
        ("bandwidth", "fast", 0),
        ("jitter-ns", 1_000_000_001, 1_000_000_000),
        ("jitter-ns", -1, 0),
    ],
)
def test_qom_set_validates(dma: Tango4Dma, prop: str, bad: object, good: int) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", prop, 5000)
    with pytest.raises(QmpCommandError) as err:
        m.qom_set("/machine/sbox", prop, bad)
    assert prop in str(err.value) or "uint64" in str(err.value) or "type" in str(err.value)
    assert dma.sbox(prop) == 5000
    m.qom_set("/machine/sbox", prop, good)
    assert dma.sbox(prop) == good


def test_jitter_is_an_enum(dma: Tango4Dma) -> None:
    m = dma.m
    for value in ("uniform", "exponential", "none"):
        m.qom_set("/machine/sbox", "jitter", value)
        assert dma.sbox("jitter") == value
    m.qom_set("/machine/sbox", "jitter", "uniform")
    with pytest.raises(QmpCommandError):
        m.qom_set("/machine/sbox", "jitter", "gaussian")
    assert dma.sbox("jitter") == "uniform"


@pytest.mark.parametrize(
    "prop", ["bytes-moved", "bytes-dropped", "bytes-in-flight", "teardowns-in-flight", "stalls"]
)
def test_counters_are_read_only(dma: Tango4Dma, prop: str) -> None:
    with pytest.raises(QmpCommandError, match="not writable"):
        dma.m.qom_set("/machine/sbox", prop, 7)
    assert dma.sbox(prop) == 0


def test_system_reset_empties_the_box(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 50_000)
    loop_transfer(dma, data(256))
    m.qmp("system_reset")
    m.sync()
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert dma.sbox("bytes-in-flight") == 0
    assert dma.sbox("latency-ns") == 50_000  # configuration survives a reset
    m.clock_step(100_000)
    assert dst_bytes(m, 256) == b"\xee" * 256
    assert dma.status(WRITE_CH) == 0


def test_migration_mid_transfer(start_tango4: StartFn, tmp_path: Path) -> None:
    """Bytes in flight when the machine is saved still arrive after it is loaded."""
    state = tmp_path / "state.bin"
    src = start_tango4("-m", "64")
    dma = Tango4Dma(src)
    src.qom_set("/machine/sbox", "bandwidth", 64_000_000)
    src.qom_set("/machine/sbox", "latency-ns", 3_000)
    payload = data(2048)
    loop_transfer(dma, payload)
    now = src.clock_step(10_000)  # 3 us latency, then 7 bursts of 64 bytes
    assert dma.sbox("bytes-in-flight") == FIFO_DEPTH  # a full FIFO
    assert dma.reg(READ_CH, MCHAN_COUNT) == 2048 - 448 - FIFO_DEPTH
    assert src.irq_raises(dma.irq(READ_CH)) == 0, "the read channel waits for room"
    src.migrate_to_file(state)
    src.close()

    dst = start_tango4("-m", "64", "-incoming", f"file:{state}")
    dst.wait_running()
    dma = Tango4Dma(dst)
    dst.clock_set(now)  # qtest's clock is not migrated: bring it where it was
    assert dma.sbox("bytes-in-flight") == FIFO_DEPTH
    assert dma.sbox("bandwidth") == 64_000_000
    assert dst_bytes(dst, 448) == payload[:448]
    assert dst_bytes(dst, 2048)[448:] == b"\xee" * (2048 - 448)
    assert dma.status(WRITE_CH) & ST_BUSY
    assert dma.status(READ_CH) & ST_BUSY
    dst.clock_step(50_000)  # the waiting read channel goes on
    assert dst_bytes(dst, 2048) == payload
    assert guards_intact(dst, 2048)
    assert dst.irq_raises(dma.irq(READ_CH)) == 1
    assert dst.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("bytes-moved") == 2048
    assert dma.sbox("bytes-dropped") == 0


# --- the qtest client these tests rely on ------------------------------------


def test_client_reports_qemu_refusing_to_start(start_tango4_fails: Callable[..., str]) -> None:
    assert "invalid option" in start_tango4_fails("-no-such-option")


def test_client_reports_qemu_dying(tango4: QTestMachine) -> None:
    pid = tango4.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(QemuExited, match="exit status -9"):
        tango4.readl(SBOX_BASE)


def test_client_times_out_and_cleans_up(qemu_path: Path) -> None:
    machine = QTestMachine(qemu=qemu_path, timeout=1.0)
    machine.start()
    pid = machine.pid
    assert pid is not None
    try:
        os.kill(pid, signal.SIGSTOP)
        with pytest.raises(QTestTimeout, match="no qtest answer"):
            machine.readl(SBOX_BASE)
    finally:
        os.kill(pid, signal.SIGCONT)
        machine.close()
    assert not Path(f"/proc/{pid}").exists(), "QEMU is gone after close()"


def test_client_fail_replies_raise(tango4: QTestMachine) -> None:
    with pytest.raises(QTestCommandError, match="Unknown command"):
        tango4.command("no_such_command")
    assert tango4.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
