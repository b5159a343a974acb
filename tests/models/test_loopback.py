# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the tango4 sbox loopback test device on port 4
(hw-models/hw/dma/tango4_loopback.c).

Memory channel 2 (mem-to-dev, port 2) sends a buffer to port 4 through the
route "dst 4 <- src 2"; the loopback sends it back out of port 4, and
memory channel 3 (dev-to-mem, port 2) writes it to memory through the route
"dst 2 <- src 4". Every test checks the exact bytes that came back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import (
    MCHAN_COUNT,
    RAM_BASE,
    ST_BUSY,
    ST_ERROR,
    ST_LAST_DONE,
    QTestMachine,
    Tango4Dma,
)

SRC = RAM_BASE + 0x10_0000
DST = RAM_BASE + 0x20_0000
TX_CH, RX_CH = 2, 3  # memory channel pair 1, sbox port 2
PAIR_PORT, LOOP_PORT = 2, 4
LOOPBACK = "/machine/loopback"
FIFO = 8192
BOX_FIFO = 512  # the box's default fifo-depth


def data(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def loop(m: QTestMachine, prop: str) -> int:
    value = m.qom_get(LOOPBACK, prop)
    assert isinstance(value, int)
    return value


def send(dma: Tango4Dma, payload: bytes) -> None:
    dma.m.memwrite(SRC, payload)
    dma.route(LOOP_PORT, PAIR_PORT)
    dma.single(TX_CH, SRC, len(payload))


@pytest.mark.parametrize(
    ("machine", "present"), [("tango4", False), ("tango4,sbox-loopback=on", True)]
)
def test_the_loopback_is_opt_in(qemu_path: Path, machine: str, present: bool) -> None:
    """A test device, not a block of the SoC: the plain machine has none."""
    with QTestMachine(["-m", "64"], machine=machine, qemu=qemu_path) as m:
        children = {p["name"] for p in m.qmp("qom-list", path="/machine")}
        assert ("loopback" in children) == present
        assert m.qom_get("/machine", "sbox-loopback") is present


def test_defaults(tango4: QTestMachine) -> None:
    assert tango4.qom_get(LOOPBACK, "port") == LOOP_PORT
    assert loop(tango4, "bytes") == 0
    with pytest.raises(QmpCommandError, match="not found"):
        loop(tango4, "bytes-dropped")  # it loses nothing: it waits


def test_round_trip_through_the_sbox(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(5000)
    m.memset(DST, 0x2000, 0xEE)
    dma.route(PAIR_PORT, LOOP_PORT)
    dma.single(RX_CH, DST, len(payload))
    send(dma, payload)
    m.clock_step(10_000)
    assert m.memread(DST, 0x2000) == payload + b"\xee" * (0x2000 - len(payload))
    assert dma.status(RX_CH) == ST_LAST_DONE | 0x3
    assert dma.chan(RX_CH, "bytes") == len(payload)
    assert loop(m, "bytes") == len(payload)
    assert dma.sbox("bytes-dropped") == 0


def test_bytes_wait_for_a_route_out(dma: Tango4Dma) -> None:
    """As a DMA driver with one transfer at a time does it: the transfer to
    the port ends (and its route goes) before the one back from it starts."""
    m = dma.m
    payload = data(3000, 2)
    m.memset(DST, 0x1000, 0xEE)
    send(dma, payload)
    m.clock_step(5_000_000)  # 5 ms with nothing taking bytes from port 4
    dma.disconnect(LOOP_PORT)
    assert dma.status(TX_CH) == ST_LAST_DONE | 0x3
    assert loop(m, "bytes") == 0
    assert dma.sbox("bytes-dropped") == 0
    assert m.memread(DST, 0x1000) == b"\xee" * 0x1000

    dma.route(PAIR_PORT, LOOP_PORT)
    dma.single(RX_CH, DST, len(payload))
    m.clock_step(2_000_000)  # the loopback looks for a route at least every ms
    assert m.memread(DST, 0x1000) == payload + b"\xee" * (0x1000 - len(payload))
    assert dma.status(RX_CH) == ST_LAST_DONE | 0x3
    assert loop(m, "bytes") == len(payload)


def test_round_trip_with_latency(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 50_000)
    payload = data(4096, 3)
    m.memset(DST, 0x1000, 0xEE)
    dma.route(PAIR_PORT, LOOP_PORT)
    dma.single(RX_CH, DST, len(payload))
    send(dma, payload)
    m.clock_step(20_000)
    assert loop(m, "bytes") == 0, "the bytes are still in flight to port 4"
    m.clock_step(1_000_000)
    assert m.memread(DST, 0x1000) == payload
    assert dma.status(RX_CH) == ST_LAST_DONE | 0x3


def test_full_fifo_stalls_the_sender(dma: Tango4Dma) -> None:
    """More than the loopback's FIFO with no route out: its FIFO fills, the
    box's FIFO to it fills, the sending channel waits; nothing is lost."""
    m = dma.m
    first, second = data(6000, 4), data(4000, 5)
    send(dma, first)
    m.clock_step(10_000)
    assert dma.status(TX_CH) == ST_LAST_DONE | 0x3
    m.memwrite(SRC + 0x4000, second)
    dma.single(TX_CH, SRC + 0x4000, len(second))
    m.clock_step(1_000_000)
    total = len(first) + len(second)
    # The box's FIFO is full: 8 bursts, the first of them in part taken.
    in_flight = dma.sbox("bytes-in-flight")
    assert in_flight == BOX_FIFO - (FIFO - len(first)) % 64
    assert dma.status(TX_CH) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert dma.reg(TX_CH, MCHAN_COUNT) == total - FIFO - in_flight
    assert m.irq_raises(dma.irq(TX_CH)) == 1, "only the first transfer's"
    assert loop(m, "bytes") == 0

    # A route out, and a transfer back in two buffers (13-bit counts).
    m.memset(DST, 0x3000, 0xEE)
    dma.route(PAIR_PORT, LOOP_PORT)
    dma.double(RX_CH, DST, 5000, DST + 5000, 5000)
    m.clock_step(1_000_000)
    assert m.memread(DST, 0x3000) == first + second + b"\xee" * (0x3000 - total)
    assert dma.status(RX_CH) == ST_LAST_DONE | 0x5
    assert m.irq_raises(dma.irq(TX_CH)) == 2
    assert loop(m, "bytes") == total
    assert dma.sbox("bytes-dropped") == 0
    assert dma.sbox("bytes-in-flight") == 0


def test_route_to_itself_holds_the_bytes(dma: Tango4Dma) -> None:
    """Routed to itself, the loopback takes nothing back in: the bytes wait
    in the box (they do not go round for ever) until the route changes."""
    m = dma.m
    send(dma, data(100, 6))
    m.clock_step(10_000)
    dma.route(LOOP_PORT, LOOP_PORT)  # what goes out of port 4 comes back in
    m.clock_step(2_000_000)
    assert loop(m, "bytes") == 100
    assert dma.sbox("bytes-in-flight") == 100
    assert dma.sbox("bytes-moved") == 100, "only the way in"
    assert dma.sbox("bytes-dropped") == 0
    assert "routed to itself" in m.guest_log()
    dma.disconnect(LOOP_PORT)  # a route change with bytes in flight: lost
    assert dma.sbox("bytes-dropped") == 100
    assert dma.sbox("teardowns-in-flight") == 1


def test_system_reset_empties_the_fifo(dma: Tango4Dma) -> None:
    m = dma.m
    send(dma, data(1000, 7))
    m.clock_step(10_000)
    m.qmp("system_reset")
    m.clock_step(10_000)
    dma.route(PAIR_PORT, LOOP_PORT)
    m.clock_step(2_000_000)
    assert loop(m, "bytes") == 0
    assert dma.sbox("bytes-moved") == 1000  # only the way in


def test_migration_keeps_the_waiting_bytes(
    start_tango4: Callable[..., QTestMachine], tmp_path: Path
) -> None:
    """Bytes waiting in the FIFO, and the wait for a route, survive save/load."""
    state = tmp_path / "state.bin"
    src = start_tango4("-m", "64")
    dma = Tango4Dma(src)
    payload = data(2500, 8)
    send(dma, payload)
    now = src.clock_step(3_000_000)
    dma.disconnect(LOOP_PORT)
    src.migrate_to_file(state)
    src.close()

    dst = start_tango4("-m", "64", "-incoming", f"file:{state}")
    dst.wait_running()
    dst.clock_set(now)  # qtest's clock is not migrated: bring it where it was
    dma = Tango4Dma(dst)
    dst.memset(DST, 0x1000, 0xEE)
    dma.route(PAIR_PORT, LOOP_PORT)
    dma.single(RX_CH, DST, len(payload))
    dst.clock_step(2_000_000)
    assert dst.memread(DST, 0x1000) == payload + b"\xee" * (0x1000 - len(payload))
    assert loop(dst, "bytes") == len(payload)
