# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the tango4 memory channels (hw-models/hw/dma/tango4_mchan.c).

Transfers loop guest memory through the switch box: channel 0 reads (port 1),
channel 3 writes (port 2), route "dst 2 <- src 1". Every test checks the
exact bytes at the destination and that nothing around it was touched.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import (
    MCHAN_ADDR,
    MCHAN_ADDR2,
    MCHAN_CMD,
    MCHAN_COUNT,
    RAM_BASE,
    SBOX_BASE,
    SBOX_ROUTE,
    ST_BUSY,
    ST_ERROR,
    ST_LAST_DONE,
    ST_REFUSED,
    ST_STOPPED,
    QTestMachine,
    Tango4Dma,
)

SRC = RAM_BASE + 0x10_0000
DST = RAM_BASE + 0x20_0000
AREA = 0x1_0000  # destination area checked byte for byte
READ_CH, WRITE_CH = 0, 3


def data(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def fill(m: QTestMachine) -> None:
    m.memset(DST - 0x100, AREA + 0x200, 0xEE)


def area(m: QTestMachine) -> bytearray:
    """The destination area with its 256-byte guards."""
    return bytearray(m.memread(DST - 0x100, AREA + 0x200))


def expect(m: QTestMachine, writes: list[tuple[int, bytes]]) -> None:
    """The destination area is 0xee except for `writes` (address, bytes)."""
    want = bytearray(b"\xee" * (AREA + 0x200))
    for addr, chunk in writes:
        off = addr - (DST - 0x100)
        want[off : off + len(chunk)] = chunk
    got = area(m)
    assert got == want, f"first difference at offset {_first_diff(got, want):#x}"


def _first_diff(a: bytes | bytearray, b: bytes | bytearray) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), -1)


def test_reset_values(dma: Tango4Dma) -> None:
    for ch in range(4):
        for off in (MCHAN_ADDR, MCHAN_COUNT, MCHAN_ADDR2, MCHAN_CMD):
            assert dma.reg(ch, off) == 0
        for prop in ("irq-delay-ns", "bytes", "transfers", "errors", "refused", "stops"):
            assert dma.chan(ch, prop) == 0
        assert dma.chan(ch, "port") == 1 + ch // 2
        assert dma.chan(ch, "mem-to-dev") is (ch % 2 == 0)


def test_single_transfer(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(1000)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 1000)
    assert dma.status(WRITE_CH) == ST_BUSY | 0x3
    dma.single(READ_CH, SRC, 1000)
    dma.settle()
    expect(m, [(DST, payload)])
    for ch, start in ((READ_CH, SRC), (WRITE_CH, DST)):
        assert dma.status(ch) == ST_LAST_DONE | 0x3
        assert dma.reg(ch, MCHAN_ADDR) == start + 1000
        assert dma.reg(ch, MCHAN_COUNT) == 0
        assert m.irq_raises(dma.irq(ch)) == 1
        assert not m.get_irq(dma.irq(ch)), "the interrupt is a pulse"
        assert dma.chan(ch, "bytes") == 1000
        assert dma.chan(ch, "transfers") == 1


def test_interrupt_is_not_raised_inside_the_cmd_write(dma: Tango4Dma) -> None:
    """The pulse comes from a timer after the CMD write has returned."""
    m = dma.m
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 16)
    dma.single(READ_CH, SRC, 16)  # deliveries and pulses come from timers
    assert m.irq_events == []
    dma.settle()
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1


def test_not_last_leaves_last_done_clear(dma: Tango4Dma) -> None:
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 16, last=False)
    dma.single(READ_CH, SRC, 16, last=False)
    dma.settle()
    assert dma.status(READ_CH) == 0x2
    assert dma.status(WRITE_CH) == 0x2


def test_largest_single_transfer(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(8191, 5)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 8191)
    dma.single(READ_CH, SRC, 8191)
    dma.settle()
    expect(m, [(DST, payload)])


