# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A seeded fuzzer against the tango4 device models, over qtest and QMP.

`fuzz(ops, seed)` starts ``-M tango4`` under qtest (64 MiB of RAM, two NAND
chips of 16 blocks on scratch images) and sends random operations: register
writes with real field values (sbox resets and routes; memory-channel
programs into RAM with random addresses, counts and modes, STOP; NFC
configurations, FLASH_CMD with aborts; PBUS chip cycles and whole ONFI
command sequences; PAD_MODE), malformed accesses (random offsets, widths
and values in and around every block), guest memory writes, clock steps,
and QMP at random moments (``qom-set`` of the fault properties within and
outside their ranges, ``qom-get`` of counters, ``system_reset``). A QMP
refusal is an expected answer; QEMU exiting, a qtest request without an
answer in time, or a sanitizer report on QEMU's stderr is a *finding*.

qtest requests go in batches (QEMU handles the lines of one write back to
back, as a vCPU's consecutive accesses); the log of a session (qtest lines,
``# qmp JSON`` lines, ``# flush`` after each batch) is saved as the
reproducer of a finding, and `replay` sends such a file to a fresh QEMU set
up the same way. A session ends after `session_ops` operations or a finding;
the next one starts a fresh QEMU.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tangolab.errors import QmpCommandError, QmpError, TangolabError
from tangolab.lifetime import owned_tempdir
from tangolab.qtest import QemuExited, QTestError, QTestMachine, QTestTimeout
from tangolab.sanitizers import reports

RAM = 0x8000_0000
RAM_MIB = 64
RAM_SIZE = RAM_MIB << 20
BLOCKS = 16
PAGES = BLOCKS * 64
DRIVES = 2
SBOX = 0x0004_0000
MCHAN = 0x0004_0100
NFC = 0x0002_C000
NFC_MEM = 0x0002_D000
PBUS = 0x0002_0000
CS_CTRL = PBUS + 0x83C
PAD_MODE = PBUS + 0x8F0
MODE_NFC = 1 << 31
ABORT = 1 << 31

#: Regions for malformed accesses: the blocks and the gaps around them.
REGIONS: tuple[tuple[int, int], ...] = (
    (SBOX, 0x100),
    (MCHAN, 0x100),
    (NFC, 0x40),
    (NFC_MEM, 0x800),
    (PBUS, 0x1000),
    (0x0001_0700, 0x100),  # the UART
)
ONFI_COMMANDS = (0xFF, 0x90, 0xEC, 0x00, 0x30, 0x05, 0xE0, 0x80, 0x85, 0x10, 0x60, 0xD0, 0x70)
SANITIZER = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"Assertion .* failed|assertion failed|qemu: hardware error|\*\*\s*ERROR:\S*:|"
    r"Segmentation fault"
)


PROGRESS_EVERY = 50_000


class MigrationFailed(QTestError):
    """Saving the machine failed, or a fresh QEMU refused the saved state."""


class FuzzError(TangolabError):
    """The fuzzer could not run (no QEMU, a replay file it cannot read)."""


@dataclass
class Finding:
    kind: str  # crash, hang, migration, qtest-error, sanitizer
    summary: str
    ops: int  # operations sent in the session before it was seen
    reproducer: Path | None = None
    stderr_tail: str = ""


@dataclass
class FuzzReport:
    ops: int = 0
    seconds: float = 0.0
    sessions: int = 0
    qmp_refused: int = 0
    migrations: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


Op = tuple[str, Any]  # ("q", "writel 0x... 0x...") or ("qmp", (command, arguments))


