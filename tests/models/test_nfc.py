# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the tango4 NAND flash controller (hw-models/hw/block/tango4_nfc.c).

Pages go through the NFC in NFC mode with their data moved by DMA, the way
the Linux driver does it: memory channel 0 (mem-to-dev, sbox port 1) routed
to the NFC (port 3) for programs, the NFC routed to memory channel 1
(dev-to-mem, port 1) for reads. The physical page is checked raw through
the PBUS and in the image file, its ECC with Python bchlib as the oracle.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from test_onfi_nand import (
    GUEST_ERRORS,
    NAND,
    PAGE_SIZE,
    PAGE_TOTAL,
    PAGES_PER_BLOCK,
    STATUS_FAIL,
    Qt,
    RawNand,
    StartFn,
    drive,
    make_image,
    pattern,
)

try:
    import bchlib
except ImportError:
    pytest.skip("pip install bchlib (the ECC oracle)", allow_module_level=True)


# conftest's start_tango4 / tango4: log guest errors, no GIC interception
TANGO4_ARGS = GUEST_ERRORS
TANGO4_INTERCEPT_GIC = False


NFC = 0x0002_C000
STATUS = NFC + 0x00
FLASH_CMD = NFC + 0x04
XFER_CFG = NFC + 0x14
PKT_0_CFG = NFC + 0x18
PKT_N_CFG = NFC + 0x1C
BB_CFG = NFC + 0x20
ADDR_PAGE = NFC + 0x24
ADDR_OFFSET = NFC + 0x28
XFER_STATUS = NFC + 0x2C
CMD_READY = 1 << 31
REFUSED = 1 << 30
ABORTED = 1 << 29
FIFO_LEVEL = 0x1FFF
ABORT = 1 << 31
PAGE_IS_EMPTY = 1 << 16
SBOX_PATH = "/machine/sbox"
NFC_PATH = "/machine/nfc"
BOX_FIFO = 512  # the box's default fifo-depth

NFC_MEM = 0x0002_D000
METADATA = NFC_MEM + 0x000
ERROR_REPORT = NFC_MEM + 0x1C0

PBUS = 0x0002_0000
PAD_MODE = PBUS + 0x8F0
MODE_NFC = 1 << 31

SBOX = 0x0004_0000
ROUTE = SBOX + 0x8
MCHAN = 0x0004_0100


def mchan(n: int) -> int:
    return MCHAN + n * 0x40


DRAM = 0x8000_0000
SRC_BUF = DRAM + 0x10_0000
DST_BUF = DRAM + 0x20_0000

NFC_PORT = 3
CHAN_PORT = 1  # memory channel pair 0: channel 0 sources, channel 1 takes

# The Linux driver's configuration for a 2048+64 chip, 2 steps of 1024 bytes
STEP = 1024
STRENGTH = 14
META = 4
BBM = 6
ECC_BYTES = (15 * STRENGTH + 7) // 8


def xfer_cfg(cs: int = 0, steps: int = 2, meta: int = META, pages: int = 1) -> int:
    return cs << 24 | pages << 16 | steps << 8 | meta


def pkt_cfg(size: int, strength: int) -> int:
    return size << 16 | strength


def expected_page(meta: bytes, data: bytes, strength: int = STRENGTH, step: int = STEP) -> bytes:
    """The physical page M | PKT_0 | ECC_0 | N1 | BBM | N2 | ECC_1, computed with bchlib."""
    bch = bchlib.BCH(strength, prim_poly=0x8003)
    logical = bytearray()
    packets = [meta + data[:step]] + [data[i : i + step] for i in range(step, len(data), step)]
    for packet in packets:
        logical += packet + bch.encode(bytes(packet))
    phys = logical[:PAGE_SIZE] + b"\xff" * BBM + logical[PAGE_SIZE:]
    return bytes(phys + b"\xff" * (PAGE_TOTAL - len(phys)))