def test_double_transfers(dma: Tango4Dma) -> None:
    """Read two buffers (300 + 500) into two others split differently (600 + 200)."""
    m = dma.m
    a, b = data(300, 1), data(500, 2)
    m.memwrite(SRC, a)
    m.memwrite(SRC + 0x8000, b)
    fill(m)
    dma.route(2, 1)
    dma.double(WRITE_CH, DST + 0x4000, 600, DST, 200)
    dma.double(READ_CH, SRC, 300, SRC + 0x8000, 500)
    m.clock_step(1)
    stream = a + b
    expect(m, [(DST + 0x4000, stream[:600]), (DST, stream[600:])])
    assert dma.reg(WRITE_CH, MCHAN_ADDR) == DST + 200
    assert dma.reg(READ_CH, MCHAN_ADDR) == SRC + 0x8000 + 500
    assert dma.reg(READ_CH, MCHAN_ADDR2) == SRC + 0x8000
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1


def test_double_with_empty_second_buffer(dma: Tango4Dma) -> None:
    m = dma.m
    payload = data(64)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 64)
    dma.double(READ_CH, SRC, 64, 0, 0)  # ADDR2 0 is never used
    dma.settle()
    expect(m, [(DST, payload)])
    assert dma.status(READ_CH) & ST_ERROR == 0


def test_rectangle_gather_and_scatter(dma: Tango4Dma) -> None:
    """Gather 10 lines of 100 bytes (stride 256) into lines of 100 with stride 160."""
    m = dma.m
    lines = [data(100, 10 + i) for i in range(10)]
    for i, line in enumerate(lines):
        m.memwrite(SRC + i * 256, line)
    fill(m)
    dma.route(2, 1)
    dma.rect(WRITE_CH, DST, 100, 10, 160)
    dma.rect(READ_CH, SRC, 100, 10, 256)
    dma.settle()
    expect(m, [(DST + i * 160, line) for i, line in enumerate(lines)])
    assert dma.chan(READ_CH, "bytes") == 1000
    # and the same rectangle into one contiguous buffer
    fill(m)
    dma.single(WRITE_CH, DST, 1000)
    dma.rect(READ_CH, SRC, 100, 10, 256)
    dma.settle()
    expect(m, [(DST, b"".join(lines))])


def test_irq_delay(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/mchan0", "irq-delay-ns", 5_000)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 32)
    dma.single(READ_CH, SRC, 32)
    dma.settle()
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    assert dma.status(READ_CH) & ST_BUSY
    assert dma.reg(READ_CH, MCHAN_COUNT) == 0, "memory side done, interrupt pending"
    m.clock_step(4_998)
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    m.clock_step(1)
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert dma.status(READ_CH) & ST_BUSY == 0


@pytest.mark.parametrize("bad", [1_000_000_001, -5, "soon"])
def test_irq_delay_validated(dma: Tango4Dma, bad: object) -> None:
    m = dma.m
    m.qom_set("/machine/mchan1", "irq-delay-ns", 700)
    with pytest.raises(QmpCommandError):
        m.qom_set("/machine/mchan1", "irq-delay-ns", bad)
    assert dma.chan(1, "irq-delay-ns") == 700


@pytest.mark.parametrize("prop", ["bytes", "transfers", "errors", "refused", "stops"])
def test_counters_read_only(dma: Tango4Dma, prop: str) -> None:
    with pytest.raises(QmpCommandError, match="not writable"):
        dma.m.qom_set("/machine/mchan2", prop, 1)


def test_bytes_dropped_is_gone(dma: Tango4Dma) -> None:
    """A channel loses nothing: only the switch box counts lost bytes."""
    with pytest.raises(QmpCommandError, match="not found"):
        dma.chan(WRITE_CH, "bytes-dropped")


def test_interrupt_before_delivery_with_latency(dma: Tango4Dma) -> None:
    """The read channel's interrupt means "the last byte entered the route",
    not "arrived": it moves a FIFO (512 bytes) per latency, and at its
    interrupt the last 464 bytes are still in flight."""
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 20_000)
    payload = data(2000)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 2000)
    dma.single(READ_CH, SRC, 2000)
    dma.settle()
    assert dma.reg(READ_CH, MCHAN_COUNT) == 2000 - 512
    assert dma.sbox("bytes-in-flight") == 512
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    assert dma.wait_irq(READ_CH) == 60_000  # 3 latencies: 512 + 512 + 512 + 464
    assert dma.sbox("bytes-in-flight") == 2000 - 3 * 512
    assert dma.reg(READ_CH, MCHAN_COUNT) == 0
    expect(m, [(DST, payload[: 3 * 512])])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0
    m.clock_step(20_000)
    expect(m, [(DST, payload)])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1


