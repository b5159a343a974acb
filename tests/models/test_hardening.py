# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Hardening of the tango4 models: edge layouts, properties checked at
realize, devices that need board wiring, and migration streams checked
before they are trusted (a crafted stream is refused, QEMU never aborts)."""

from __future__ import annotations

import contextlib
import struct
import time
from collections.abc import Callable
from pathlib import Path

import bchlib
import pytest
from test_nfc import (
    BB_CFG,
    CHAN_PORT,
    METADATA,
    MODE_NFC,
    NFC_PORT,
    PAD_MODE,
    PAGE_IS_EMPTY,
    PKT_0_CFG,
    PKT_N_CFG,
    XFER_CFG,
    XFER_STATUS,
    Nfc,
    pkt_cfg,
    raw_page,
    xfer_cfg,
)
from test_onfi_nand import GUEST_ERRORS, PAGE_SIZE, PAGE_TOTAL, Qt, StartFn, pattern

from tangolab.errors import QmpError
from tangolab.qtest import QTestError, QTestMachine

TANGO4_ARGS = GUEST_ERRORS
TANGO4_INTERCEPT_GIC = False

FailFn = Callable[..., str]

# --- metadata as large as packet 0 -------------------------------------------------

META_ALL = 32  # packet 0 is all metadata: no data byte of it goes through the box


def all_meta_layout(qt: Qt, steps: int) -> None:
    qt.writel(XFER_CFG, xfer_cfg(steps=steps, meta=META_ALL))
    qt.writel(PKT_0_CFG, pkt_cfg(META_ALL, 4))
    qt.writel(PKT_N_CFG, pkt_cfg(1024, 8))
    qt.writel(BB_CFG, PAGE_SIZE << 16 | 2)


def test_single_packet_of_metadata_only(tango4: Qt) -> None:
    """One packet, all metadata: the program takes no data from the box
    and the read sends none; both complete and the metadata round-trips."""
    qt = tango4
    nfc = Nfc(qt)
    all_meta_layout(qt, steps=1)
    meta = pattern(META_ALL, 3)
    qt.memwrite(METADATA, meta)
    nfc.start(2, 12)
    nfc.wait_ready()
    assert nfc.status() & (3 << 29) == 0  # neither refused nor aborted
    bch = bchlib.BCH(4, prim_poly=0x8003)
    phys = raw_page(qt, 12)
    assert phys[:META_ALL] == meta
    assert phys[META_ALL : META_ALL + 8] == bch.encode(meta)
    assert phys[META_ALL + 8 :] == b"\xff" * (PAGE_TOTAL - META_ALL - 8)

    qt.memwrite(METADATA, b"\x00" * META_ALL)
    nfc.start(1, 12)
    nfc.wait_ready()
    assert qt.memread(METADATA, META_ALL) == meta
    assert qt.readl(XFER_STATUS) & PAGE_IS_EMPTY == 0
    assert nfc.report()[:2] == (0, True)

    # an erased page read the same way: all 0xff metadata, marked empty
    nfc.start(1, 13)
    nfc.wait_ready()
    assert qt.memread(METADATA, META_ALL) == b"\xff" * META_ALL
    assert qt.readl(XFER_STATUS) & PAGE_IS_EMPTY
    assert qt.alive()


def test_metadata_packet_then_data_packet(tango4: Qt) -> None:
    """Packet 0 all metadata, packet 1 data: only packet 1 moves by DMA."""
    qt = tango4
    nfc = Nfc(qt)
    all_meta_layout(qt, steps=2)
    meta = pattern(META_ALL, 4)
    data = pattern(1024, 5)
    qt.memwrite(METADATA, meta)
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.start(2, 20)
    assert not nfc.ready()
    nfc.dma_to_nfc(data)
    nfc.wait_ready()
    qt.writel(PAD_MODE, 0)

    qt.memwrite(METADATA, b"\x00" * META_ALL)
    nfc.route(CHAN_PORT, NFC_PORT)
    nfc.dma_from_nfc(1024)
    nfc.start(1, 20)
    nfc.wait_ready()
    qt.clock_step(100_000)
    assert qt.memread(0x8020_0000, 1024) == data
    assert qt.memread(METADATA, META_ALL) == meta
    assert nfc.report() == (0, True, 0, True)


# --- properties checked at realize, devices that need the board -----------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("tango4-nfc.port=0", "tango4-nfc: port 0 is not a source port of the switch box (1..14)"),
        (
            "tango4-nfc.port=15",
            "tango4-nfc: port 15 is not a source port of the switch box (1..14)",
        ),
        ("tango4-nfc.port=200", "tango4-nfc: port 200 is not a source port"),
        ("tango4-loopback.port=0", "tango4-loopback: port 0 is not a source port (1..14)"),
        ("tango4-loopback.port=16", "tango4-loopback: port 16 is not a source port (1..14)"),
        (
            "tango4-loopback.port=3",
            "tango4-sbox: port 3 already delivers to nfc, cannot attach loopback",
        ),
        ("tango4-loopback.port=1", "tango4-sbox: port 1 already delivers to mchan1"),
        ("onfi-nand.blocks=0", "nand0: blocks must be a power of 2 from 1 to 1024, not 0"),
        ("onfi-nand.blocks=3", "nand0: blocks must be a power of 2 from 1 to 1024, not 3"),
        ("onfi-nand.blocks=2048", "nand0: blocks must be a power of 2 from 1 to 1024, not 2048"),
    ],
)
def test_bad_property_refuses_to_start(
    start_tango4_fails: FailFn, setting: str, message: str
) -> None:
    err = start_tango4_fails("-global", setting)
    assert message in err


@pytest.mark.parametrize(
    "device", ["onfi-nand", "tango4-nfc", "tango4-sbox", "tango4-mchan", "tango4-loopback"]
)
def test_board_devices_are_not_user_creatable(start_tango4_fails: FailFn, device: str) -> None:
    err = start_tango4_fails("-device", device)
    assert "expects a pluggable device type" in err


# --- migration streams ----------------------------------------------------------------

SMALL = ("-m", "64", "-global", "onfi-nand.blocks=16")
SECTION_FULL = 0x04


def section_offset(stream: bytes, idstr: str, instance: int = 0) -> int:
    """Offset of the first field of a device's section in a saved stream."""
    name = idstr.encode()
    head = bytes([len(name)]) + name + struct.pack(">I", instance)
    pos = stream.find(head)
    while pos >= 0 and stream[pos - 5] != SECTION_FULL:
        pos = stream.find(head, pos + 1)
    assert pos >= 0, f"no section {idstr} instance {instance} in the stream"
    return pos + len(head) + 4  # after the version id