class Nfc:
    """The NFC with the Linux driver's layout, and the DMA plumbing around it."""

    def __init__(self, qt: Qt, cs: int = 0) -> None:
        self.qt = qt
        qt.writel(XFER_CFG, xfer_cfg(cs))
        qt.writel(PKT_0_CFG, pkt_cfg(STEP + META, STRENGTH))
        qt.writel(PKT_N_CFG, pkt_cfg(STEP, STRENGTH))
        qt.writel(BB_CFG, PAGE_SIZE << 16 | BBM)

    def ready(self) -> bool:
        return bool(self.qt.readl(STATUS) & CMD_READY)

    def status(self) -> int:
        return self.qt.readl(STATUS)

    def abort(self) -> None:
        self.qt.writel(FLASH_CMD, ABORT)

    def stop_dma(self, ch: int) -> None:
        """The DMA driver's terminate: CMD STOP on a memory channel."""
        self.qt.writel(mchan(ch) + 0xC, 0x10)

    def dma_count(self, ch: int) -> int:
        """COUNT of a memory channel: the bytes it has not moved."""
        return self.qt.readl(mchan(ch) + 0x4)

    def wait_ready(self, limit_ns: int = 5_000_000, step_ns: int = 5_000) -> int:
        waited = 0
        while not self.ready():
            assert waited < limit_ns, f"CMD_READY still low after {waited} ns"
            self.qt.clock_step(step_ns)
            waited += step_ns
        return waited

    def route(self, dst: int, src: int) -> None:
        """Set one route; the other nibbles are 0 = unchanged."""
        self.qt.writel(ROUTE, src << ((dst - 1) * 4))

    def dma_to_nfc(self, data: bytes, addr: int = SRC_BUF) -> None:
        self.qt.memwrite(addr, data)
        self.qt.writel(mchan(0) + 0x0, addr)
        self.qt.writel(mchan(0) + 0x4, len(data))
        self.qt.writel(mchan(0) + 0xC, 1 << 1 | 1)  # single, last

    def dma_from_nfc(self, size: int, addr: int = DST_BUF) -> None:
        self.qt.writel(mchan(1) + 0x0, addr)
        self.qt.writel(mchan(1) + 0x4, size)
        self.qt.writel(mchan(1) + 0xC, 1 << 1 | 1)

    def start(self, cmd: int, page: int) -> None:
        self.qt.writel(PAD_MODE, MODE_NFC)
        self.qt.writel(ADDR_PAGE, page)
        self.qt.writel(ADDR_OFFSET, 0)
        self.qt.writel(FLASH_CMD, cmd)

    def program(self, page: int, data: bytes, meta: bytes = b"\xff" * META) -> None:
        self.qt.memwrite(METADATA, meta)
        self.route(NFC_PORT, CHAN_PORT)
        self.start(2, page)
        assert not self.ready()
        self.dma_to_nfc(data)
        self.wait_ready()
        self.qt.writel(PAD_MODE, 0)

    def read(self, page: int) -> bytes:
        self.route(CHAN_PORT, NFC_PORT)
        self.qt.memwrite(DST_BUF, b"\x5a" * PAGE_SIZE)
        self.dma_from_nfc(PAGE_SIZE)
        self.start(1, page)
        assert not self.ready()
        self.wait_ready()
        self.qt.writel(PAD_MODE, 0)
        for _ in range(1000):  # let the bytes reach memory
            if not self.dma_count(1):
                break
            self.qt.clock_step(1_000)
        return self.qt.memread(DST_BUF, PAGE_SIZE)

    def report(self) -> tuple[int, bool, int, bool]:
        """ERROR_REPORT: (count0, ok0, count_n, ok_n)."""
        r = self.qt.readl(ERROR_REPORT)
        return r & 0x3F, bool(r & 0x80), (r >> 8) & 0x3F, bool(r & 0x8000)


def raw_page(qt: Qt, page: int) -> bytes:
    qt.writel(PAD_MODE, 0)
    return RawNand(qt).read(page)


def qom(qt: Qt, path: str, prop: str) -> int:
    value = qt.qmp("qom-get", path=path, property=prop)
    assert isinstance(value, int)
    return value


# --- program and read -------------------------------------------------------


def test_program_and_read_through_dma(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 11)
    meta = b"\x12\x34\x56\x78"
    page = 2 * PAGES_PER_BLOCK + 5
    nfc.program(page, data, meta)

    phys = raw_page(qt, page)
    assert phys == expected_page(meta, data)
    # the ECC of each packet is what bchlib computes over it
    bch = bchlib.BCH(STRENGTH, prim_poly=0x8003)
    assert phys[4 + STEP : 4 + STEP + ECC_BYTES] == bch.encode(meta + data[:STEP])
    assert phys[PAGE_SIZE : PAGE_SIZE + BBM] == b"\xff" * BBM

    qt.memwrite(METADATA, b"\x00" * META)
    assert nfc.read(page) == data
    assert qt.memread(METADATA, META) == meta
    assert nfc.report() == (0, True, 0, True)
    assert qt.readl(XFER_STATUS) & PAGE_IS_EMPTY == 0
    assert qom(qt, NAND, "pages-programmed") == 1