def test_write_channel_fifo(dma: Tango4Dma) -> None:
    """Bytes that arrive before the write command wait, then feed the commands."""
    m = dma.m
    payload = data(150)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(READ_CH, SRC, 150)
    dma.settle()
    expect(m, [])
    assert dma.sbox("bytes-in-flight") == 150, "the bytes wait in the box"
    dma.single(WRITE_CH, DST, 100)
    dma.settle()
    expect(m, [(DST, payload[:100])])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("bytes-in-flight") == 50
    dma.single(WRITE_CH, DST + 0x1000, 50)
    dma.settle()
    expect(m, [(DST, payload[:100]), (DST + 0x1000, payload[100:])])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 2
    assert dma.sbox("bytes-dropped") == 0


def test_idle_write_channel_stalls_the_route(dma: Tango4Dma) -> None:
    """More than a FIFO for an idle write channel: the read channel stalls
    (no 4 KiB holding FIFO, nothing dropped) and goes on as commands come."""
    m = dma.m
    payload = data(5000)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(READ_CH, SRC, 5000)
    m.clock_step(100_000)
    assert dma.sbox("bytes-in-flight") == 512
    assert dma.reg(READ_CH, MCHAN_COUNT) == 5000 - 512
    assert dma.status(READ_CH) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    assert dma.sbox("stalls") >= 1
    expect(m, [])
    dma.single(WRITE_CH, DST, 4096)
    dma.settle()
    expect(m, [(DST, payload[:4096])])
    assert dma.sbox("bytes-in-flight") == 512
    assert dma.reg(READ_CH, MCHAN_COUNT) == 5000 - 4096 - 512
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    dma.single(WRITE_CH, DST + 0x2000, 904)
    dma.settle()
    expect(m, [(DST, payload[:4096]), (DST + 0x2000, payload[4096:])])
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 2
    assert dma.sbox("bytes-dropped") == 0
    assert dma.sbox("bytes-moved") == 5000


