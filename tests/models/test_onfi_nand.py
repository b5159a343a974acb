# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""qtest tests of the ONFI NAND chip model (hw-models/hw/block/onfi_nand.c).

The chip is driven with raw bus cycles through the tango4 NFC's PBUS window
(PAD_MODE raw), as the Linux driver does for everything but page data:
identification, parameter page, erase, status, raw page access. Fault
injection goes through the chip's QOM properties at /machine/nand<cs>.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import QTestError, QTestMachine

Qt = QTestMachine
StartFn = Callable[..., QTestMachine]
FailFn = Callable[..., str]

#: Guest errors (and unimplemented features) go to stderr, read back by the tests.
GUEST_ERRORS = ("-d", "guest_errors,unimp")


# conftest's start_tango4 / tango4: log guest errors, no GIC interception
TANGO4_ARGS = GUEST_ERRORS
TANGO4_INTERCEPT_GIC = False


@pytest.fixture
def start_tango4_fails(qemu_path: Path) -> FailFn:
    """Start a machine that must refuse to start; its error message."""

    def start(*args: str) -> str:
        machine = QTestMachine(args, qemu=qemu_path)
        with pytest.raises(QTestError) as failure:
            machine.start()
        machine.close()
        return str(failure.value)

    return start


PBUS = 0x0002_0000
CS_CTRL = PBUS + 0x83C
PAD_MODE = PBUS + 0x8F0
IORDY = 1 << 31

PAGE_SIZE = 2048
OOB_SIZE = 64
PAGE_TOTAL = PAGE_SIZE + OOB_SIZE
PAGES_PER_BLOCK = 64
BLOCKS = 1024
IMAGE_SIZE = BLOCKS * PAGES_PER_BLOCK * PAGE_TOTAL

# Default busy times of the model (ns)
T_R = 25_000
T_PROG = 200_000
T_BERS = 700_000

STATUS_FAIL = 0x01
STATUS_READY = 0x60  # RDY | ARDY
STATUS_WP_N = 0x80

NAND = "/machine/nand0"


def onfi_crc16(data: bytes) -> int:
    """CRC-16 of the ONFI parameter page (polynomial 0x8005, seed 0x4f4e)."""
    crc = 0x4F4E
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ (0x8005 if crc & 0x8000 else 0)) & 0xFFFF
    return crc


class RawNand:
    """A chip on the PBUS, one bus cycle per MMIO access."""

    def __init__(self, qt: Qt, cs: int = 0) -> None:
        self.qt = qt
        self.base = PBUS + cs * 0x100

    def cmd(self, command: int) -> None:
        self.qt.writeb(self.base + 0x0, command)

    def addr(self, *cycles: int) -> None:
        for cycle in cycles:
            self.qt.writeb(self.base + 0x4, cycle)

    def data_in(self, data: bytes) -> None:
        for byte in data:
            self.qt.writeb(self.base + 0x8, byte)

    def data_out(self, n: int) -> bytes:
        return bytes(self.qt.readb(self.base + 0x8) for _ in range(n))

    def ready(self) -> bool:
        return bool(self.qt.readl(CS_CTRL) & IORDY)

    def wait_ready(self, limit_ns: int = 20_000_000, step_ns: int = 1_000) -> int:
        """Step the virtual clock until R/B# is high; returns the ns it took."""
        waited = 0
        while not self.ready():
            assert waited < limit_ns, f"chip still busy after {waited} ns"
            self.qt.clock_step(step_ns)
            waited += step_ns
        return waited

    @staticmethod
    def row(page: int) -> tuple[int, int]:
        return page & 0xFF, (page >> 8) & 0xFF

    def status(self) -> int:
        self.cmd(0x70)
        return self.data_out(1)[0]

    def read_id(self, address: int = 0x00, n: int = 5) -> bytes:
        self.cmd(0x90)
        self.addr(address)
        return self.data_out(n)

    def read_param(self, n: int = 3 * 256) -> bytes:
        self.cmd(0xEC)
        self.addr(0x00)
        self.wait_ready()
        return self.data_out(n)

    def erase(self, block: int) -> int:
        self.cmd(0x60)
        self.addr(*self.row(block * PAGES_PER_BLOCK))
        self.cmd(0xD0)
        self.wait_ready(step_ns=10_000)
        return self.status()

    def program(self, page: int, data: bytes, col: int = 0) -> int:
        self.cmd(0x80)
        self.addr(col & 0xFF, col >> 8, *self.row(page))
        self.data_in(data)
        self.cmd(0x10)
        self.wait_ready(step_ns=10_000)
        return self.status()

    def start_read(self, page: int, col: int = 0) -> None:
        self.cmd(0x00)
        self.addr(col & 0xFF, col >> 8, *self.row(page))
        self.cmd(0x30)

    def read(self, page: int, n: int = PAGE_TOTAL, col: int = 0) -> bytes:
        self.start_read(page, col)
        self.wait_ready()
        return self.data_out(n)