def test_program_lands_in_the_image(start_tango4: StartFn, tmp_path: Path) -> None:
    image = make_image(tmp_path / "nand.img")
    qt = start_tango4(*drive(image))
    data = pattern(PAGE_SIZE, 5)
    Nfc(qt).program(77, data)
    with image.open("rb") as f:
        f.seek(77 * PAGE_TOTAL)
        assert f.read(PAGE_TOTAL) == expected_page(b"\xff" * META, data)
    qt.close()

    qt = start_tango4(*drive(image))
    assert Nfc(qt).read(77) == data


def test_single_step_and_other_strength(tango4: Qt) -> None:
    """One packet of 2048 + 4 bytes, strength 8, BBM splitting its ECC."""
    qt = tango4
    nfc = Nfc(qt)
    qt.writel(XFER_CFG, xfer_cfg(steps=1))
    qt.writel(PKT_0_CFG, pkt_cfg(PAGE_SIZE + META, 8))
    qt.writel(BB_CFG, (PAGE_SIZE + 10) << 16 | 2)
    data = pattern(PAGE_SIZE, 8)
    nfc.program(9, data, b"meta")
    bch = bchlib.BCH(8, prim_poly=0x8003)
    logical = b"meta" + data + bch.encode(b"meta" + data)
    cut = PAGE_SIZE + 10
    expect = logical[:cut] + b"\xff\xff" + logical[cut:]
    expect += b"\xff" * (PAGE_TOTAL - len(expect))
    assert raw_page(qt, 9) == expect
    assert nfc.read(9) == data
    assert nfc.report() == (0, True, 0, True)


# --- ECC --------------------------------------------------------------------


def flip(qt: Qt, page: int, offsets: list[int]) -> None:
    spec = f"{page}:" + ",".join(f"{off}.{off % 8}" for off in offsets)
    qt.qmp("qom-set", path=NAND, property="flip-bits", value=spec)


def test_bitflips_up_to_strength_are_corrected(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 21)
    meta = b"\xa5\x5a\x00\xff"
    nfc.program(40, data, meta)
    # 14 flips in packet 0 (metadata and ECC included), 9 in packet 1
    # (on both sides of the bad block marker and in its ECC)
    flip(qt, 40, [0, 2, 5, 100, 200, 300, 400, 500, 600, 700, 800, 1028, 1040, 1054])
    flip(qt, 40, [1055, 1500, 2000, 2047, 2054, 2060, 2084, 2085, 2111])
    assert nfc.read(40) == data
    assert qt.memread(METADATA, META) == meta
    assert nfc.report() == (14, True, 9, True)
    assert qom(qt, "/machine/nfc", "ecc-corrected") == 23
    assert qom(qt, "/machine/nfc", "ecc-failed") == 0


def test_bitflips_beyond_strength_fail(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 22)
    nfc.program(41, data)
    flip(qt, 41, [1100 + 10 * i for i in range(STRENGTH + 1)])  # packet 1
    flip(qt, 41, [10])  # packet 0: one, corrected
    got = nfc.read(41)
    count0, ok0, _, ok_n = nfc.report()
    assert (count0, ok0, ok_n) == (1, True, False)
    assert got[:STEP] == data[:STEP]
    assert got[STEP:] != data[STEP:], "a failed packet is delivered uncorrected"
    assert qom(qt, "/machine/nfc", "ecc-failed") == 1