def test_large_rectangle_is_paced_by_the_box(dma: Tango4Dma) -> None:
    """A read channel is never more than a FIFO ahead of the deliveries."""
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 10_000)
    width, lines = 8000, 12  # 96000 bytes, far more than the box holds
    payload = data(width * lines, 9)
    m.memwrite(SRC, payload)
    dma.route(2, 1)
    dma.rect(WRITE_CH, DST, width, lines, width)
    dma.rect(READ_CH, SRC, width, lines, width)
    for _ in range(5):
        m.clock_step(10_000)  # a FIFO arrives per latency, the next is pushed
        assert dma.sbox("bytes-in-flight") == 512
        assert dma.status(READ_CH) & ST_BUSY
    assert m.memread(DST, 5 * 512) == payload[: 5 * 512]
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    at = dma.wait_irq(READ_CH, step_ns=10_000)
    assert at == 10_000 * (width * lines // 512)  # 187 latencies, then 256 bytes
    assert dma.sbox("bytes-in-flight") == width * lines % 512
    m.clock_step(10_000)
    assert m.memread(DST, width * lines) == payload
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.sbox("bytes-dropped") == 0


def test_byte_access_is_refused(dma: Tango4Dma) -> None:
    m = dma.m
    m.writeb(dma.base(0) + MCHAN_ADDR, 0x55)
    assert dma.reg(0, MCHAN_ADDR) == 0


# --- guest mistakes: ERROR, a log line, nothing moved, one pulse, QEMU alive ---

RAM_END = RAM_BASE + 128 * 1024 * 1024

Setup = Callable[[Tango4Dma], None]


def _cmd(ch: int, addr: int, count: int, addr2: int, cmd: int) -> Setup:
    def setup(dma: Tango4Dma) -> None:
        base = dma.base(ch)
        dma.m.writel(base + MCHAN_ADDR, addr)
        dma.m.writel(base + MCHAN_COUNT, count)
        dma.m.writel(base + MCHAN_ADDR2, addr2)
        dma.m.writel(base + MCHAN_CMD, cmd)

    return setup


MISTAKES: list[tuple[str, int, Setup, str]] = [
    ("count-0", READ_CH, _cmd(READ_CH, SRC, 0, 0, 0x3), "COUNT 0"),
    ("single-8192", READ_CH, _cmd(READ_CH, SRC, 8192, 0, 0x3), "beyond the 13-bit limit"),
    ("write-count-0", WRITE_CH, _cmd(WRITE_CH, DST, 0, 0, 0x3), "COUNT 0"),
    ("double-len0-0", READ_CH, _cmd(READ_CH, SRC, 5 << 16, SRC, 0x5), "first buffer of 0"),
    ("double-len1-8192", READ_CH, _cmd(READ_CH, SRC, 1 | 8192 << 16, SRC, 0x5), "13-bit"),
    ("rect-lines-0", READ_CH, _cmd(READ_CH, SRC, 16, 16, 0x7), "with no bytes"),
    ("rect-lines-16384", WRITE_CH, _cmd(WRITE_CH, DST, 1 | 16384 << 16, 1, 0x7), "limits"),
    ("rect-width-8192", READ_CH, _cmd(READ_CH, SRC, 8192 | 1 << 16, 0, 0x7), "limits"),
    ("mode-0", READ_CH, _cmd(READ_CH, SRC, 16, 0, 0x1), "bad mode 0"),
    ("mode-4", WRITE_CH, _cmd(WRITE_CH, DST, 16, 0, 0x9), "bad mode 4"),
    ("reserved-bits", READ_CH, _cmd(READ_CH, SRC, 16, 0, 0x13), "reserved bits"),
    ("not-ram", READ_CH, _cmd(READ_CH, 0x1000, 16, 0, 0x3), "not entirely in RAM"),
    ("mmio", WRITE_CH, _cmd(WRITE_CH, SBOX_BASE, 16, 0, 0x3), "not entirely in writable RAM"),
    ("past-ram-end", WRITE_CH, _cmd(WRITE_CH, RAM_END - 8, 16, 0, 0x3), "not entirely"),
    ("double-2nd-not-ram", READ_CH, _cmd(READ_CH, SRC, 8 | 8 << 16, 0x100, 0x5), "buffer 1"),
    ("rect-line-not-ram", WRITE_CH, _cmd(WRITE_CH, DST, 8 | 3 << 16, 0x4000_0000, 0x7), "line 1"),
    ("addr-wraps", READ_CH, _cmd(READ_CH, 0xFFFF_FFF8, 16, 0, 0x3), "not entirely in RAM"),
]


@pytest.mark.parametrize(
    ("ch", "setup", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_guest_mistakes(start_tango4: Callable[..., QTestMachine], ch: int, setup: Setup,
                        message: str) -> None:  # fmt: skip
    m = start_tango4("-m", "128")
    dma = Tango4Dma(m)
    m.memwrite(SRC, data(64))
    fill(m)
    dma.route(2, 1)
    setup(dma)
    dma.settle()
    status = dma.status(ch)
    assert status & ST_ERROR
    assert status & ST_BUSY == 0
    assert m.irq_raises(dma.irq(ch)) == 1, "the interrupt still comes"
    assert dma.chan(ch, "errors") == 1
    assert dma.chan(ch, "bytes") == 0
    assert dma.chan(ch, "transfers") == 0
    assert dma.sbox("bytes-moved") == 0
    assert message in m.guest_log()
    expect(m, [])
    # QEMU still answers and the channel works afterwards
    payload = data(48, 7)
    m.memwrite(SRC, payload)
    dma.single(WRITE_CH, DST, 48)
    dma.single(READ_CH, SRC, 48)
    dma.settle()
    expect(m, [(DST, payload)])
    assert dma.status(ch) & ST_ERROR == 0, "a good command clears ERROR"


@pytest.mark.parametrize("ch", [READ_CH, WRITE_CH])
def test_no_route_waits(dma: Tango4Dma, ch: int) -> None:
    """A channel without a route waits (no error, no interrupt) and
    completes once the route appears."""
    m = dma.m
    payload = data(16)
    m.memwrite(SRC, payload)
    fill(m)
    dma.single(ch, SRC if ch == READ_CH else DST, 16)
    m.clock_step(1_000_000)
    assert dma.status(ch) & (ST_BUSY | ST_ERROR) == ST_BUSY
    assert dma.reg(ch, MCHAN_COUNT) == 16
    assert m.irq_raises(dma.irq(ch)) == 0
    assert dma.chan(ch, "errors") == 0
    other = WRITE_CH if ch == READ_CH else READ_CH
    dma.single(other, DST if ch == READ_CH else SRC, 16)
    m.clock_step(1_000)
    assert m.irq_raises(dma.irq(ch)) == 0, "still no route"
    dma.route(2, 1)
    dma.settle()
    expect(m, [(DST, payload)])
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.status(ch) == ST_LAST_DONE | 0x3
    assert dma.sbox("bytes-dropped") == 0


def test_stray_write_while_busy_is_refused(dma: Tango4Dma) -> None:
    """Register writes to a busy channel are refused: REFUSED, not ERROR,
    and the running transfer completes unharmed."""
    m = dma.m
    payload = data(64)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 64)  # waits for bytes: stays busy
    dma.settle()
    dma.single(WRITE_CH, DST + 0x1000, 8)  # ADDR/COUNT/ADDR2/CMD while busy
    dma.settle()
    assert "ADDR write 0x80201000 while busy: refused" in m.guest_log()
    assert "CMD write 0x3 while busy: refused" in m.guest_log()
    status = dma.status(WRITE_CH)
    assert status & (ST_REFUSED | ST_ERROR | ST_BUSY) == ST_REFUSED | ST_BUSY
    assert dma.reg(WRITE_CH, MCHAN_ADDR) == DST
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 64
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0, "no extra pulse"
    dma.single(READ_CH, SRC, 64)
    dma.settle()
    expect(m, [(DST, payload)])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert dma.status(WRITE_CH) == ST_REFUSED | ST_LAST_DONE | 0x3
    assert dma.chan(WRITE_CH, "transfers") == 1
    assert dma.chan(WRITE_CH, "errors") == 0
    assert dma.chan(WRITE_CH, "refused") == 4  # ADDR, COUNT, ADDR2, CMD
    # the next accepted command clears REFUSED
    dma.single(WRITE_CH, DST, 8)
    assert dma.status(WRITE_CH) == ST_BUSY | 0x3


def test_stop_read_channel_mid_transfer(dma: Tango4Dma) -> None:
    """STOP ends a read channel where it is: no interrupt, COUNT = the bytes
    not moved, what it pushed stays in flight; the channel is free at once."""
    m = dma.m
    m.qom_set("/machine/sbox", "latency-ns", 10_000)
    payload = data(2000)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 2000)
    dma.single(READ_CH, SRC, 2000)
    m.clock_step(15_000)  # one FIFO arrived, a second one pushed
    assert dma.chan(READ_CH, "bytes") == 1024
    dma.stop(READ_CH)
    status = dma.status(READ_CH)
    assert status & (ST_BUSY | ST_STOPPED | ST_ERROR | ST_LAST_DONE) == ST_STOPPED
    assert dma.reg(READ_CH, MCHAN_COUNT) == 2000 - 1024
    assert dma.chan(READ_CH, "stops") == 1
    m.clock_step(100_000)
    assert m.irq_raises(dma.irq(READ_CH)) == 0, "STOP raises no interrupt"
    assert dma.chan(READ_CH, "bytes") == 1024, "nothing pushed after STOP"
    assert dma.chan(READ_CH, "transfers") == 0
    expect(m, [(DST, payload[:1024])])
    assert dma.sbox("bytes-dropped") == 0
    # STOP on an idle channel does nothing; a new command works
    dma.stop(READ_CH)
    assert dma.chan(READ_CH, "stops") == 1
    dma.single(READ_CH, SRC + 1024, 2000 - 1024)
    assert dma.status(READ_CH) & (ST_STOPPED | ST_BUSY) == ST_BUSY
    m.clock_step(100_000)
    expect(m, [(DST, payload)])
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1


def test_stop_write_channel(dma: Tango4Dma) -> None:
    """A stopped write channel takes no more bytes: they wait in the box
    for the next command."""
    m = dma.m
    m.qom_set("/machine/sbox", "bandwidth", 64_000_000)  # a burst per us
    payload = data(1024)
    m.memwrite(SRC, payload)
    fill(m)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 1024)
    dma.single(READ_CH, SRC, 1024)
    m.clock_step(3_000)
    dma.stop(WRITE_CH)
    assert dma.status(WRITE_CH) & (ST_BUSY | ST_STOPPED) == ST_STOPPED
    assert dma.reg(WRITE_CH, MCHAN_COUNT) == 1024 - 192
    m.clock_step(100_000)
    expect(m, [(DST, payload[:192])])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 0
    assert dma.sbox("bytes-in-flight") == 512, "the rest waits in the box"
    assert dma.reg(READ_CH, MCHAN_COUNT) == 1024 - 192 - 512
    dma.single(WRITE_CH, DST + 0x2000, 1024 - 192)
    m.clock_step(100_000)
    expect(m, [(DST, payload[:192]), (DST + 0x2000, payload[192:])])
    assert m.irq_raises(dma.irq(WRITE_CH)) == 1
    assert m.irq_raises(dma.irq(READ_CH)) == 1
    assert dma.sbox("bytes-dropped") == 0