def raw(qt: Qt, cs: int = 0) -> RawNand:
    qt.writel(PAD_MODE, 0)
    return RawNand(qt, cs)


def pattern(n: int, seed: int) -> bytes:
    return bytes((i * 7 + seed * 13 + (i >> 8)) & 0xFF for i in range(n))


# --- identification ---------------------------------------------------------


def test_read_id(tango4: Qt) -> None:
    nand = raw(tango4)
    assert nand.read_id(0x00) == bytes([0x2C, 0xF1, 0x80, 0x95, 0x02])
    assert nand.read_id(0x20, 4) == b"ONFI"


def test_parameter_page(tango4: Qt) -> None:
    nand = raw(tango4)
    nand.cmd(0xEC)
    nand.addr(0x00)
    assert not nand.ready(), "READ PARAMETER PAGE must keep R/B# low for tR"
    waited = nand.wait_ready()
    assert T_R - 1_000 <= waited <= T_R + 1_000
    pages = nand.data_out(3 * 256)
    for i in range(3):
        copy = pages[i * 256 : (i + 1) * 256]
        assert copy == pages[:256]
        assert onfi_crc16(copy[:254]) == struct.unpack_from("<H", copy, 254)[0]
    p = pages[:256]
    assert p[:4] == b"ONFI"
    assert struct.unpack_from("<H", p, 4)[0] & (1 << 1), "ONFI 1.0"
    assert struct.unpack_from("<H", p, 6)[0] & 1 == 0, "8-bit bus"
    assert p[32:44].rstrip() == b"MICRON"
    assert p[44:64].rstrip() == b"MT29F1G08ABADAWP"
    assert p[64] == 0x2C
    byte_per_page, spare = struct.unpack_from("<IH", p, 80)
    assert (byte_per_page, spare) == (PAGE_SIZE, OOB_SIZE)
    assert struct.unpack_from("<II", p, 92) == (PAGES_PER_BLOCK, BLOCKS)
    assert p[100] == 1  # LUNs
    assert p[101] == 0x22  # 2 column + 2 row address cycles
    assert p[102] == 1  # SLC
    assert p[112] == 1  # ECC bits
    sdr_modes = struct.unpack_from("<H", p, 129)[0]
    assert sdr_modes & 1 and sdr_modes == 0x1F
    t_prog, t_bers, t_r, t_ccs = struct.unpack_from("<HHHH", p, 133)
    assert t_prog * 1000 >= T_PROG and t_bers * 1000 >= T_BERS and t_r * 1000 >= T_R
    assert (t_prog, t_bers, t_r, t_ccs) == (600, 3000, 25, 500)

    # CHANGE READ COLUMN within the parameter pages (Linux reads copies so)
    nand.cmd(0x05)
    nand.addr(0x00, 0x01)
    nand.cmd(0xE0)
    assert nand.data_out(256) == p