def test_erased_page_is_empty(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    assert nfc.read(300) == b"\xff" * PAGE_SIZE
    assert qt.readl(XFER_STATUS) & PAGE_IS_EMPTY
    assert qt.memread(METADATA, META) == b"\xff" * META
    assert nfc.report() == (0, True, 0, True)

    # one flipped bit: no longer "empty", and it does not decode either
    flip(qt, 300, [7])
    nfc.read(300)
    assert qt.readl(XFER_STATUS) & PAGE_IS_EMPTY == 0
    assert not nfc.report()[1]


def test_program_failure_is_in_the_chip_status(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    qt.qmp("qom-set", path=NAND, property="fail-next-program", value=True)
    nfc.program(12, pattern(PAGE_SIZE, 1))
    qt.writel(PAD_MODE, 0)
    assert RawNand(qt).status() & STATUS_FAIL
    assert raw_page(qt, 12) == b"\xff" * PAGE_TOTAL


# --- bytes lost in flight (the sbox teardown race) and recovery -----------


def test_lost_program_waits_until_aborted(tango4: Qt) -> None:
    """A program whose bytes were lost never completes (CMD_READY low); an
    abort makes the NFC idle again, and the next page is written intact."""
    qt = tango4
    nfc = Nfc(qt)
    qt.qmp("qom-set", path=SBOX_PATH, property="latency-ns", value=10_000)
    first = pattern(PAGE_SIZE, 31)
    qt.memwrite(METADATA, b"\xff" * META)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 50)
    nfc.dma_to_nfc(first)
    assert qom(qt, SBOX_PATH, "bytes-in-flight") == BOX_FIFO
    nfc.route(NFC_PORT, 0xF)  # torn down while the bytes are in flight
    assert qom(qt, SBOX_PATH, "bytes-dropped") == BOX_FIFO
    qt.clock_step(1_000_000)
    assert nfc.status() == 0, "no CMD_READY, nothing in the FIFO"
    assert nfc.dma_count(0) == PAGE_SIZE - BOX_FIFO, "the channel waits for a route"

    # the driver's recovery: abort the NFC command, terminate the DMA
    nfc.abort()
    assert nfc.status() == CMD_READY | ABORTED
    assert qom(qt, NFC_PATH, "aborts") == 1
    assert qom(qt, NFC_PATH, "bytes-flushed") == 0
    nfc.stop_dma(0)
    qt.writel(PAD_MODE, 0)
    assert raw_page(qt, 50) == b"\xff" * PAGE_TOTAL

    # the next page works without a reboot
    second = pattern(PAGE_SIZE, 32)
    nfc.program(51, second)
    assert nfc.status() == CMD_READY, "an accepted FLASH_CMD clears ABORTED"
    assert raw_page(qt, 51) == expected_page(b"\xff" * META, second)
    assert nfc.read(51) == second
    assert qom(qt, SBOX_PATH, "bytes-dropped") == BOX_FIFO


def test_partial_loss_then_abort_flushes_the_fifo(tango4: Qt) -> None:
    """Part of a page arrived, the rest was lost: the FIFO level says how
    much arrived, the abort flushes exactly that, and the next page is not
    corrupted by it."""
    qt = tango4
    nfc = Nfc(qt)
    qt.qmp("qom-set", path=SBOX_PATH, property="latency-ns", value=10_000)
    qt.qmp("qom-set", path=SBOX_PATH, property="bandwidth", value=100_000_000)
    page1 = pattern(PAGE_SIZE, 41)
    qt.memwrite(METADATA, b"\xff" * META)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 60)
    nfc.dma_to_nfc(page1)
    qt.clock_step(25_000)
    level = nfc.status() & FIFO_LEVEL
    in_flight = qom(qt, SBOX_PATH, "bytes-in-flight")
    assert 0 < level < PAGE_SIZE
    assert 0 < in_flight <= BOX_FIFO
    assert nfc.dma_count(0) == PAGE_SIZE - level - in_flight
    nfc.route(NFC_PORT, 0xF)
    assert qom(qt, SBOX_PATH, "bytes-dropped") == in_flight
    nfc.stop_dma(0)
    qt.clock_step(1_000_000)
    assert nfc.status() == level, "CMD_READY low, the FIFO keeps what arrived"
    assert nfc.dma_count(0) == PAGE_SIZE - level - in_flight, "no more left memory"

    nfc.abort()
    assert nfc.status() == CMD_READY | ABORTED
    assert qom(qt, NFC_PATH, "bytes-flushed") == level

    page2 = pattern(PAGE_SIZE, 42)
    nfc.program(61, page2)
    assert raw_page(qt, 61) == expected_page(b"\xff" * META, page2)
    assert raw_page(qt, 60) == b"\xff" * PAGE_TOTAL
    assert nfc.read(61) == page2


