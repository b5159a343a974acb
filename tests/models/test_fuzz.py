# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The seeded fuzzer (`tangolab torture fuzz`) against the tango4 models, its
reproducers, bad QMP values, and the regression tests of its findings."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tangolab.errors import QmpCommandError
from tangolab.qtest import QemuExited, QTestMachine
from tangolab.torture.fuzz import PAGES, fuzz, replay

CI_OPS = 30_000  # about a second


def test_a_short_seeded_run_finds_nothing(qemu_path: Path, tmp_path: Path) -> None:
    report = fuzz(CI_OPS, 1, qemu=qemu_path, out_dir=tmp_path, session_ops=10_000)
    found = [f"{f.kind}: {f.summary} ({f.reproducer})\n{f.stderr_tail}" for f in report.findings]
    assert found == []
    assert report.ops >= CI_OPS and report.sessions == 3 and report.migrations == 0
    assert list(tmp_path.iterdir()) == []  # reproducers are written for findings only


def test_a_short_run_with_migrations_finds_nothing(qemu_path: Path, tmp_path: Path) -> None:
    """The same with the machine saved and loaded into a fresh QEMU at random moments
    (`--migrate`; seed 5 found the NFC's post-read state that did not load)."""
    report = fuzz(60_000, 5, qemu=qemu_path, out_dir=tmp_path, migrate=True)
    found = [f"{f.kind}: {f.summary} ({f.reproducer})\n{f.stderr_tail}" for f in report.findings]
    assert found == []
    assert report.migrations >= 3


def test_a_dying_qemu_is_a_finding_with_a_reproducer(qemu_path: Path, tmp_path: Path) -> None:
    """A reproducer whose QEMU goes away is replayed as a crash."""
    script = tmp_path / "quit.qtest"
    quit_ = json.dumps({"execute": "quit", "arguments": {}})
    script.write_text(f"writel 0x40008 0x21\n# flush\n# qmp {quit_}\nreadl 0x4010c\n# flush\n")
    found = replay(script, qemu=qemu_path, timeout=5)
    assert found is not None and found.kind == "crash", found


def test_a_reproducer_that_survives_replays_clean(qemu_path: Path, tmp_path: Path) -> None:
    script = tmp_path / "ok.qtest"
    bad = json.dumps(
        {"execute": "qom-set", "arguments": {"path": "/machine/sbox", "property": "latency-ns",
                                              "value": "abc"}}
    )  # fmt: skip
    script.write_text(f"writel 0x40008 0x21\nclock_step 1000\n# flush\n# qmp {bad}\n")
    assert replay(script, qemu=qemu_path, timeout=5) is None


LIMIT = 1_000_000_000  # 1 s
BAD_VALUES: list[tuple[str, str, Any, list[Any]]] = [
    ("/machine/sbox", "latency-ns", 5000, ["abc", -1, LIMIT + 1, 1.5, None]),
    ("/machine/sbox", "jitter-ns", 700, ["5us", -1, LIMIT + 1]),
    ("/machine/sbox", "bandwidth", 10**6, [1023, 1, "fast"]),
    ("/machine/sbox", "jitter", "uniform", ["bogus", 3, ""]),
    ("/machine/mchan2", "irq-delay-ns", 20_000, ["x", -1, LIMIT + 1]),
    ("/machine/nand0", "t-prog-ns", 300_000, [65_535_001, -1, "slow", 2.5]),
    ("/machine/nand0", "mark-bad", 3, [PAGES, -1, "x"]),
]


@pytest.mark.parametrize(("path", "prop", "good", "bad"), BAD_VALUES)
def test_bad_qmp_values_are_refused_and_change_nothing(
    tango4: QTestMachine, path: str, prop: str, good: Any, bad: list[Any]
) -> None:
    tango4.qom_set(path, prop, good)
    for value in bad:
        with pytest.raises(QmpCommandError) as e:
            tango4.qom_set(path, prop, value)
        assert "\n" not in e.value.desc and e.value.desc, value
        assert tango4.qom_get(path, prop) == good, value
    assert tango4.qmp("query-status")["status"] == "running"


# --- regression tests of findings ----------------------------------------------