def test_parameter_page_follows_configuration(start_tango4: StartFn) -> None:
    qt = start_tango4("-global", "onfi-nand.blocks=256")
    qt.qmp("qom-set", path=NAND, property="t-prog-ns", value=2_000_000)
    p = raw(qt).read_param(256)
    assert onfi_crc16(p[:254]) == struct.unpack_from("<H", p, 254)[0]
    assert struct.unpack_from("<I", p, 96)[0] == 256
    assert struct.unpack_from("<H", p, 133)[0] == 2000


def test_blocks_must_be_a_power_of_two(start_tango4_fails: FailFn) -> None:
    err = start_tango4_fails("-global", "onfi-nand.blocks=1000")
    assert "blocks must be a power of 2 from 1 to 1024, not 1000" in err


# --- array operations -------------------------------------------------------


def test_erase_program_read(tango4: Qt) -> None:
    nand = raw(tango4)
    qt = tango4
    page = 5 * PAGES_PER_BLOCK + 3
    assert nand.read(page) == b"\xff" * PAGE_TOTAL, "RAM-backed chip starts erased"

    data = pattern(PAGE_TOTAL, 1)
    nand.cmd(0x80)
    nand.addr(0, 0, *nand.row(page))
    nand.data_in(data)
    nand.cmd(0x10)
    assert not nand.ready()
    assert nand.status() & (STATUS_READY | STATUS_FAIL) == 0
    waited = nand.wait_ready()
    assert T_PROG - 1_000 <= waited <= T_PROG + 1_000
    assert nand.status() == STATUS_WP_N | STATUS_READY
    assert nand.read(page) == data
    assert qt.qmp("qom-get", path=NAND, property="pages-programmed") == 1

    # Programming again only clears bits
    other = pattern(PAGE_TOTAL, 2)
    assert nand.program(page, other) == STATUS_WP_N | STATUS_READY
    assert nand.read(page) == bytes(a & b for a, b in zip(data, other, strict=True))

    nand.cmd(0x60)
    nand.addr(*nand.row(page))  # any page of the block selects it
    nand.cmd(0xD0)
    waited = nand.wait_ready(step_ns=10_000)
    assert T_BERS - 10_000 <= waited <= T_BERS + 10_000
    assert nand.status() == STATUS_WP_N | STATUS_READY
    for p in (5 * PAGES_PER_BLOCK, page, 6 * PAGES_PER_BLOCK - 1):
        assert nand.read(p) == b"\xff" * PAGE_TOTAL
    assert qt.qmp("qom-get", path=NAND, property="blocks-erased") == 1


def test_change_write_and_read_column(tango4: Qt) -> None:
    nand = raw(tango4)
    page = 70
    nand.cmd(0x80)
    nand.addr(0x10, 0x00, *nand.row(page))
    nand.data_in(b"abcd")
    nand.cmd(0x85)  # CHANGE WRITE COLUMN to the spare area
    nand.addr(0x00, 0x08)
    nand.data_in(b"OOB!")
    nand.cmd(0x10)
    nand.wait_ready()
    assert nand.status() & STATUS_FAIL == 0

    nand.start_read(page, col=0x0E)
    nand.wait_ready()
    assert nand.data_out(8) == b"\xff\xffabcd\xff\xff"
    nand.cmd(0x05)
    nand.addr(0x00, 0x08)
    nand.cmd(0xE0)
    assert nand.data_out(5) == b"OOB!\xff"


def test_status_during_read_then_back_to_data(tango4: Qt) -> None:
    nand = raw(tango4)
    nand.program(3, b"hello")
    nand.start_read(3)
    assert nand.status() == STATUS_WP_N  # busy
    nand.wait_ready()
    assert nand.data_out(1)[0] == STATUS_WP_N | STATUS_READY  # still READ STATUS
    nand.cmd(0x00)  # back to the data, from column 0
    assert nand.data_out(5) == b"hello"


def test_reset(tango4: Qt) -> None:
    nand = raw(tango4)
    nand.cmd(0xFF)
    assert not nand.ready()
    assert nand.wait_ready() <= 5_000
    assert nand.status() == STATUS_WP_N | STATUS_READY