def test_pad_mode_raw_aborts_a_program(tango4: Qt) -> None:
    """The public flow returns PAD_MODE to raw after its poll, even on a
    time-out: that abandons the page, and the next one starts clean."""
    qt = tango4
    nfc = Nfc(qt)
    qt.memwrite(METADATA, b"\xff" * META)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 70)
    nfc.dma_to_nfc(pattern(1000, 71))  # a DMA too short for the page
    qt.clock_step(100_000)
    assert nfc.status() == 1000
    qt.writel(PAD_MODE, 0)
    assert "PAD_MODE set to raw while the write of page 70 is in progress" in qt.stderr()
    assert nfc.status() == CMD_READY | ABORTED
    assert qom(qt, NFC_PATH, "aborts") == 1
    assert qom(qt, NFC_PATH, "bytes-flushed") == 1000
    assert raw_page(qt, 70) == b"\xff" * PAGE_TOTAL
    data = pattern(PAGE_SIZE, 72)
    nfc.program(71, data)
    assert nfc.read(71) == data


def test_abort_of_a_read_discards_the_unsent_data(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 81)
    nfc.program(80, data)
    nfc.start(1, 80)  # no route out of the NFC: it waits to send
    qt.clock_step(1_000_000)
    assert not nfc.ready()
    nfc.abort()
    assert nfc.status() == CMD_READY | ABORTED
    assert qom(qt, NFC_PATH, "bytes-flushed") == PAGE_SIZE
    # an abort on an idle NFC does nothing
    nfc.abort()
    assert qom(qt, NFC_PATH, "aborts") == 1
    assert nfc.read(80) == data


def test_dma_before_program_waits_in_the_box(tango4: Qt) -> None:
    """Without a program the NFC takes nothing: the DMA waits (no byte
    lost), and each program takes exactly its page."""
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(5000, 91)
    qt.writel(PAD_MODE, MODE_NFC)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.dma_to_nfc(data)
    qt.clock_step(100_000)
    assert nfc.status() == CMD_READY, "FIFO level 0"
    assert qom(qt, SBOX_PATH, "bytes-in-flight") == BOX_FIFO
    assert nfc.dma_count(0) == 5000 - BOX_FIFO
    nfc.start(2, 7)
    nfc.wait_ready()
    nfc.start(2, 8)
    nfc.wait_ready()
    assert nfc.dma_count(0) == 5000 - 2 * PAGE_SIZE - BOX_FIFO
    assert raw_page(qt, 7) == expected_page(b"\x00" * META, data[:PAGE_SIZE])
    assert raw_page(qt, 8) == expected_page(b"\x00" * META, data[PAGE_SIZE : 2 * PAGE_SIZE])
    assert qom(qt, SBOX_PATH, "bytes-dropped") == 0
    # the driver terminates the surplus: it is lost in the box, not in a page
    nfc.stop_dma(0)
    nfc.route(NFC_PORT, 0xF)
    assert qom(qt, SBOX_PATH, "bytes-dropped") == BOX_FIFO


@pytest.mark.parametrize("order", ["flash_cmd-first", "dma-first"])
def test_program_either_order(tango4: Qt, order: str) -> None:
    """FLASH_CMD before or after the DMA, at latency 0: the page is intact."""
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 101)
    qt.memwrite(METADATA, b"abcd")
    nfc.route(NFC_PORT, CHAN_PORT)
    if order == "flash_cmd-first":
        nfc.start(2, 100)
        nfc.dma_to_nfc(data)
    else:
        nfc.dma_to_nfc(data)
        qt.clock_step(10_000)
        assert nfc.ready()
        nfc.start(2, 100)
    assert not nfc.ready()
    nfc.wait_ready()
    assert nfc.status() == CMD_READY
    assert raw_page(qt, 100) == expected_page(b"abcd", data)
    assert qom(qt, SBOX_PATH, "bytes-dropped") == 0