def test_stop_cancels_a_pending_interrupt(dma: Tango4Dma) -> None:
    m = dma.m
    m.qom_set("/machine/mchan0", "irq-delay-ns", 5_000)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 32)
    dma.single(READ_CH, SRC, 32)
    m.clock_step(1_000)
    assert dma.status(READ_CH) & ST_BUSY
    dma.stop(READ_CH)
    m.clock_step(10_000)
    assert m.irq_raises(dma.irq(READ_CH)) == 0
    assert dma.status(READ_CH) & (ST_BUSY | ST_STOPPED | ST_LAST_DONE) == ST_STOPPED
    assert dma.reg(READ_CH, MCHAN_COUNT) == 0


def test_system_reset_stops_channels(dma: Tango4Dma) -> None:
    m = dma.m
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 64)
    m.qmp("system_reset")
    m.sync()
    assert dma.status(WRITE_CH) == 0
    assert dma.reg(WRITE_CH, MCHAN_ADDR) == 0
    assert m.readl(SBOX_BASE + SBOX_ROUTE) == 0xFFFF_FFFF
    assert dma.chan(WRITE_CH, "transfers") == 0


def test_channels_move_data_through_their_own_address_space(dma: Tango4Dma) -> None:
    """Each channel reads and writes through a "dma" memory-region link (the
    board gives it the system memory) and an address space of its own."""
    mtree = dma.m.qmp("human-monitor-command", **{"command-line": "info mtree"})
    assert mtree.count("address-space: tango4-mchan-dma") == 4
    for n in range(4):
        assert dma.m.qom_get(f"/machine/mchan{n}", "dma")