class Generator:
    """Random operations from Random(seed); `ops()` yields lists of them."""

    def __init__(self, rng: random.Random, *, migrate: bool = False) -> None:
        self.rng = rng
        self.kinds: list[Callable[[], list[Op]]] = []
        weights: list[float] = []
        for fn, w in (
            (self.sbox_reset, 1.5),
            (self.sbox_route, 6),
            (self.mchan_program, 8),
            (self.mchan_stop, 3),
            (self.mchan_read, 3),
            (self.nfc_config, 5),
            (self.nfc_command, 5),
            (self.pad_mode, 3),
            (self.nfc_read, 3),
            (self.nfc_memory, 2),
            (self.pbus_cycle, 6),
            (self.onfi_sequence, 2),
            (self.ram_write, 2),
            (self.dma_flow, 4),
            (self.nfc_page, 4),
            (self.malformed, 6),
            (self.clock, 9),
            (self.qmp_fault, 1.2),
            (self.qmp_counter, 0.3),
            (self.qmp_reset, 0.05),
            (self.migrate, 0.05 if migrate else 0.0),
        ):
            self.kinds.append(fn)
            weights.append(w)
        total = sum(weights)
        self._cum = [sum(weights[: i + 1]) / total for i in range(len(weights))]

    def next(self) -> list[Op]:
        x = self.rng.random()
        for fn, c in zip(self.kinds, self._cum, strict=True):
            if x <= c:
                return fn()
        return self.kinds[-1]()

    # --- helpers ---------------------------------------------------------------

    def _pick(self, *values: int) -> int:
        return values[self.rng.randrange(len(values))]

    def _r32(self) -> int:
        return self.rng.getrandbits(32)

    @staticmethod
    def w(width: int, addr: int, value: int) -> Op:
        name = {1: "writeb", 2: "writew", 4: "writel", 8: "writeq"}[width]
        return ("q", f"{name} {addr:#x} {value & ((1 << (8 * width)) - 1):#x}")

    @staticmethod
    def r(width: int, addr: int) -> Op:
        name = {1: "readb", 2: "readw", 4: "readl", 8: "readq"}[width]
        return ("q", f"{name} {addr:#x}")

    def ram_addr(self, size: int = 1) -> int:
        rng = self.rng
        if rng.random() < 0.05:
            return self._r32()  # anywhere: the channel must report an error
        off = rng.randrange(max(1, RAM_SIZE - size))
        if rng.random() < 0.03:
            off = RAM_SIZE - rng.randrange(1, 256)  # across the end of RAM
        return RAM + (off & ~rng.choice((0, 0, 3, 63)))

    # --- sbox ------------------------------------------------------------------

    def sbox_reset(self) -> list[Op]:
        value = self._pick(0, 0, 0xFFFF_FFFF, 0xFF00_FF00, 0x00FF_00FF, 1, self._r32())
        return [self.w(4, SBOX + self.rng.choice((0x0, 0x4)), value)]

    def sbox_route(self) -> list[Op]:
        rng = self.rng
        if rng.random() < 0.1:
            value = self._pick(0xFFFF_FFFF, 0, self._r32())
        else:
            value = 0
            for _ in range(rng.choice((1, 1, 2, 3))):
                dst = rng.randrange(8)
                src = self._pick(1, 1, 2, 2, 3, 3, 4, 0xF, rng.randrange(16))
                value |= src << (4 * dst)
        return [self.w(4, SBOX + rng.choice((0x8, 0x8, 0xC)), value)]

    # --- memory channels ---------------------------------------------------------

    def _chan(self) -> int:
        return MCHAN + self.rng.randrange(4) * 0x40

    def mchan_program(self) -> list[Op]:
        rng = self.rng
        base = self._chan()
        mode = self._pick(1, 1, 1, 1, 2, 2, 3, 3, 0, rng.randrange(8))
        small = (1, 2, 63, 64, 65, 512, 2048, 2112, 4096)
        addr2 = 0
        if mode == 2:
            count = self._pick(*small, rng.randrange(1, 4096)) | (
                self._pick(0, *small, rng.randrange(4096)) << 16
            )
            addr2 = self.ram_addr(4096)
        elif mode == 3:
            width = self._pick(1, 16, 64, 100, 512, rng.randrange(1, 2048))
            lines = self._pick(1, 2, 3, 8, rng.randrange(1, 64))
            count = width | lines << 16
            addr2 = self._pick(0, width, width + 64, rng.randrange(8192), self._r32())
        else:
            count = self._pick(*small, 0, rng.randrange(1, 8192), rng.randrange(1 << 20))
        if rng.random() < 0.02:
            count = self._r32()
        stop = 0x10 if rng.random() < 0.02 else 0  # STOP with a mode: malformed
        ops = [
            self.w(4, base + 0x0, self.ram_addr(count & 0xFFFF)),
            self.w(4, base + 0x4, count),
            self.w(4, base + 0x8, addr2),
            self.w(4, base + 0xC, mode << 1 | rng.randrange(2) | stop),
        ]
        if rng.random() < 0.2:
            ops = ops[rng.randrange(4) :]  # a partial re-programming
        return ops

    def mchan_stop(self) -> list[Op]:
        return [self.w(4, self._chan() + 0xC, 0x10)]

    def mchan_read(self) -> list[Op]:
        return [self.r(4, self._chan() + self.rng.choice((0x0, 0x4, 0x8, 0xC, 0xC)))]

    def _route(self, dst: int, src: int) -> Op:
        reg = SBOX + (0x8 if dst <= 8 else 0xC)
        return self.w(4, reg, src << (4 * ((dst - 1) % 8)))

    def _program(self, chan: int, addr: int, count: int, mode: int = 1) -> list[Op]:
        base = MCHAN + chan * 0x40
        return [
            self.w(4, base + 0xC, 0x10),  # STOP whatever runs
            self.w(4, base, addr),
            self.w(4, base + 0x4, count),
            self.w(4, base + 0x8, 0),
            self.w(4, base + 0xC, mode << 1 | 1),
        ]

    def _steps(self) -> list[Op]:
        return [self.clock()[0] for _ in range(self.rng.randrange(1, 4))]

    def dma_flow(self) -> list[Op]:
        """A whole transfer through the box: channel to channel or through the
        loopback, with a route torn down or a STOP at a random point."""
        rng = self.rng
        n = self._pick(64, 512, 1000, 2048, 4096, rng.randrange(1, 20000))
        src, dst = self.ram_addr(n), self.ram_addr(n)
        if rng.random() < 0.5:
            ops = [self._route(2, 1), *self._program(3, dst, n), *self._program(0, src, n)]
        else:  # out of port 1 into the loopback (port 4) and back into port 2
            ops = [self._route(4, 1), self._route(2, 4)]
            ops += [*self._program(3, dst, n), *self._program(0, src, n)]
        ops += self._steps()
        if rng.random() < 0.3:
            ops.insert(rng.randrange(len(ops)), self._route(self._pick(2, 4), 0xF))
        if rng.random() < 0.1:
            ops.insert(rng.randrange(len(ops)), self.mchan_stop()[0])
        return ops

    def nfc_page(self) -> list[Op]:
        """The Linux driver's page program or read, perturbed at random: an
        abort, a torn-down route, PAD_MODE raw, a clock step in between."""
        rng = self.rng
        cs = self._pick(0, 0, 0, 1)
        page = rng.randrange(PAGES)
        ops = [
            self.w(4, PAD_MODE, MODE_NFC),
            self.w(4, NFC + 0x14, cs << 24 | 1 << 16 | 2 << 8 | 4),
            self.w(4, NFC + 0x18, 1028 << 16 | 14),
            self.w(4, NFC + 0x1C, 1024 << 16 | 14),
            self.w(4, NFC + 0x20, 2048 << 16 | 6),
            self.w(4, NFC + 0x24, page),
            self.w(4, NFC + 0x28, 0),
        ]
        buf = self.ram_addr(2048)
        n = self._pick(2048, 2048, 2048, 1024, 2000, 4096)
        if rng.random() < 0.5:  # program: memory channel 0 (port 1) -> NFC (port 3)
            ops += [self.w(4, NFC_MEM, self._r32()), self._route(3, 1)]
            cmd, dma = self.w(4, NFC + 0x4, 2), self._program(0, buf, n)
        else:  # read: NFC (port 3) -> memory channel 1 (port 1)
            ops += [self._route(1, 3)]
            cmd, dma = self.w(4, NFC + 0x4, 1), self._program(1, buf, n)
        flow = [cmd, *dma] if rng.random() < 0.5 else [*dma, cmd]  # either order works
        ops += flow + self._steps()
        trouble = rng.random()
        if trouble < 0.15:
            ops.insert(rng.randrange(7, len(ops) + 1), self.w(4, NFC + 0x4, ABORT))
        elif trouble < 0.3:
            ops.insert(rng.randrange(7, len(ops) + 1), self.w(4, PAD_MODE, 0))
        elif trouble < 0.45:
            ops.insert(rng.randrange(7, len(ops) + 1), self._route(self._pick(1, 3), 0xF))
        ops += [self.r(4, NFC), self.r(4, NFC + 0x2C), *self._steps()]
        if rng.random() < 0.5:  # let a program (tPROG 200 us) or read end
            ops += [("q", "clock_step 1000000"), self.r(4, NFC), self.r(4, NFC + 0x2C)]
        return ops

    # --- NAND flash controller -------------------------------------------------

    def nfc_config(self) -> list[Op]:
        rng = self.rng
        cs = self._pick(0, 0, 0, 1, 1, 2, 3, rng.randrange(256))
        pages = self._pick(1, 1, 1, 1, 0, 2)
        steps = self._pick(2, 2, 1, 3, 0, 4, rng.randrange(256))
        meta = self._pick(4, 4, 0, 8, 1024, rng.randrange(256))
        size0 = self._pick(1028, 1024, 1028, 512, 0, 2048, 4096, rng.randrange(1 << 16))
        sizen = self._pick(1024, 1024, 512, 0, 2112, rng.randrange(1 << 16))
        strength = self._pick(14, 14, 8, 4, 1, 0, 32, 33, rng.randrange(1 << 16))
        bbm = self._pick(2048 << 16 | 6, 2048 << 16 | 6, 0, 2110 << 16 | 6, self._r32())
        page = self._pick(rng.randrange(PAGES), rng.randrange(PAGES), PAGES, PAGES - 1, self._r32())
        regs = [
            (0x14, cs << 24 | pages << 16 | steps << 8 | meta),
            (0x18, size0 << 16 | strength),
            (0x1C, sizen << 16 | strength),
            (0x20, bbm),
            (0x24, page),
            (0x28, self._pick(0, 0, 0, 0, 0, 1, self._r32())),
            (0x08, self._r32()),
            (0x0C, self._r32()),
            (0x10, self._r32()),
        ]
        chosen = regs[:6] if rng.random() < 0.5 else rng.sample(regs, rng.randrange(1, 4))
        return [self.w(4, NFC + off, value) for off, value in chosen]

    def nfc_command(self) -> list[Op]:
        rng = self.rng
        ops = [self.w(4, PAD_MODE, MODE_NFC)] if rng.random() < 0.5 else []
        cmd = self._pick(1, 2, 2, 1, ABORT, ABORT, 0, 3, self._r32())
        return [*ops, self.w(4, NFC + 0x4, cmd)]

    def pad_mode(self) -> list[Op]:
        return [self.w(4, PAD_MODE, self._pick(MODE_NFC, MODE_NFC, 0, self._r32()))]

    def nfc_read(self) -> list[Op]:
        return [self.r(4, NFC + self.rng.choice((0x0, 0x0, 0x4, 0x2C, 0x14)))]

    def nfc_memory(self) -> list[Op]:
        rng = self.rng
        width = rng.choice((1, 2, 4))
        off = rng.choice((0, 0, 4, 0x1C0, rng.randrange(0x800))) & ~(width - 1)
        if rng.random() < 0.6:
            return [self.w(width, NFC_MEM + off, self._r32())]
        return [self.r(width, NFC_MEM + off)]

    # --- PBUS --------------------------------------------------------------------

    def _cs(self) -> int:
        return PBUS + self._pick(0, 0, 0, 1, 1, 2, 3) * 0x100

    def pbus_cycle(self) -> list[Op]:
        rng = self.rng
        base = self._cs()
        kind = rng.randrange(6)
        width = rng.choice((1, 1, 1, 2, 4))
        if kind == 0:
            return [self.w(width, base, self._pick(*ONFI_COMMANDS, rng.randrange(256)))]
        if kind == 1:
            return [self.w(width, base + 4, rng.randrange(256))]
        if kind == 2:
            return [self.w(width, base + 8, rng.randrange(256))]
        if kind == 3:
            return [self.r(width, base + 8)]
        if kind == 4:
            return [self.r(4, CS_CTRL)] if rng.random() < 0.7 else [self.w(4, CS_CTRL, self._r32())]
        return [self.w(4, PAD_MODE, 0)]

    def onfi_sequence(self) -> list[Op]:
        """A whole chip command through PBUS (raw mode first)."""
        rng = self.rng
        base = self._cs()
        ops: list[Op] = [self.w(4, PAD_MODE, 0)] if rng.random() < 0.8 else []
        page = rng.randrange(PAGES + 8)
        col = self._pick(0, 0, 2048, rng.randrange(2112), rng.randrange(1 << 16))
        addr4 = [col & 0xFF, col >> 8 & 0xFF, page & 0xFF, page >> 8 & 0xFF]
        which = rng.randrange(6)

        def cmd(c: int) -> Op:
            return self.w(1, base, c)

        def addr(values: list[int]) -> list[Op]:
            return [self.w(1, base + 4, v) for v in values]

        if which == 0:  # READ ID / ONFI signature
            ops += [cmd(0x90), *addr([self._pick(0x00, 0x20)])]
            ops += [self.r(1, base + 8) for _ in range(rng.randrange(1, 8))]
        elif which == 1:  # READ PARAMETER PAGE
            ops += [cmd(0xEC), *addr([0]), self.r(1, base + 8), self.r(1, base + 8)]
        elif which == 2:  # READ
            ops += [cmd(0x00), *addr(addr4), cmd(0x30)]
            ops += [self.r(1, base + 8) for _ in range(rng.randrange(0, 16))]
        elif which == 3:  # PROGRAM
            ops += [cmd(0x80), *addr(addr4)]
            ops += [self.w(1, base + 8, rng.randrange(256)) for _ in range(rng.randrange(0, 32))]
            ops += [cmd(self._pick(0x10, 0x10, 0x85))]
        elif which == 4:  # ERASE
            ops += [cmd(0x60), *addr(addr4[2:]), cmd(0xD0)]
        else:  # READ STATUS, RESET
            ops += [cmd(self._pick(0x70, 0xFF)), self.r(1, base + 8)]
        if rng.random() < 0.3:
            ops = ops[: rng.randrange(1, len(ops) + 1)]  # cut short
        return ops

    # --- memory, malformed accesses, time --------------------------------------

    def ram_write(self) -> list[Op]:
        data = self.rng.randbytes(self.rng.randrange(1, 256))
        addr = RAM + self.rng.randrange(RAM_SIZE - len(data))
        return [("q", f"write {addr:#x} {len(data):#x} 0x{data.hex()}")]

    def malformed(self) -> list[Op]:
        rng = self.rng
        base, size = rng.choice(REGIONS)
        width = rng.choice((1, 2, 4, 8))
        addr = base + rng.randrange(size)
        if rng.random() < 0.7:
            addr &= ~(width - 1)
        if rng.random() < 0.6:
            value = self._pick(
                0, 1, 0x10, 0x80, 0xFF, 0xFFFF_FFFF, self._r32(), rng.getrandbits(64)
            )
            return [self.w(width, addr, value)]
        return [self.r(width, addr)]

    def clock(self) -> list[Op]:
        ns = self._pick(1, 10, 100, 1000, 5000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000)
        return [("q", f"clock_step {ns}")]

    # --- QMP ---------------------------------------------------------------------

    def qmp_fault(self) -> list[Op]:
        rng = self.rng
        big = (1 << 64) - 1
        target = rng.randrange(4)
        value: Any
        if target == 0:
            path = "/machine/sbox"
            prop = rng.choice(("latency-ns", "jitter", "jitter-ns", "seed", "bandwidth"))
            if prop == "jitter":
                value = rng.choice(("none", "uniform", "exponential", "exponential", "bogus", 3))
            elif prop == "bandwidth":
                value = self._pick(0, 0, 1024, 1023, 1, 10**6, 10**8, 10**10, big)
            elif prop == "seed":
                value = self._pick(rng.getrandbits(64), 0, -1)
            else:
                value = self._pick(0, 0, 100, 1000, 5000, 50_000, 10**6, 10**9, 10**9 + 1, -1)
            if rng.random() < 0.03:
                value = rng.choice(("5us", "abc", 1.5, None, [], {}))
        elif target == 1:
            path = f"/machine/mchan{self._pick(0, 1, 2, 3, 4)}"
            prop = "irq-delay-ns"
            value = self._pick(0, 0, 1000, 20_000, 10**6, 10**9, 10**9 + 1, -1)
        elif target == 2:
            path = f"/machine/nand{self._pick(0, 0, 1, 3)}"
            prop = rng.choice(("t-r-ns", "t-prog-ns", "t-bers-ns"))
            value = self._pick(0, 1, 1000, 25_000, 200_000, 700_000, 65_535_000, 65_535_001, -5)
            if rng.random() < 0.03:
                value = rng.choice(("fast", 2.5, True))
        else:
            path = f"/machine/nand{self._pick(0, 0, 1)}"
            prop = rng.choice(
                ("fail-next-program", "fail-next-erase", "mark-bad", "flip-bits", "power-cut")
            )
            if prop == "mark-bad":
                value = self._pick(0, 1, BLOCKS - 1, BLOCKS, 0xFFFF_FFFF)
            elif prop == "flip-bits":
                value = rng.choice(
                    (
                        f"{rng.randrange(PAGES)}:{rng.randrange(2112)}.{rng.randrange(8)}",
                        f"{rng.randrange(PAGES)}:0x10.3,{rng.randrange(2200)}.{rng.randrange(9)}",
                        f"{PAGES}:0.0",
                        "nonsense",
                        "",
                    )
                )
            elif prop == "power-cut":
                value = rng.random() < 0.3  # rare cuts: a cut chip is off until a reset
            else:
                value = rng.random() < 0.8
        return [("qmp", ("qom-set", {"path": path, "property": prop, "value": value}))]

    def qmp_counter(self) -> list[Op]:
        rng = self.rng
        path, prop = rng.choice(
            (
                ("/machine/sbox", "bytes-dropped"),
                ("/machine/sbox", "bytes-in-flight"),
                ("/machine/mchan0", "bytes"),
                ("/machine/nfc", "aborts"),
                ("/machine/nand0", "pages-programmed"),
            )
        )
        return [("qmp", ("qom-get", {"path": path, "property": prop}))]

    def qmp_reset(self) -> list[Op]:
        return [("qmp", ("system_reset", {}))]

    def migrate(self) -> list[Op]:
        """Save the whole machine to a file and go on in a fresh QEMU loaded from it."""
        return [("migrate", None)]