@pytest.mark.parametrize("order", ["flash_cmd-first", "dma-first"])
def test_read_either_order(tango4: Qt, order: str) -> None:
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 111)
    nfc.program(110, data)
    qt.memwrite(DST_BUF, b"\x5a" * PAGE_SIZE)
    nfc.route(CHAN_PORT, NFC_PORT)
    if order == "flash_cmd-first":
        nfc.start(1, 110)
        qt.clock_step(1_000_000)  # the page is read and waits to be taken
        assert not nfc.ready()
        assert qt.memread(DST_BUF, PAGE_SIZE) == b"\x5a" * PAGE_SIZE
        nfc.dma_from_nfc(PAGE_SIZE)
    else:
        nfc.dma_from_nfc(PAGE_SIZE)
        nfc.start(1, 110)
    nfc.wait_ready()
    qt.clock_step(1_000)
    assert qt.memread(DST_BUF, PAGE_SIZE) == data
    assert qom(qt, SBOX_PATH, "bytes-dropped") == 0


def test_read_waits_for_its_route(tango4: Qt) -> None:
    """FLASH_CMD read before any route out of the NFC: it waits, and
    completes once the route and the DMA are there."""
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 121)
    nfc.program(120, data)
    qt.memwrite(DST_BUF, b"\x5a" * PAGE_SIZE)
    nfc.start(1, 120)
    qt.clock_step(1_000_000)
    assert not nfc.ready()
    assert qom(qt, SBOX_PATH, "bytes-in-flight") == 0
    nfc.dma_from_nfc(PAGE_SIZE)
    qt.clock_step(1_000_000)
    assert not nfc.ready()
    nfc.route(CHAN_PORT, NFC_PORT)
    nfc.wait_ready()
    qt.clock_step(1_000)
    assert qt.memread(DST_BUF, PAGE_SIZE) == data
    assert qt.memread(METADATA, META) == b"\xff" * META


def test_refused_program_leaves_its_bytes_in_the_box(tango4: Qt) -> None:
    """A refused FLASH_CMD sets REFUSED; the NFC does not take its DMA
    bytes, so the driver's terminate loses them in the box and the next
    page is intact."""
    qt = tango4
    nfc = Nfc(qt)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 65536)  # beyond the chip: refused
    assert nfc.status() == CMD_READY | REFUSED
    assert qom(qt, NFC_PATH, "refused") == 1
    nfc.dma_to_nfc(pattern(PAGE_SIZE, 131))
    qt.clock_step(100_000)
    assert nfc.status() == CMD_READY | REFUSED, "FIFO level 0"
    assert qom(qt, SBOX_PATH, "bytes-in-flight") == BOX_FIFO
    nfc.stop_dma(0)
    nfc.route(NFC_PORT, 0xF)
    assert qom(qt, SBOX_PATH, "bytes-dropped") == BOX_FIFO
    data = pattern(PAGE_SIZE, 132)
    nfc.program(130, data)
    assert nfc.status() == CMD_READY, "an accepted FLASH_CMD clears REFUSED"
    assert raw_page(qt, 130) == expected_page(b"\xff" * META, data)


def test_status_catches_up_on_the_box(tango4: Qt) -> None:
    """A STATUS read delivers what has arrived before it answers, even when
    the box's timer has not run yet (no -icount): the DMA's CMD write and
    the STATUS read go to QEMU in one batch, with no timer in between."""
    qt = tango4
    nfc = Nfc(qt)
    data = pattern(PAGE_SIZE, 141)
    qt.memwrite(SRC_BUF, data)
    qt.memwrite(METADATA, b"\xff" * META)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 140)
    qt.writel(mchan(0) + 0x0, SRC_BUF)
    qt.writel(mchan(0) + 0x4, 1000)  # less than the page
    replies = qt.command_batch(
        ("writel", hex(mchan(0) + 0xC), 3),
        ("readl", hex(STATUS)),
        ("readl", hex(mchan(0) + 0x4)),
    )
    assert int(replies[1][0], 16) == 1000, "CMD_READY low, 1000 bytes in the FIFO"
    assert int(replies[2][0], 16) == 0, "the channel moved them all"
    nfc.dma_to_nfc(data[1000:], SRC_BUF + 0x1000)
    nfc.wait_ready()
    assert raw_page(qt, 140) == expected_page(b"\xff" * META, data)


# --- guest mistakes ---------------------------------------------------------


Setup = Callable[[Qt], None]


def _reg(addr: int, value: int) -> Setup:
    return lambda qt: qt.writel(addr, value)