def test_a_negative_bandwidth_is_refused(tango4: QTestMachine) -> None:
    """Finding (issue 14, fixed in 5e08f23): QEMU's uint64 visitor wraps -5 to
    2**64-5, which passed the 'at least 1024' check: the route ran unlimited."""
    tango4.qom_set("/machine/sbox", "bandwidth", 10**6)
    with pytest.raises(QmpCommandError):
        tango4.qom_set("/machine/sbox", "bandwidth", -5)
    assert tango4.qom_get("/machine/sbox", "bandwidth") == 10**6


BLOCKS = 16
IMAGE_SIZE = BLOCKS * 64 * 2112


def test_a_slightly_truncated_image_is_refused(qemu_path: Path, tmp_path: Path) -> None:
    """Finding (issue 14): onfi-nand compared blk_getlength(), which QEMU
    rounds up to 512-byte sectors, with the exact image size, so an image up
    to 511 bytes short was accepted and grown by the first program at its
    end. It is refused now with the sizes in the error, the image untouched;
    one a whole sector short was refused before and still is."""
    for short in (100, 511, 512):
        image = tmp_path / f"short{short}.img"
        data = bytes(range(256)) * ((IMAGE_SIZE - short) // 256) + b"\xff" * (
            (IMAGE_SIZE - short) % 256
        )
        image.write_bytes(data)
        args = ["-global", f"onfi-nand.blocks={BLOCKS}",
                "-drive", f"if=mtd,index=0,format=raw,file={image}"]  # fmt: skip
        m = QTestMachine(args, qemu=qemu_path, timeout=10)
        with pytest.raises(QemuExited) as refused:
            m.start()
        m.close()
        message = str(refused.value)
        assert f"is {IMAGE_SIZE - short} bytes" in message, message
        assert f"exactly {IMAGE_SIZE} bytes" in message, message
        assert image.read_bytes() == data, "QEMU changed the image"


def test_a_crash_mid_run_is_reported_with_a_reproducer(qemu_path: Path, tmp_path: Path) -> None:
    """A QEMU that dies mid-run (here: SIGSEGV from outside, 1 s in) is a
    finding with its log saved; that log replays clean on a healthy QEMU."""
    wrapper = tmp_path / "qemu-dies"
    wrapper.write_text(f'#!/bin/sh\n(sleep 1; kill -SEGV $$) &\nexec {qemu_path} "$@"\n')
    wrapper.chmod(0o755)
    out = tmp_path / "out"
    report = fuzz(200_000, 3, qemu=wrapper, out_dir=out, session_ops=200_000)
    assert report.findings, "the crash was not seen"
    first = report.findings[0]
    assert first.kind == "crash", first
    assert first.reproducer is not None and first.reproducer.parent == out
    text = first.reproducer.read_text()
    assert "# finding: crash" in text and text.count("\n") > 100
    assert replay(first.reproducer, qemu=qemu_path, timeout=10) is None


def test_a_qemu_that_stops_answering_is_a_hang(qemu_path: Path, tmp_path: Path) -> None:
    from tangolab.qtest import QTestTimeout
    from tangolab.torture.fuzz import Session, classify

    session = Session(qemu_path, tmp_path, timeout=1.0, batch=4)
    pid = session.machine.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a QEMU stuck in a loop, as qtest sees it
    try:
        with pytest.raises(QTestTimeout) as e:
            for _ in range(4):
                session.send(("q", "readl 0x4010c"))
        assert classify(e.value) == "hang"
    finally:
        session.kill()
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped


@pytest.mark.parametrize(
    "addr_cycles",
    [(0xD4, 0x0C, 0x19, 0x01), (0x00, 0x00, 0xFF, 0xFF)],
    ids=["column-3284", "row-65535"],
)
def test_a_program_beyond_the_page_migrates(
    qemu_path: Path, tmp_path: Path, addr_cycles: tuple[int, ...]
) -> None:
    """Finding (issue 14, torture fuzz --migrate, seed 1; fixed in 5e08f23): a
    PROGRAM's address cycles beyond the page or the chip left a state that
    onfi_nand_post_load() refused."""
    state = tmp_path / "state.bin"
    args = ["-m", "64", "-global", f"onfi-nand.blocks={BLOCKS}"]
    src = QTestMachine(args, qemu=qemu_path, timeout=10)
    src.start()
    try:
        src.writeb(0x2_0000, 0x80)  # PBUS chip 0: PROGRAM (PAD_MODE is raw after reset)
        for a in addr_cycles:
            src.writeb(0x2_0004, a)
        src.migrate_to_file(state)
    finally:
        src.close()
    dst = QTestMachine([*args, "-incoming", f"file:{state}"], qemu=qemu_path, timeout=10)
    try:
        dst.start()
        dst.wait_running()
        assert dst.qmp("query-status")["status"] == "running"
    finally:
        dst.close()


