# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture powercut`: power cuts under UBIFS on the emulated NAND.

One NAND image (64 blocks, UBI with one UBIFS volume) goes through N cuts.
Each cut is one boot of the guest on that image:

1. attach UBI and mount UBIFS (the first boot formats the image first);
   check what the previous cut left (below);
2. remove the previous writer's directory, sync, and start the in-guest
   writer (``fswriter run /mnt/w --seed W``, guest/tools/fswriter.c) in
   the background on the serial console: files created, appended, renamed
   and deleted, fsync of the file and the directory after about half of
   the operations, each durable step printed as a journal line once the
   fsyncs returned (the journal is read on the host, from the console log);
3. when the chip has programmed a seeded number of pages since the writer
   started (``pages-programmed`` of ``/machine/nand0``, polled over QMP),
   set the chip's ``power-cut``: the program or erase in progress, or else
   the next one, is cut halfway through (a page left partially programmed,
   a block partially erased) and the chip stays off;
4. give the writer a few seconds to notice (its system calls fail), stop
   QEMU, and boot again on the same image: that is step 1 of the next cut.

The check after a cut: ``ubiattach`` and ``mount`` succeed; the kernel log
has no ``UBIFS error`` (UBI's own errors and warnings are counted and
shown: reading the cut page is expected to complain); UBI's attach line
reports at most one corrupted PEB (the cut page's); and every file the
journal says was made durable is there, under its name or the name of a
rename issued later, holding at least the durable number of bytes of its
pattern (``fswriter check`` reads every file back and compares it byte for
byte), unless its deletion was issued later. `check_journal` is the whole
rule; it is pure and unit-tested with doctored journals and listings.

Cuts are seeded (the writer's seed and the page count of each cut come from
``--seed``); where the cut lands within the writer's work also depends on
how fast the host polls, so two runs with one seed cut near, not exactly
at, the same operation.
"""

from __future__ import annotations

import random
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tangolab.build.artifacts import Artifacts
from tangolab.errors import TangolabError
from tangolab.machine import Machine
from tangolab.nand.image import write_erased_image
from tangolab.nand.layout import Geometry

#: Blocks of the campaign's NAND image (8 MiB of data, UBIFS of about 5 MiB).
BLOCKS = 64
#: The writer's directory on the UBIFS volume.
WRITER_DIR = "/mnt/w"
CHIP = "/machine/nand0"
#: Seconds the writer may take to reach the cut's page count.
WRITER_TIMEOUT = 120.0
#: Seconds an armed cut may wait for the chip's next program or erase.
ARMED_TIMEOUT = 10.0
#: Seconds between the cut and stopping QEMU.
AFTER_CUT = 0.3
POLL = 0.005

_LINE_RE = re.compile(r"^fsw: (.*?)\s*$", re.M)
_NAME_RE = re.compile(r"^(\d+)\.(\d+)$")
_CORRUPTED_RE = re.compile(r"ubi\d+: good PEBs: \d+, bad PEBs: \d+, corrupted PEBs: (\d+)")
_FS_ERROR_RE = re.compile(r"^.*UBIFS error.*$", re.M)
_UBI_ERROR_RE = re.compile(r"^.*ubi\d+ (?:error|warning):.*$", re.M)
_ECC_PEB_RE = re.compile(r"ubi\d+ (?:error|warning): .*error -74.* PEB (\d+)")
_ABORT_RE = re.compile(r"onfi_nand_abort nand0: (program|erase) of row (\d+) aborted after (\d+)")

MOUNT = f"ubiattach -m 0 -d 0 && mount -t ubifs ubi0:data /mnt && mkdir -p {WRITER_DIR}"
FORMAT = (
    "ubidetach -d 0 2>/dev/null; ubiformat -y -q /dev/mtd0 && ubiattach -m 0 -d 0 && "
    f"ubimkvol /dev/ubi0 -N data -m && mount -t ubifs ubi0:data /mnt && mkdir -p {WRITER_DIR}"
)


class PowercutError(TangolabError):
    """The campaign could not go on (the writer failed before the cut, ...)."""


# --- the journal and the check (pure) ------------------------------------------


@dataclass
class Durable:
    """What the journal promises about one file (by its ID)."""

    names: set[str]
    size: int
    maybe_deleted: bool = False


@dataclass(frozen=True)
class Listed:
    """A file found after the cut: its size and the length of its good prefix."""

    size: int
    good: int
    error: str = ""


def journal_lines(text: str) -> list[str]:
    """The writer's lines (without ``fsw: ``) in console output."""
    return _LINE_RE.findall(text.replace("\r", ""))


def _file_id(name: str) -> int:
    m = _NAME_RE.match(name)
    if m is None:
        raise PowercutError(f"writer journal: bad file name {name!r}")
    return int(m.group(1))


def parse_journal(lines: list[str]) -> dict[int, Durable]:
    """The durable promises of a journal, by file ID (see fswriter.c)."""
    promised: dict[int, Durable] = {}
    for line in lines:
        word = line.split()
        if not word:
            continue
        kind, args = word[0], word[1:]
        try:
            if kind == "D" and len(args) == 2:
                promised[_file_id(args[0])] = Durable({args[0]}, int(args[1]))
            elif kind == "r" and len(args) == 2:
                rec = promised.get(_file_id(args[0]))
                if rec is not None and args[0] in rec.names:
                    rec.names.add(args[1])
            elif kind == "u" and len(args) == 1:
                rec = promised.get(_file_id(args[0]))
                if rec is not None:
                    rec.maybe_deleted = True
            elif kind == "U" and len(args) == 1:
                promised.pop(_file_id(args[0]), None)
        except ValueError:
            raise PowercutError(f"writer journal: bad line {line!r}") from None
    return promised


def parse_listing(lines: list[str]) -> dict[str, Listed]:
    """``fswriter check`` output: the files found, by name."""
    found: dict[str, Listed] = {}
    for line in lines:
        word = line.split(maxsplit=4)
        if word and word[0] == "F" and len(word) >= 4:
            try:
                found[word[1]] = Listed(int(word[2]), int(word[3]), " ".join(word[4:]))
            except ValueError:
                raise PowercutError(f"writer check: bad line {line!r}") from None
        elif word and word[0] == "X" and len(word) == 2:
            found[word[1]] = Listed(0, 0, "not a writer file name")
    return found


def check_journal(promised: dict[int, Durable], found: dict[str, Listed]) -> list[str]:
    """Every broken promise, one line each (empty: all durable files intact)."""
    problems = []
    for fid, rec in sorted(promised.items()):
        here = sorted(n for n in rec.names if n in found)
        want = f"{fid}: durable as {'/'.join(sorted(rec.names))} with {rec.size} bytes"
        if not here:
            if not rec.maybe_deleted:
                problems.append(f"{want}: missing")
            continue
        if len(here) > 1:
            problems.append(f"{want}: found under {len(here)} names {', '.join(here)}")
        for name in here:
            got = found[name]
            if got.error:
                problems.append(f"{want}: {name} read error {got.error} after {got.good} bytes")
            elif got.good < rec.size:
                what = "short" if got.size < rec.size else "corrupted"
                problems.append(
                    f"{want}: {name} {what}: {got.size} bytes, the first {got.good} good"
                )
    return problems


@dataclass
class KernelLog:
    """The verdict on the kernel log of an attach and mount after a cut."""

    #: Corrupted PEBs of UBI's last attach line (None: no attach line).
    corrupted_pebs: int | None
    #: PEBs UBI could not read (ECC error).
    ecc_pebs: set[int]
    #: UBIFS errors not explained by the cut page.
    fs_errors: list[str]
    #: UBIFS errors that are reads of the cut PEB failing ECC (error -74).
    tolerated: list[str]
    #: UBI's errors and warnings.
    ubi_messages: list[str]


def judge_kernel_log(dmesg: str, cut_peb: int | None) -> KernelLog:
    """Sort the UBI/UBIFS messages of `dmesg` given the PEB of the cut page.

    A page cut while being programmed fails ECC when read, as on real NAND:
    UBI warns and errs about that PEB, and UBIFS logs an error when a read
    it makes with ``even_ebadmsg`` (e.g. replay's look at the next bud)
    fails with -74 (EBADMSG). Those are tolerated when every ECC failure
    is in the cut PEB; any other UBIFS error is not.
    """
    found = _CORRUPTED_RE.findall(dmesg)
    ecc = {int(p) for p in _ECC_PEB_RE.findall(dmesg)}
    only_cut = cut_peb is not None and ecc <= {cut_peb}
    fs_errors: list[str] = []
    tolerated: list[str] = []
    for line in _FS_ERROR_RE.findall(dmesg):
        (tolerated if only_cut and "error -74" in line else fs_errors).append(line.strip())
    return KernelLog(
        corrupted_pebs=int(found[-1]) if found else None,
        ecc_pebs=ecc,
        fs_errors=fs_errors,
        tolerated=tolerated,
        ubi_messages=[m.strip() for m in _UBI_ERROR_RE.findall(dmesg)],
    )


# --- one cut --------------------------------------------------------------------


@dataclass(frozen=True)
class CutPlan:
    index: int
    writer_seed: int
    pages: int


def plan_cuts(cuts: int, seed: int, max_pages: int) -> list[CutPlan]:
    """The writer seed and the page count of each cut (1..max_pages)."""
    rng = random.Random(seed)
    return [CutPlan(i, rng.randrange(1, 2**31), rng.randint(1, max_pages)) for i in range(cuts)]


@dataclass
class CutResult:
    plan: CutPlan
    #: Pages the chip had programmed since the writer started, when cut.
    pages_at_cut: int = 0
    durable_files: int = 0
    journal_lines: int = 0
    attached: bool = False
    mounted: bool = False
    #: Where the cut landed (from the chip's trace), and its PEB.
    cut: str = ""
    cut_peb: int | None = None
    log: KernelLog | None = None
    #: The writer failed before the cut (no cut was made).
    writer_error: str = ""
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mount_failed(self) -> bool:
        return not (self.attached and self.mounted) or bool(self.log and self.log.fs_errors)

    @property
    def ubi_damage(self) -> bool:
        """More than the cut PEB corrupted or unreadable."""
        log = self.log
        if log is None or log.corrupted_pebs is None or log.corrupted_pebs > 1:
            return True
        return bool(log.ecc_pebs - {self.cut_peb})

    @property
    def survived(self) -> bool:
        return (
            not self.writer_error
            and not self.mount_failed
            and not self.ubi_damage
            and not self.lost
        )


def describe(r: CutResult) -> str:
    state = "ok" if r.survived else "FAILED"
    extra = []
    if r.writer_error:
        return f"cut {r.plan.index + 1}: FAILED in {r.seconds:.1f} s: {r.writer_error}"
    if not r.attached:
        extra.append("ubiattach failed")
    elif not r.mounted:
        extra.append("mount failed")
    log = r.log
    if log is not None and log.fs_errors:
        extra.append(f"UBIFS error: {log.fs_errors[0]}")
    if r.ubi_damage:
        extra.append("UBI: more than the cut PEB corrupted or unreadable")
    if r.lost:
        extra.append(f"{len(r.lost)} fsynced files lost: {r.lost[0]}")
    ubi = (
        f"corrupted PEBs {log.corrupted_pebs}, ECC failures in PEBs "
        f"{sorted(log.ecc_pebs) or '-'}, {len(log.tolerated)} tolerated UBIFS errors"
        if log is not None
        else "no kernel log"
    )
    return (
        f"cut {r.plan.index + 1}: {state} in {r.seconds:.1f} s (writer seed "
        f"{r.plan.writer_seed}, {r.pages_at_cut} pages of {r.plan.pages}: "
        f"{r.cut or 'no cut traced'}, PEB {r.cut_peb}; {r.durable_files} durable files; {ubi})"
        + ("\n    " + "\n    ".join(extra) if extra else "")
    )


class Campaign:
    """N power cuts on one image; iterate `cuts()` for the results."""

    def __init__(
        self,
        cuts: int,
        seed: int,
        out_dir: Path,
        *,
        max_pages: int = 300,
        artifacts: Artifacts | None = None,
        build: Path | None = None,
        icount: int | None = None,
    ) -> None:
        self.plans = plan_cuts(cuts, seed, max_pages)
        self.seed = seed
        self.out_dir = out_dir
        self.image = out_dir / "nand.img"
        self.artifacts = artifacts
        self.build = build
        self.icount = icount
        #: Boot to shell prompt, seconds, of every boot.
        self.boot_seconds: list[float] = []

    def _boot(self) -> Machine:
        t = time.monotonic()
        m = Machine(
            self.artifacts,
            nand=self.image,
            build=self.build,
            icount=self.icount,
            # the log trace backend prints where the cut landed on stderr
            extra_args=["-global", f"onfi-nand.blocks={BLOCKS}", "-trace", "onfi_nand_abort"],
        )
        m.start()
        self.boot_seconds.append(time.monotonic() - t)
        m.run("dmesg -n 1", check=True)
        return m

    def cuts(self) -> Iterator[CutResult]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_erased_image(self.image, Geometry(blocks=BLOCKS).image_size, force=True)
        m = self._boot()
        try:
            _run_ok(m, FORMAT, 300)
            for plan in self.plans:
                result = CutResult(plan)
                t = time.monotonic()
                try:
                    offset = self._write_and_cut(m, plan, result)
                except PowercutError as e:
                    # The file system would not take the writer's work: a
                    # failed cut; go on from a fresh file system.
                    result.writer_error = str(e)
                    m.close()
                    m = self._boot()
                    _run_ok(m, FORMAT, 300)
                else:
                    m.close()
                    journal = self._read_cut(m, offset, result)
                    m = self._boot()
                    self._check(m, journal, result)
                result.seconds = time.monotonic() - t
                yield result
        finally:
            m.close()

    def _write_and_cut(self, m: Machine, plan: CutPlan, result: CutResult) -> int:
        """Start the writer, cut the power at the plan's page; the console
        log's offset where the writer's journal starts."""
        _run_ok(m, f"rm -rf {WRITER_DIR} && sync", 120)
        start_pages = int(m.qom_get(CHIP, "pages-programmed"))
        log = m.console_log
        offset = log.stat().st_size
        _run_ok(m, f"fswriter run {WRITER_DIR} --seed {plan.writer_seed} &", 30)
        deadline = time.monotonic() + WRITER_TIMEOUT
        next_look = 0.0
        while True:
            done = int(m.qom_get(CHIP, "pages-programmed")) - start_pages
            if done >= plan.pages:
                break
            now = time.monotonic()
            if now > deadline:
                raise PowercutError(
                    f"cut {plan.index + 1}: the writer programmed only {done} of {plan.pages} "
                    f"pages in {WRITER_TIMEOUT:g} s (console log {log})"
                )
            if now >= next_look:
                next_look = now + 0.5
                lines = journal_lines(_read_from(log, offset))
                if any(line.startswith(("E ", "done")) for line in lines):
                    raise PowercutError(
                        f"cut {plan.index + 1}: the writer stopped before the cut: "
                        f"{lines[-1]} (console log {log})"
                    )
            time.sleep(POLL)
        m.qom_set(CHIP, "power-cut", True)
        result.pages_at_cut = int(m.qom_get(CHIP, "pages-programmed")) - start_pages
        # An idle chip is armed: let the writer start the program or erase
        # that the cut lands in (seen in the chip's trace), and the lines
        # already printed reach the console.
        deadline = time.monotonic() + ARMED_TIMEOUT
        while not _ABORT_RE.search(_read_from(m.stderr_log, 0)) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(AFTER_CUT)
        return offset

    def _read_cut(self, m: Machine, offset: int, result: CutResult) -> list[str]:
        """After QEMU stopped: the writer's journal; where the cut landed."""
        text = _read_from(m.console_log, offset)
        (self.out_dir / f"cut{result.plan.index + 1}.journal").write_text(text)
        cut = _ABORT_RE.findall(_read_from(m.stderr_log, 0))
        if cut:
            op, row, done = cut[-1]
            result.cut = (
                f"{op} of page {row} cut after {done} {'bytes' if op == 'program' else 'pages'}"
            )
            result.cut_peb = int(row) // Geometry().pages_per_block
        return journal_lines(text)

    def _check(self, m: Machine, journal: list[str], result: CutResult) -> None:
        promised = parse_journal(journal)
        result.durable_files = len(promised)
        result.journal_lines = len(journal)
        attach = m.run("ubiattach -m 0 -d 0", timeout=300)
        result.attached = attach.status == 0
        if result.attached:
            result.mounted = m.run("mount -t ubifs ubi0:data /mnt", timeout=300).status == 0
        dmesg = m.run("dmesg", timeout=60).output
        result.log = judge_kernel_log(dmesg, result.cut_peb)
        if result.mounted:
            listing = m.run(f"fswriter check {WRITER_DIR}", timeout=300)
            lines = journal_lines(listing.output)
            if listing.status != 0:
                result.lost = [f"fswriter check failed: {lines[-1] if lines else listing.output}"]
            else:
                result.lost = check_journal(promised, parse_listing(lines))
        else:
            result.lost = [f"{len(promised)} durable files not checked: no mount"]
        n = result.plan.index + 1
        if not result.survived:
            (self.out_dir / f"cut{n}.dmesg").write_text(dmesg)
            (self.out_dir / f"cut{n}.lost").write_text("".join(f"{x}\n" for x in result.lost))
            shutil.copyfile(self.image, self.out_dir / f"cut{n}.img")
        if not result.mounted:
            # Go on with a fresh file system, so the next cuts still count.
            _run_ok(m, FORMAT, 300)


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", errors="replace")


def _run_ok(m: Machine, cmd: str, timeout: float) -> str:
    res = m.run(cmd, timeout=timeout)
    if res.status != 0:
        raise PowercutError(f"guest command {cmd!r} failed ({res.status}): {res.output[-500:]}")
    return res.output


@dataclass
class Summary:
    cuts: int = 0
    survived: int = 0
    mount_failures: int = 0
    lost_files: int = 0
    cuts_losing_files: int = 0
    too_many_corrupted: int = 0
    writer_failures: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, r: CutResult) -> None:
        self.cuts += 1
        self.seconds.append(r.seconds)
        if r.writer_error:
            self.writer_failures += 1
            return
        self.survived += r.survived
        self.mount_failures += r.mount_failed
        if r.mounted:
            self.lost_files += len(r.lost)
            self.cuts_losing_files += bool(r.lost)
        self.too_many_corrupted += r.ubi_damage

    def lines(self, boot_seconds: list[float]) -> list[str]:
        s = self.seconds or [0.0]
        b = boot_seconds or [0.0]
        return [
            f"cuts survived: {self.survived} of {self.cuts}",
            f"mount failures: {self.mount_failures}",
            f"lost fsynced files: {self.lost_files} (in {self.cuts_losing_files} cuts)",
            f"cuts with UBI damage beyond the cut PEB: {self.too_many_corrupted}",
            f"writer failures before the cut (no cut made): {self.writer_failures}",
            f"time per cut: mean {statistics.mean(s):.1f} s, min {min(s):.1f} s, "
            f"max {max(s):.1f} s (boot to prompt: mean {statistics.mean(b):.1f} s)",
        ]


def run_campaign(campaign: Campaign, report: Callable[[CutResult], None] | None = None) -> Summary:
    summary = Summary()
    for result in campaign.cuts():
        summary.add(result)
        if report is not None:
            report(result)
    return summary