def _meta_too_big(qt: Qt) -> None:
    qt.writel(XFER_CFG, xfer_cfg(meta=200))
    qt.writel(PKT_0_CFG, pkt_cfg(100, STRENGTH))


def _nothing(qt: Qt) -> None:
    pass


# (test id, what the guest gets wrong, the FLASH_CMD it then writes, the error)
MISTAKES: list[tuple[str, Setup, int, str]] = [
    ("strength 0", _reg(PKT_0_CFG, pkt_cfg(STEP + META, 0)), 2, "ECC strength 0, not 1..32"),
    ("strength 33", _reg(PKT_N_CFG, pkt_cfg(STEP, 33)), 1, "ECC strength 33, not 1..32"),
    ("packet too big", _reg(PKT_N_CFG, pkt_cfg(1100, 14)), 2, "more than the 2112 of a page"),
    ("BBM too far", _reg(BB_CFG, 2110 << 16 | 6), 1, "more than the 2112 of a page"),
    ("no chip", _reg(XFER_CFG, xfer_cfg(cs=2)), 2, "no chip on chip select 2"),
    ("bad cs", _reg(XFER_CFG, xfer_cfg(cs=9)), 1, "no chip on chip select 9"),
    ("page count", _reg(XFER_CFG, xfer_cfg(pages=2)), 2, "page count 2, only 1"),
    ("no steps", _reg(XFER_CFG, xfer_cfg(steps=0)), 2, "XFER_CFG: 0 steps"),
    ("metadata", _meta_too_big, 2, "200 metadata bytes do not fit in packet 0 of 100 bytes"),
    ("page range", _reg(ADDR_PAGE, 65536), 1, "ADDR_PAGE 65536 beyond the 65536 pages"),
    ("offset", _reg(ADDR_OFFSET, 8), 2, "ADDR_OFFSET 8, only 0"),
    ("raw mode", _reg(PAD_MODE, 0), 2, "FLASH_CMD 2: PBUS PAD_MODE is raw: refused"),
    ("bad command", _nothing, 3, "FLASH_CMD 3: not 1 (read) or 2 (write): refused"),
    ("no command", _nothing, 0, "FLASH_CMD 0: not 1 (read) or 2 (write): refused"),
]