class Session:
    """One QEMU under qtest, with the log of everything sent to it."""

    def __init__(self, qemu: Path, workdir: Path, *, timeout: float, batch: int) -> None:
        self.workdir = workdir
        self.batch = batch
        self.log: list[str] = [
            "# tangolab torture fuzz reproducer: tangolab torture fuzz --replay THIS-FILE",
            f"# setup: -m {RAM_MIB}, onfi-nand.blocks={BLOCKS}, {DRIVES} erased NAND drives",
        ]
        self.pending: list[str] = []
        self.sent = 0
        self.refused = 0
        images = []
        for cs in range(DRIVES):
            image = workdir / f"nand{cs}.img"
            with open(image, "wb") as f:
                f.truncate(0)
                f.write(b"\xff" * (PAGES * 2112))
            images.append(image)
        args = ["-m", str(RAM_MIB), "-global", f"onfi-nand.blocks={BLOCKS}"]
        for cs, image in enumerate(images):
            args += ["-drive", f"if=mtd,index={cs},format=raw,file={image}"]
        self.args = args
        self.qemu = qemu
        self.timeout = timeout
        self.migrations = 0
        self.machine = QTestMachine(args, qemu=qemu, timeout=timeout, guest_errors=False)
        self.machine.start()

    def migrate(self) -> None:
        """Migrate to a file, stop this QEMU, load the file into a fresh one
        (same images) and set its clock to where the first one was."""
        self.flush()
        self.log.append("# migrate")
        self.sent += 1
        old = self.machine
        now = int(old.command("clock_step", 1)[0])
        state = self.workdir / "state.bin"
        try:
            old.migrate_to_file(state)
        except QmpCommandError as e:
            raise MigrationFailed(f"migrate to a file refused: {e}") from None
        except QmpError as e:
            raise MigrationFailed(
                f"QMP during the migration: {e}", stderr_tail=old.stderr_tail()
            ) from None
        except QTestError as e:
            if isinstance(e, (QemuExited, QTestTimeout)):
                raise
            raise MigrationFailed(e.summary, stderr_tail=e.stderr_tail) from None
        proc = old._proc
        old.close()
        if proc is not None and proc.poll() not in (0, None):
            raise MigrationFailed(
                f"the source QEMU exited with status {proc.poll()} after the migration",
                stderr_tail=_tail(old.stderr()),
            )
        incoming = [*self.args, "-incoming", f"file:{state}"]
        self.machine = QTestMachine(
            incoming, qemu=self.qemu, timeout=self.timeout, guest_errors=False
        )
        try:
            self.machine.start()
            self.machine.wait_running()
        except QmpError as e:
            raise MigrationFailed(
                f"a fresh QEMU loading the saved state: QMP {e}",
                stderr_tail=self.machine.stderr_tail(),
                returncode=self.returncode(),
            ) from None
        except QTestError as e:
            raise MigrationFailed(
                f"a fresh QEMU did not take the saved state: {e.summary}",
                stderr_tail=e.stderr_tail,
                returncode=e.returncode,
            ) from None
        self.machine.command("clock_set", now)
        state.unlink()
        self.migrations += 1

    def send(self, op: Op) -> None:
        kind, what = op
        if kind == "migrate":
            self.migrate()
            return
        if kind == "q":
            self.pending.append(what)
            self.log.append(what)
            if len(self.pending) >= self.batch:
                self.flush()
            return
        self.flush()
        command, arguments = what
        self.log.append("# qmp " + json.dumps({"execute": command, "arguments": arguments}))
        self.sent += 1
        try:
            self.qmp(command, **arguments)
        except QmpCommandError:
            self.refused += 1

    def qmp(self, command: str, **arguments: Any) -> Any:
        """A QMP command; QEMU going away or not answering raise QTestError."""
        try:
            return self.machine.qmp(command, **arguments)
        except QmpCommandError:
            raise
        except QmpError as e:
            m = self.machine
            # A QEMU that dies closes its QMP socket a moment before it can
            # be reaped: give it that moment, or a crash reads as a hang.
            proc = m._proc
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(2.0, self.timeout))
            cls = QTestTimeout if m.alive() else QemuExited
            raise cls(
                f"QMP {command}: {e}",
                stderr_tail=m.stderr_tail(),
                returncode=self.returncode(),
            ) from None

    def flush(self) -> None:
        if not self.pending:
            return
        lines, self.pending = self.pending, []
        self.log.append("# flush")
        self.sent += len(lines)
        self.machine.command_batch(*((line,) for line in lines))

    def returncode(self) -> int | None:
        proc = self.machine._proc  # the exit status is not part of QTestMachine's API
        return None if proc is None else proc.poll()

    def close(self) -> tuple[int | None, str]:
        """Stop QEMU; its exit status (None if it had to be killed) and stderr."""
        proc = self.machine._proc
        self.machine.close()
        code = proc.poll() if proc is not None else None
        return code, self.machine.stderr()

    def kill(self) -> str:
        proc = self.machine._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            self.machine.close()
        return self.machine.stderr()