def test_a_migrate_line_replays(qemu_path: Path, tmp_path: Path) -> None:
    """`# migrate` in a reproducer saves the machine and loads it into a fresh
    QEMU, which goes on from there (the route written before is still set)."""
    script = tmp_path / "m.qtest"
    cycles = "".join(f"writeb 0x20004 {a:#x}\n" for a in (0xD4, 0x0C, 0x19, 0x01))
    script.write_text(
        f"writel 0x40008 0x21\nclock_step 1000\n# flush\nwriteb 0x20000 0x80\n{cycles}"
        "# migrate\nreadl 0x40008\n# flush\n# migrate\n"
    )
    assert replay(script, qemu=qemu_path, timeout=10) is None


def test_a_refused_state_is_a_migration_finding(qemu_path: Path, tmp_path: Path) -> None:
    """A fresh QEMU that cannot load the saved state (here: its switch box has
    another fifo-depth) is a finding of kind "migration" carrying QEMU's reason."""
    from tangolab.torture import fuzz as fuzz_module

    script = tmp_path / "m.qtest"
    script.write_text("writel 0x40008 0x21\n# flush\n# migrate\n")

    class OtherChips(fuzz_module.Session):
        def migrate(self) -> None:
            self.args = [*self.args, "-global", "tango4-sbox.fifo-depth=1024"]
            super().migrate()

    real = fuzz_module.Session
    fuzz_module.Session = OtherChips  # type: ignore[misc]
    try:
        found = replay(script, qemu=qemu_path, timeout=10)
    finally:
        fuzz_module.Session = real  # type: ignore[misc]
    assert found is not None and found.kind == "migration", found
    assert "tango4-sbox" in found.stderr_tail, found


def test_the_machine_migrates_after_a_page_read(qemu_path: Path, tmp_path: Path) -> None:
    """Finding (issue 14, torture fuzz --migrate, seed 5; fixed in 5e08f23): after
    a page read had sent its data, the NFC kept olen and post_load refused it."""
    state = tmp_path / "state.bin"
    args = ["-m", "64", "-global", f"onfi-nand.blocks={BLOCKS}"]
    src = QTestMachine(args, qemu=qemu_path, timeout=10)
    src.start()
    try:
        for addr, value in [
            (0x2_08F0, 1 << 31),  # PAD_MODE: NFC
            (0x2_C014, 0 << 24 | 1 << 16 | 2 << 8 | 4),  # XFER_CFG: cs 0, 1 page, 2 steps, 4 meta
            (0x2_C018, 1028 << 16 | 14),  # PKT_0_CFG
            (0x2_C01C, 1024 << 16 | 14),  # PKT_N_CFG
            (0x2_C020, 2048 << 16 | 6),  # BB_CFG
            (0x2_C024, 5),  # ADDR_PAGE
            (0x4_0008, 3),  # sbox: port 1 (channel 1 takes) <- port 3 (NFC)
            (0x2_C004, 1),  # FLASH_CMD: read page
            (0x4_0140, 0x8010_0000),  # channel 1: 2048 bytes into RAM
            (0x4_0144, 2048),
            (0x4_014C, 1 << 1 | 1),
        ]:
            src.writel(addr, value)
        src.clock_step(300_000)
        assert src.readl(0x2_C000) & (1 << 31)  # CMD_READY: the read is over
        src.migrate_to_file(state)
    finally:
        src.close()
    dst = QTestMachine([*args, "-incoming", f"file:{state}"], qemu=qemu_path, timeout=10)
    try:
        dst.start()
        dst.wait_running()
    finally:
        dst.close()