@pytest.mark.parametrize(
    ("setup", "cmd", "message"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_guest_mistakes(tango4: Qt, setup: Setup, cmd: int, message: str) -> None:
    qt = tango4
    nfc = Nfc(qt)
    qt.writel(PAD_MODE, MODE_NFC)
    qt.writel(ADDR_PAGE, 1)
    setup(qt)
    qt.writel(FLASH_CMD, cmd)
    assert nfc.status() == CMD_READY | REFUSED, "a refused command leaves CMD_READY high"
    assert qom(qt, NFC_PATH, "refused") == 1
    assert message in qt.stderr()
    # the controller still works afterwards
    nfc = Nfc(qt)
    qt.writel(ADDR_OFFSET, 0)
    data = pattern(PAGE_SIZE, 3)
    nfc.program(1, data)
    assert nfc.read(1) == data


def test_flash_cmd_while_busy_is_refused(tango4: Qt) -> None:
    qt = tango4
    nfc = Nfc(qt)
    nfc.start(2, 1)
    qt.writel(FLASH_CMD, 1)
    assert "FLASH_CMD 1: the write of page 1 is in progress (CMD_READY low): refused" in (
        qt.stderr()
    )
    assert nfc.status() == REFUSED
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.dma_to_nfc(pattern(PAGE_SIZE, 4))
    nfc.wait_ready()
    assert nfc.status() == CMD_READY | REFUSED, "REFUSED stays until an accepted FLASH_CMD"
    assert raw_page(qt, 1) == expected_page(b"\x00" * META, pattern(PAGE_SIZE, 4))


def test_pbus_refused_in_nfc_mode(tango4: Qt) -> None:
    qt = tango4
    qt.writel(PAD_MODE, MODE_NFC)
    qt.writeb(PBUS + 0x0, 0x90)
    assert qt.readb(PBUS + 0x8) == 0xFF
    assert re.search(r"PBUS (write|read) at 0x00[08] while PAD_MODE gives the bus", qt.stderr())
    qt.writel(PAD_MODE, 0)
    assert RawNand(qt).read_id() == bytes([0x2C, 0xF1, 0x80, 0x95, 0x02])


def test_register_width_and_read_only(tango4: Qt) -> None:
    qt = tango4
    qt.writeb(XFER_CFG, 1)
    qt.writel(STATUS, 0)
    qt.writel(ERROR_REPORT, 0)
    qt.writeb(PBUS + 0x0C, 0)
    log = qt.stderr()
    assert "1-byte write at register offset 0x14" in log
    assert "write to read-only register 0x00" in log
    assert "ERROR_REPORT is read-only" in log
    assert "PBUS write at 0x00c: not a writable register" in log
    assert qt.readl(XFER_CFG) == 0
    assert qt.readl(STATUS) == CMD_READY


def test_random_register_traffic_is_survived(tango4: Qt) -> None:
    """Whatever a guest writes where, QEMU neither crashes nor asserts."""
    qt = tango4
    rng = random.Random(1234)
    regions = [(NFC, 0x30), (NFC_MEM, 0x800), (PBUS, 0x1000)]
    hot = [FLASH_CMD, XFER_CFG, PKT_0_CFG, PKT_N_CFG, BB_CFG, ADDR_PAGE, PAD_MODE]
    hot += [PBUS + cs * 0x100 + off for cs in range(4) for off in (0, 4, 8)]
    nfc = Nfc(qt)
    nfc.route(NFC_PORT, CHAN_PORT)
    for i in range(3000):
        if rng.random() < 0.5:
            addr = rng.choice(hot)
        else:
            base, size = rng.choice(regions)
            addr = base + rng.randrange(size)
        width = rng.choice((1, 2, 4))
        addr &= ~(width - 1)
        value = rng.choice((0, 1, 2, 3, 0x30, 0x70, 0x80, 0xFF, rng.getrandbits(32)))
        value &= (1 << (8 * width)) - 1
        if rng.random() < 0.6:
            {1: qt.writeb, 2: qt.writew, 4: qt.writel}[width](addr, value)
        else:
            {1: qt.readb, 2: qt.readw, 4: qt.readl}[width](addr)
        if i % 50 == 0:
            nfc.dma_to_nfc(rng.randbytes(rng.randrange(1, 3000)))
        if i % 7 == 0:
            qt.clock_step(rng.choice((1_000, 30_000, 300_000)))
    assert qt.alive()
    assert qt.qmp("query-status")["status"] == "running"


# --- migration --------------------------------------------------------------

SMALL = ("-m", "64", "-global", "onfi-nand.blocks=16")


def test_migration_mid_program(start_tango4: StartFn, tmp_path: Path) -> None:
    """A program waiting for its data, and its FIFO, survive save and load."""
    state = tmp_path / "state.bin"
    src = start_tango4(*SMALL)
    nfc = Nfc(src)
    data = pattern(PAGE_SIZE, 51)
    src.memwrite(METADATA, b"meta")
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 5)
    nfc.dma_to_nfc(data[:1000])
    now = src.clock_step(10_000)
    assert not nfc.ready()
    src.migrate_to_file(state)
    src.close()

    dst = start_tango4(*SMALL, "-incoming", f"file:{state}")
    dst.wait_running()
    dst.clock_set(now)
    nfc = Nfc(dst)
    assert not nfc.ready()
    nfc.dma_to_nfc(data[1000:])
    nfc.wait_ready()
    assert raw_page(dst, 5) == expected_page(b"meta", data)


def test_migration_mid_chip_program(start_tango4: StartFn, tmp_path: Path) -> None:
    """The chip's page register, state and busy timer survive save and load."""
    state = tmp_path / "state.bin"
    src = start_tango4(*SMALL)
    src.writel(PAD_MODE, 0)
    nand = RawNand(src)
    nand.cmd(0x80)
    nand.addr(0, 0, 7, 0)
    nand.data_in(b"saved")
    nand.cmd(0x10)
    now = src.clock_step(100_000)
    assert not nand.ready()
    src.migrate_to_file(state)
    src.close()

    dst = start_tango4(*SMALL, "-incoming", f"file:{state}")
    dst.wait_running()
    dst.clock_set(now)
    nand = RawNand(dst)
    assert not nand.ready()
    assert 99_000 <= nand.wait_ready() <= 101_000
    assert nand.read(7, 6) == b"saved\xff"
    assert qom(dst, NAND, "pages-programmed") == 1