def load_refused(qemu_path: Path, state: Path, device: str) -> None:
    dst = QTestMachine([*SMALL, "-incoming", f"file:{state}"], qemu=qemu_path, timeout=5.0)
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
    assert f"error while loading state for instance 0x0 of device '{device}'" in err, err
    assert "Aborted" not in err and "assertion" not in err


# (device, field offset in its section, width, value saved, crafted value)
NFC_PAD_MODE = 48 + 0x800 + 4
NFC_FIFO_HEAD = NFC_PAD_MODE + 4 + 4096
NFC_STATE = NFC_FIFO_HEAD + 8 + 4096 + 12
ONFI_T_R = 4 + 4 + 1 + 4 * 5 + 3 + 2112 + 10 + 8 * 3 + 4
ONFI_BUSY_START = ONFI_T_R - 4 - 8 * 3
SBOX_FIFO5_COUNT = 92 + 17 + 13 * 5 + 4
CRAFTED = [
    ("tango4-nfc", NFC_PAD_MODE, 4, MODE_NFC, MODE_NFC | 1),
    ("tango4-nfc", NFC_FIFO_HEAD, 4, 0, 4096),
    ("tango4-nfc", NFC_FIFO_HEAD + 4, 4, 0, 4097),
    ("tango4-nfc", NFC_STATE, 4, 0, 7),
    ("tango4-nfc", NFC_STATE, 4, 0, 3),  # a program with a read's command
    ("onfi-nand", ONFI_T_R, 8, 25_000, 1 << 63),
    ("onfi-nand", ONFI_BUSY_START, 8, 0, (1 << 64) - 1000),
    ("tango4-sbox", SBOX_FIFO5_COUNT, 4, 0, 1),  # a burst for a port with no receiver
    ("tango4-loopback", 8192, 4, 0, 8192),
    ("tango4-loopback", 8196, 4, 0, 9000),
]


# a valid layout: 2 steps of 1024 bytes, 4 metadata bytes, strength 14
CUR_LAYOUT = (0x0001_0204, 1028 << 16 | 14, 1024 << 16 | 14, 2048 << 16 | 6)


def save(start_tango4: StartFn, tmp_path: Path) -> bytearray:
    src = start_tango4(*SMALL)
    src.writel(PAD_MODE, MODE_NFC)
    state = tmp_path / "state.bin"
    src.migrate_to_file(state)
    src.close()
    return bytearray(state.read_bytes())