def test_timing_properties(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    for prop in ("t-r-ns", "t-prog-ns", "t-bers-ns"):
        with pytest.raises(QmpCommandError, match=r"at most 65535000 ns"):
            qt.qmp("qom-set", path=NAND, property=prop, value=65_535_001)
    qt.qmp("qom-set", path=NAND, property="t-r-ns", value=100_000)
    assert qt.qmp("qom-get", path=NAND, property="t-r-ns") == 100_000
    nand.start_read(0)
    assert 99_000 <= nand.wait_ready() <= 101_000
    qt.qmp("qom-set", path=NAND, property="t-prog-ns", value=0)
    nand.cmd(0x80)
    nand.addr(0, 0, 1, 0)
    nand.cmd(0x10)
    qt.clock_step(1)
    assert nand.ready()


# --- fault injection --------------------------------------------------------


def test_flip_bits(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    nand.program(9, b"\x00" * 16)
    qt.qmp("qom-set", path=NAND, property="flip-bits", value="9:0.0,3.7,2100.1")
    got = nand.read(9)
    assert got[:4] == b"\x01\x00\x00\x80"
    assert got[2100] == 0xFF ^ 0x02
    assert qt.qmp("qom-get", path=NAND, property="flip-bits") == "9:0.0,3.7,2100.1"
    qt.qmp("qom-set", path=NAND, property="flip-bits", value="9:0x0.0")
    assert nand.read(9, 1) == b"\x00"

    bad = {
        "9": "expected PAGE:OFFSET.BIT",
        "9:": "expected PAGE:OFFSET.BIT",
        "9:1": "expected PAGE:OFFSET.BIT",
        "9:1.2,": "expected PAGE:OFFSET.BIT",
        "x:1.2": "expected PAGE:OFFSET.BIT",
        "65536:0.0": "page 65536 is beyond the 65536 pages",
        "9:2112.0": "offset 2112 is beyond the 2112 bytes",
        "9:0.8": "bit 8 is not a bit of a byte",
    }
    for value, message in bad.items():
        with pytest.raises(QmpCommandError, match=re.escape(message)):
            qt.qmp("qom-set", path=NAND, property="flip-bits", value=value)
    assert nand.read(9, 4) == b"\x00\x00\x00\x80", "a refused value changes nothing"


def test_mark_bad(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    qt.qmp("qom-set", path=NAND, property="mark-bad", value=7)
    first = nand.read(7 * PAGES_PER_BLOCK)
    assert first[PAGE_SIZE] == 0x00
    assert first[:PAGE_SIZE] == b"\xff" * PAGE_SIZE and first[PAGE_SIZE + 1 :] == b"\xff" * 63
    assert qt.qmp("qom-get", path=NAND, property="mark-bad") == 7
    with pytest.raises(QmpCommandError, match="block 1024 is beyond the 1024 blocks"):
        qt.qmp("qom-set", path=NAND, property="mark-bad", value=1024)


def test_fail_next_program_and_erase(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    qt.qmp("qom-set", path=NAND, property="fail-next-program", value=True)
    assert nand.program(64, b"\x00" * 8) == STATUS_WP_N | STATUS_READY | STATUS_FAIL
    assert nand.read(64, 8) == b"\xff" * 8, "a failed program leaves the page unchanged"
    assert qt.qmp("qom-get", path=NAND, property="fail-next-program") is False
    assert qt.qmp("qom-get", path=NAND, property="pages-programmed") == 0
    assert nand.program(64, b"\x00" * 8) == STATUS_WP_N | STATUS_READY

    qt.qmp("qom-set", path=NAND, property="fail-next-erase", value=True)
    assert nand.erase(1) == STATUS_WP_N | STATUS_READY | STATUS_FAIL
    assert nand.read(64, 8) == b"\x00" * 8, "a failed erase leaves the block unchanged"
    assert qt.qmp("qom-get", path=NAND, property="blocks-erased") == 0
    assert nand.erase(1) == STATUS_WP_N | STATUS_READY
    assert nand.read(64, 8) == b"\xff" * 8


def test_power_cut_in_progress(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    page = 128
    nand.cmd(0x80)
    nand.addr(0, 0, *nand.row(page))
    nand.data_in(b"\x00" * PAGE_TOTAL)
    nand.cmd(0x10)
    qt.clock_step(T_PROG // 4)
    qt.qmp("qom-set", path=NAND, property="power-cut", value=True)
    assert qt.qmp("qom-get", path=NAND, property="power-cut") is True
    qt.clock_step(10 * T_PROG)
    assert not nand.ready(), "after a power cut the chip stays busy"
    assert nand.status() == 0x00, "and does not answer"
    with pytest.raises(QmpCommandError, match="stays off until a system reset"):
        qt.qmp("qom-set", path=NAND, property="power-cut", value=False)

    qt.qmp("system_reset")
    qt.clock_step(1)
    assert nand.ready()
    assert qt.qmp("qom-get", path=NAND, property="power-cut") is False
    got = nand.read(page)
    cut = PAGE_TOTAL // 4
    assert got[:cut] == b"\x00" * cut
    assert got[cut:] == b"\xff" * (PAGE_TOTAL - cut)


def test_power_cut_armed(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    qt.qmp("qom-set", path=NAND, property="power-cut", value=True)
    assert qt.qmp("qom-get", path=NAND, property="power-cut") is True
    qt.qmp("qom-set", path=NAND, property="power-cut", value=False)  # disarm
    assert nand.program(0, b"\x00") == STATUS_WP_N | STATUS_READY

    qt.qmp("qom-set", path=NAND, property="power-cut", value=True)  # arm again
    assert nand.read(1, 1) == b"\xff", "reads are not affected"
    nand.cmd(0x60)
    nand.addr(0, 0)  # erase block 0: cut halfway through tBERS
    nand.cmd(0xD0)
    qt.clock_step(T_BERS * 2)
    assert not nand.ready()
    qt.qmp("system_reset")
    qt.clock_step(1)
    assert nand.read(0, 1) == b"\xff", "first half of the block erased"
    nand.program(PAGES_PER_BLOCK - 1, b"\x00")  # second half untouched: ANDs in
    assert qt.qmp("qom-get", path=NAND, property="blocks-erased") == 0


# --- backing image ----------------------------------------------------------


def make_image(path: Path, size: int = IMAGE_SIZE) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    with path.open("r+b") as f:
        chunk = b"\xff" * (PAGES_PER_BLOCK * PAGE_TOTAL)
        for _ in range(size // len(chunk)):
            f.write(chunk)
        f.write(b"\xff" * (size % len(chunk)))
    return path


def drive(path: Path, cs: int = 0, readonly: bool = False) -> list[str]:
    opt = f"if=mtd,index={cs},format=raw,file={path}"
    return ["-drive", opt + (",readonly=on" if readonly else "")]


def test_image_written_through_and_persistent(start_tango4: StartFn, tmp_path: Path) -> None:
    image = make_image(tmp_path / "nand.img")
    qt = start_tango4(*drive(image))
    nand = raw(qt)
    page = 3 * PAGES_PER_BLOCK + 1
    data = pattern(PAGE_TOTAL, 3)
    assert nand.program(page, data) == STATUS_WP_N | STATUS_READY
    with image.open("rb") as f:  # visible on the host at once
        f.seek(page * PAGE_TOTAL)
        assert f.read(PAGE_TOTAL) == data
    qt.close()

    qt = start_tango4(*drive(image))
    nand = raw(qt)
    assert nand.read(page) == data
    assert nand.erase(3) == STATUS_WP_N | STATUS_READY
    with image.open("rb") as f:
        f.seek(3 * PAGES_PER_BLOCK * PAGE_TOTAL)
        assert f.read(PAGES_PER_BLOCK * PAGE_TOTAL) == b"\xff" * PAGES_PER_BLOCK * PAGE_TOTAL


def test_second_chip_select(start_tango4: StartFn, tmp_path: Path) -> None:
    image = make_image(tmp_path / "nand1.img", 16 * PAGES_PER_BLOCK * PAGE_TOTAL)
    qt = start_tango4("-global", "onfi-nand.blocks=16", *drive(image, cs=1))
    nand1 = raw(qt, cs=1)
    assert nand1.program(17, b"cs1") == STATUS_WP_N | STATUS_READY
    assert raw(qt, cs=0).read(17, 3) == b"\xff\xff\xff"
    with image.open("rb") as f:
        f.seek(17 * PAGE_TOTAL)
        assert f.read(3) == b"cs1"
    assert qt.qmp("qom-get", path="/machine/nand1", property="pages-programmed") == 1


def test_wrong_size_image_refused(start_tango4_fails: FailFn, tmp_path: Path) -> None:
    image = tmp_path / "small.img"
    image.write_bytes(b"\xff" * 4096)
    err = start_tango4_fails(*drive(image))
    assert f"needs an image of exactly {IMAGE_SIZE} bytes" in err
    assert "is 4096 bytes" in err


def test_read_only_image_refused(start_tango4_fails: FailFn, tmp_path: Path) -> None:
    image = make_image(tmp_path / "ro.img")
    err = start_tango4_fails(*drive(image, readonly=True))
    assert "is read-only" in err


# --- guest mistakes ---------------------------------------------------------


def test_bus_mistakes_are_logged_not_fatal(tango4: Qt) -> None:
    qt = tango4
    nand = raw(qt)
    nand.cmd(0x30)  # READ confirm without READ
    nand.cmd(0x10)  # PROGRAM confirm without PROGRAM
    nand.cmd(0xD0)  # ERASE confirm without ERASE
    nand.cmd(0xE0)  # CHANGE READ COLUMN confirm without 0x05
    nand.cmd(0x85)  # CHANGE WRITE COLUMN outside a program
    nand.cmd(0x42)  # no such command
    nand.addr(0x12)  # address without a command
    nand.data_in(b"x")  # data outside a program
    nand.cmd(0x60)
    nand.addr(1, 2, 3)  # one address cycle too many
    nand.cmd(0x00)
    nand.addr(0, 0, 0xFF, 0xFF)
    nand.cmd(0x30)  # page 65535 exists: fine
    nand.wait_ready()
    nand.cmd(0x00)
    nand.addr(0, 0x10, 0, 0)  # column 4096, beyond the page
    nand.cmd(0x30)
    nand.wait_ready()
    assert nand.data_out(2) == b"\x00\x00"
    # programming beyond the page register: the bytes are dropped
    nand.cmd(0x80)
    nand.addr(0x3E, 0x08, 0, 0)  # column 2110
    nand.data_in(b"\x01\x02\x03\x04")
    nand.cmd(0x10)
    nand.wait_ready()
    assert nand.read(0, 2, col=2110) == b"\x01\x02"
    # commands while busy are ignored
    nand.start_read(0)
    nand.cmd(0x90)
    nand.wait_ready()
    assert nand.data_out(1) == b"\xff", "still the page read, not READ ID"
    # still a working chip
    assert nand.read_id() == bytes([0x2C, 0xF1, 0x80, 0x95, 0x02])
    log = qt.stderr()
    for message in (
        "READ confirm (0x30) without READ (0x00)",
        "PROGRAM confirm (0x10) without PROGRAM (0x80)",
        "ERASE confirm (0xd0) without ERASE (0x60)",
        "CHANGE READ COLUMN confirm (0xe0) without 0x05",
        "CHANGE WRITE COLUMN (0x85) outside a PROGRAM",
        "unsupported command 0x42",
        "address cycle 0x12 without a command",
        "data input bytes outside a PROGRAM",
        "address cycle 3 for command 0x60",
        "data output beyond the 2112 bytes of a page",
        "data input beyond the 2112 bytes of a page",
        "command 0x90 while busy (read)",
    ):
        assert message in log, message