def classify(e: QTestError) -> str:
    if isinstance(e, MigrationFailed):
        return "migration"
    if isinstance(e, QTestTimeout):
        return "hang"
    if isinstance(e, QemuExited):
        return "crash"
    return "qtest-error"


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.splitlines()[-lines:])


def fuzz(
    ops: int,
    seed: int,
    *,
    qemu: Path,
    out_dir: Path,
    session_ops: int = 20_000,
    batch: int = 32,
    timeout: float = 10.0,
    migrate: bool = False,
    progress: Callable[[FuzzReport], None] | None = None,
    sanitizer_dir: Path | None = None,
) -> FuzzReport:
    """Run `ops` operations from Random(seed); reproducers go to `out_dir`.
    With `migrate`, the machine is also saved and loaded into a fresh QEMU
    at random moments (a refused state is a finding). `sanitizer_dir` is
    where a sanitized QEMU writes its reports (tangolab.sanitizers): a new
    report file there after a session is a finding."""
    seen = set(sanitizer_reports(sanitizer_dir)) if sanitizer_dir else set()
    if not qemu.is_file() or not os.access(qemu, os.X_OK):
        raise FuzzError(f"no QEMU binary at {qemu}: run `tangolab build qemu` or give --asan")
    gen = Generator(random.Random(seed), migrate=migrate)
    report = FuzzReport()
    t0 = time.monotonic()
    workdir = owned_tempdir("tangolab-fuzz-")
    next_progress = PROGRESS_EVERY
    try:
        while report.ops < ops:
            report.sessions += 1
            session = Session(qemu, workdir, timeout=timeout, batch=batch)
            start_ops = report.ops
            try:
                while report.ops < ops and report.ops - start_ops < session_ops:
                    for op in gen.next():
                        session.send(op)
                        report.ops += 1
                    if progress is not None and report.ops >= next_progress:
                        next_progress += PROGRESS_EVERY
                        report.seconds = time.monotonic() - t0
                        progress(report)
                session.flush()
                session.qmp("query-status")
            except QTestError as e:
                failed = _failure_finding(e, session.kill(), session.sent, sanitizer_dir, seen)
                report.findings.append(_save(failed, session, out_dir, seed, len(report.findings)))
                report.qmp_refused += session.refused
                report.migrations += session.migrations
                continue
            except BaseException:  # Ctrl-C, a bug: QEMU and its files go in any case
                session.kill()
                raise
            report.qmp_refused += session.refused
            report.migrations += session.migrations
            code, stderr = session.close()
            left = _exit_finding(code, stderr, session.sent, sanitizer_dir, seen)
            if left is not None:
                report.findings.append(_save(left, session, out_dir, seed, len(report.findings)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - t0
    return report


def sanitizer_reports(report_dir: Path | None) -> list[Path]:
    """The report files a sanitized QEMU wrote to `report_dir` so far."""
    return [r.path for r in reports(report_dir)] if report_dir else []


def _sanitizer_finding(
    stderr: str, sent: int, sanitizer_dir: Path | None, seen: set[Path]
) -> Finding | None:
    """A finding for the first new report file in `sanitizer_dir`, if any."""
    new = reports(sanitizer_dir, seen) if sanitizer_dir else []
    seen.update(r.path for r in new)
    if not new:
        return None
    tail = _tail(new[0].text + "\n" + stderr)
    return Finding("sanitizer", new[0].summary(), sent, stderr_tail=tail)


def _failure_finding(
    e: QTestError, stderr: str, sent: int, sanitizer_dir: Path | None, seen: set[Path]
) -> Finding:
    """The finding of a session that stopped answering: the sanitizer's
    report when it wrote one (it ends the process), else what failed."""
    found = _sanitizer_finding(stderr, sent, sanitizer_dir, seen)
    return found or Finding(classify(e), e.summary, sent, stderr_tail=_tail(stderr))


def _exit_finding(
    code: int | None, stderr: str, sent: int, sanitizer_dir: Path | None, seen: set[Path]
) -> Finding | None:
    """What a session that answered to the end left behind: a new sanitizer
    report file, a sanitizer or assertion message on stderr (UBSan's message
    stays there), or a non-zero exit status; None when nothing."""
    found = _sanitizer_finding(stderr, sent, sanitizer_dir, seen)
    if found is not None:
        return found
    bad = SANITIZER.search(stderr)
    if bad is not None or code not in (0, None):
        what = bad.group(0) if bad else f"QEMU exit status {code} at quit"
        return Finding("sanitizer", what, sent, stderr_tail=_tail(stderr))
    return None


def _save(finding: Finding, session: Session, out_dir: Path, seed: int, n: int) -> Finding:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"seed{seed}-{n}-{finding.kind}.qtest"
    lines = [*session.log, f"# finding: {finding.kind}: {finding.summary}"]
    lines += [f"# stderr: {line}" for line in finding.stderr_tail.splitlines()]
    path.write_text("\n".join(lines) + "\n")
    finding.reproducer = path
    return finding


def read_reproducer(path: Path) -> Iterator[Op | None]:
    """The operations of a saved log; None marks the end of a qtest batch."""
    try:
        text = path.read_text()
    except OSError as e:
        raise FuzzError(f"{path}: cannot read: {e.strerror or e}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line == "# flush":
            yield None
        elif line == "# migrate":
            yield ("migrate", None)
        elif line.startswith("# qmp "):
            try:
                msg = json.loads(line[6:])
                yield ("qmp", (msg["execute"], dict(msg.get("arguments", {}))))
            except (ValueError, KeyError, TypeError):
                raise FuzzError(f"{path}:{n}: not a QMP request: {line[:60]!r}") from None
        elif not line.startswith("#"):
            yield ("q", line)


def replay(
    path: Path, *, qemu: Path, timeout: float = 10.0, sanitizer_dir: Path | None = None
) -> Finding | None:
    """Send a saved log to a fresh QEMU; the finding it reproduces, or None."""
    ops = list(read_reproducer(path))  # parse errors before QEMU starts
    workdir = owned_tempdir("tangolab-replay-")
    try:
        session = Session(qemu, workdir, timeout=timeout, batch=1 << 30)
        try:
            for op in ops:
                if op is None:
                    session.flush()
                else:
                    session.send(op)
            session.flush()
            session.qmp("query-status")
        except QTestError as e:
            return _failure_finding(e, session.kill(), session.sent, sanitizer_dir, set())
        except BaseException:
            session.kill()
            raise
        code, stderr = session.close()
        return _exit_finding(code, stderr, session.sent, sanitizer_dir, set())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