def craft(stream: bytearray, device: str, offset: int, width: int, saved: int, value: int) -> None:
    at = section_offset(stream, device) + offset
    fmt = ">I" if width == 4 else ">Q"
    assert struct.unpack_from(fmt, stream, at)[0] == saved, "the field is where the test expects it"
    struct.pack_into(fmt, stream, at, value)


def program_in_progress(stream: bytearray, cmd: int, page: int) -> None:
    """State PROG_DATA with the configuration it started with."""
    craft(stream, "tango4-nfc", NFC_STATE, 4, 0, 3)
    craft(stream, "tango4-nfc", NFC_STATE + 4, 4, 0, cmd)
    craft(stream, "tango4-nfc", NFC_STATE + 8, 4, 0, page)
    for i, value in enumerate(CUR_LAYOUT):
        craft(stream, "tango4-nfc", NFC_STATE + 12 + 4 * i, 4, 0, value)


@pytest.mark.parametrize(("device", "offset", "width", "saved", "value"), CRAFTED)
def test_crafted_stream_is_refused(
    start_tango4: StartFn,
    qemu_path: Path,
    tmp_path: Path,
    device: str,
    offset: int,
    width: int,
    saved: int,
    value: int,
) -> None:
    stream = save(start_tango4, tmp_path)
    craft(stream, device, offset, width, saved, value)
    crafted = tmp_path / "crafted.bin"
    crafted.write_bytes(bytes(stream))
    load_refused(qemu_path, crafted, device)


@pytest.mark.parametrize(("cmd", "page"), [(1, 5), (2, 16 * 64)])
def test_crafted_command_in_progress_is_refused(
    start_tango4: StartFn, qemu_path: Path, tmp_path: Path, cmd: int, page: int
) -> None:
    """A program whose command says read, or whose page is beyond the chip."""
    stream = save(start_tango4, tmp_path)
    program_in_progress(stream, cmd, page)
    crafted = tmp_path / "crafted.bin"
    crafted.write_bytes(bytes(stream))
    load_refused(qemu_path, crafted, "tango4-nfc")


def test_crafted_program_in_progress_is_taken(start_tango4: StartFn, tmp_path: Path) -> None:
    """The control: the same program in progress, consistent, loads and
    completes once its data comes."""
    stream = save(start_tango4, tmp_path)
    program_in_progress(stream, 2, 5)
    crafted = tmp_path / "crafted.bin"
    crafted.write_bytes(bytes(stream))
    dst = start_tango4(*SMALL, "-incoming", f"file:{crafted}")
    dst.wait_running()
    nfc = Nfc(dst)
    assert not nfc.ready()
    nfc.route(NFC_PORT, CHAN_PORT)
    nfc.dma_to_nfc(pattern(PAGE_SIZE, 9))
    nfc.wait_ready()


# --- the SoC container and the board ---------------------------------------------


def test_soc_container_and_the_old_paths(tango4: Qt) -> None:
    """The SoC's devices are children of /machine/soc; /machine keeps links
    to them under their old names, and the board's own NAND chips and
    loopback device."""
    soc = {c["name"]: c["type"] for c in tango4.qmp("qom-list", path="/machine/soc")}
    assert soc["sbox"] == "child<tango4-sbox>"
    assert soc["nfc"] == "child<tango4-nfc>"
    assert soc["a9mpcore"] == "child<a9mpcore_priv>"
    assert all(soc[f"mchan{n}"] == "child<tango4-mchan>" for n in range(4))
    assert soc["cpu[0]"].startswith("child<cortex-a9")
    machine = {c["name"]: c["type"] for c in tango4.qmp("qom-list", path="/machine")}
    assert machine["soc"] == "child<tango4-soc>"
    assert machine["sbox"] == "link<tango4-sbox>"
    assert machine["nand0"] == "child<onfi-nand>"
    assert machine["loopback"] == "child<tango4-loopback>"
    assert tango4.qom_get("/machine/sbox", "fifo-depth") == 512
    assert tango4.qom_get("/machine/mchan3", "port") == 2


def test_loopback_is_opt_out(start_tango4: StartFn) -> None:
    qt = start_tango4("-M", "tango4,sbox-loopback=off")
    machine = {c["name"] for c in qt.qmp("qom-list", path="/machine")}
    assert "loopback" not in machine
    assert "nand0" in machine


def test_chip_without_a_drive_is_a_ram_block(start_tango4: StartFn) -> None:
    """Its array migrates with the RAM (iteratively), not as device state."""
    qt = start_tango4(*SMALL)
    blocks = qt.qmp("human-monitor-command", **{"command-line": "info ramblock"})
    line = next(x for x in blocks.splitlines() if "nand0.array" in x)
    assert f"{16 * 64 * PAGE_TOTAL:#018x}" in line
