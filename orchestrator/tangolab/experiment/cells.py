# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""One cell of the tear-down experiment: a policy, a latency, a seed.

A cell boots its own guest on a fresh NAND image, so cells are independent
and can run in any order, in parallel, on any machine with the same build.
The guest writes N pages of a seeded pattern (guest/tools/tangonand.c)
while the switch box draws each burst's latency from a seeded
distribution; the driver recovers after a lost page, so every page is an
independent trial. The host then checks the image page by page against the
same pattern (tangolab.nand). Under -icount the guest's timing is tied to
instructions, so a cell gives the same result every time.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from tangolab.errors import ExperimentError, UsageError
from tangolab.machine import Machine
from tangolab.nand.check import PageStatus, check_image
from tangolab.nand.layout import EccLayout, Geometry, PageLayout, compute_layout
from tangolab.nand.pattern import PatternExpectation

from .stats import loss_rate

#: the thread's options, as DMA tear-down policies of the guest's test layer
#: (local kernel patches 0012-0013: debugfs controls, not upstream)
POLICIES = ("irq", "delay", "static", "callback", "irq-callback", "client")
JITTERS = ("none", "uniform", "exponential")
DMA_DEBUGFS = "/sys/kernel/debug/dmaengine/40000.dma-controller"
POLICY_PARAM = f"{DMA_DEBUGFS}/teardown"
DELAY_PARAM = f"{DMA_DEBUGFS}/teardown_delay_us"
NAND_STATS = "/sys/kernel/debug/tango_nand"
#: the NAND driver's DMA callback busy-waits for the controller (callback policies)
WAIT_PARAM = f"{NAND_STATS}/2c000.nand-controller/callback_wait"
CALLBACK_POLICIES = ("callback", "irq-callback")
#: dmaengine's summary: the DMA driver's per memory channel counters
DMA_STATS = "/sys/kernel/debug/dmaengine/summary"
SBOX = "/machine/sbox"
FIRST_BLOCK = 1  # block 0 is left alone
_SUMMARY = re.compile(r"^summary: (.*)$", re.M)
_KV = re.compile(r"([a-z_]+)=(-?\d+)")


@dataclass(frozen=True)
class CellSpec:
    """Everything that decides a cell's result (with the build)."""

    policy: str
    latency_ns: int
    seed: int  # the box's latency generator and the page pattern
    pages: int = 64
    jitter: str = "exponential"  # how each burst's latency is drawn (HARDWARE.md)
    jitter_ns: int = 0
    delay_us: int = 10  # teardown_delay_us of the delay policy
    fifo_depth: int = 512  # tango4-sbox.fifo-depth
    icount: int | None = 4  # -icount shift; None: real time (not repeatable)
    timeout_s: float = 600.0

    def check(self) -> None:
        if self.policy not in POLICIES:
            raise UsageError(f"policy {self.policy!r}: choose from {', '.join(POLICIES)}")
        if self.jitter not in JITTERS:
            raise UsageError(f"jitter {self.jitter!r}: choose from {', '.join(JITTERS)}")
        if not 1 <= self.pages <= 4096:
            raise UsageError(f"{self.pages} pages per cell: choose 1..4096")
        if not 0 <= self.latency_ns <= 1_000_000_000 or not 0 <= self.jitter_ns <= 1_000_000_000:
            raise UsageError("latency and jitter are 0 .. 1 s")
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"seed {self.seed}: 0 .. 2^32-1")

    @property
    def blocks(self) -> int:
        """Chip size: the cell's pages after FIRST_BLOCK, at least 8 blocks."""
        per_block = Geometry(blocks=8).pages_per_block
        return max(8, FIRST_BLOCK + 1 + -(-self.pages // per_block))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellSpec:
        names = {f.name for f in fields(cls)}
        spec = cls(**{k: v for k, v in data.items() if k in names})
        spec.check()
        return spec


@dataclass(frozen=True)
class CellResult:
    spec: CellSpec
    intact: int  # host image: page holds exactly the expected data
    lost: int  # host image: page still erased
    corrupted: int  # host image: programmed, wrong or undecodable data
    write_errors: int  # guest: the write of a page failed (EIO / time-out)
    readback_mismatch: int  # guest: read back differs from the pattern
    dma_timeouts: int  # guest NAND driver: time-outs waiting for the DMA
    nfc_timeouts: int  # guest NAND driver: time-outs waiting for CMD_READY
    aborts: int  # guest NAND driver: NFC commands aborted (recovery)
    wedged: int  # pages that found the NFC still busy from an earlier one
    bytes_dropped: int  # sbox: bytes lost in flight
    teardowns_in_flight: int  # sbox: route changes with bytes in flight
    write_us: int  # guest-measured time of the write phase (virtual time)
    atomic_wait_us: float  # guest: busy-waiting in atomic context (callback policies)
    channel_held_us: float  # guest DMA driver: time memory channels were routed
    wall_s: float
    failed_pages: tuple[int, ...] = ()  # which pages (0 = the cell's first) are not intact

    @property
    def pages(self) -> int:
        return self.spec.pages

    @property
    def failed(self) -> int:
        """Pages not intact on the chip."""
        return self.lost + self.corrupted

    @property
    def throughput_kib_s(self) -> float:
        page = Geometry(blocks=8).page_size
        return (self.pages * page / 1024) / (self.write_us / 1e6) if self.write_us else 0.0

    def row(self) -> dict[str, Any]:
        """A flat record with every field, the rate and its interval."""
        rate = loss_rate(self.failed, self.pages)
        out = self.spec.to_dict()
        out.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "spec"})
        out["failed_pages"] = list(self.failed_pages)
        out.update(
            loss_rate=rate.value,
            loss_low=rate.low,
            loss_high=rate.high,
            throughput_kib_s=round(self.throughput_kib_s, 1),
        )
        return out

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CellResult:
        spec = CellSpec.from_dict(row)
        names = {f.name for f in fields(cls)} - {"spec", "failed_pages"}
        return cls(
            spec=spec, failed_pages=tuple(row.get("failed_pages", ())), **{k: row[k] for k in names}
        )


def parse_summary(output: str) -> dict[str, int]:
    """The `summary: key=value ...` line of tangonand."""
    matches = list(_SUMMARY.finditer(output))
    if not matches:
        tail = "".join(f"\n  | {line}" for line in output.rstrip().splitlines()[-15:])
        raise ExperimentError(f"tangonand printed no summary line{tail}")
    return {k: int(v) for k, v in _KV.findall(matches[-1].group(1))}


def parse_counters(output: str) -> dict[str, int]:
    """Sum of every `name=value` in the output (debugfs files and summary lines)."""
    out: dict[str, int] = {}
    for k, v in _KV.findall(output):
        out[k] = out.get(k, 0) + int(v)
    return out


def _guest_counters(m: Machine) -> dict[str, int]:
    cmd = (
        f"for f in {NAND_STATS}/*/*; do [ -f $f ] && "
        "echo \"$(basename $f)=$(cat $f | tr -d 'YN')\"; done 2>/dev/null; "
        f"cat {DMA_STATS} 2>/dev/null; true"
    )
    return parse_counters(m.run(cmd, timeout=60).output)


def _sbox_counters(m: Machine) -> dict[str, int]:
    return {p: int(m.qom_get(SBOX, p)) for p in ("bytes-dropped", "teardowns-in-flight", "stalls")}


def _delta(after: dict[str, int], before: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


@dataclass(frozen=True)
class _Readings:
    """What the guest and the box said about one cell's write and verify."""

    write: dict[str, int]
    verify: dict[str, int]
    guest: tuple[dict[str, int], dict[str, int]]  # counters before, after
    sbox: tuple[dict[str, int], dict[str, int]]


def _result(
    spec: CellSpec, rd: _Readings, image: Path, layout: PageLayout, start_page: int, t0: float
) -> CellResult:
    """Check the image on the host and put the cell's numbers together."""
    page_size = Geometry(blocks=8).page_size
    report = check_image(
        image,
        layout,
        PatternExpectation.for_pages(
            spec.seed, page_size, range(start_page, start_page + spec.pages)
        ),
        start=start_page,
        stop=start_page + spec.pages,
    )
    intact = sum(1 for row in report.rows if row.match)
    lost = report.count(PageStatus.ERASED)
    (g0, g1), (s0, s1) = rd.guest, rd.sbox
    return CellResult(
        spec=spec,
        intact=intact,
        lost=lost,
        corrupted=spec.pages - intact - lost,
        write_errors=rd.write.get("errors", 0),
        readback_mismatch=rd.verify.get("mismatch", 0) + rd.verify.get("errors", 0),
        dma_timeouts=_delta(g1, g0, "timeouts_dma"),
        nfc_timeouts=_delta(g1, g0, "timeouts_cmd_ready"),
        aborts=_delta(g1, g0, "aborts"),
        wedged=_delta(g1, g0, "busy_aborts"),
        bytes_dropped=_delta(s1, s0, "bytes-dropped"),
        teardowns_in_flight=_delta(s1, s0, "teardowns-in-flight"),
        write_us=rd.write.get("us", 0),
        atomic_wait_us=_delta(g1, g0, "atomic_wait_ns") / 1000,
        channel_held_us=_delta(g1, g0, "held_ns") / 1000,
        wall_s=round(time.monotonic() - t0, 2),
        failed_pages=tuple(row.page - start_page for row in report.rows if not row.match),
    )


def _tangonand_args(spec: CellSpec, start_page: int) -> str:
    return f"--dev /dev/mtd0 --seed {spec.seed} --start-page {start_page} --pages {spec.pages}"


def measure(
    m: Machine, spec: CellSpec, image: Path, layout: PageLayout, start_page: int
) -> CellResult:
    """Write and check the cell's pages from `start_page` on a booted guest.

    `image` is the machine's NAND image and `layout` its page layout; the
    pages must be erased. The box's latency settings are left at 0. The
    commands reach the guest at moments host timing decides, so this is not
    repeatable to the page even under -icount; `run_cell` is.
    """
    spec.check()
    t0 = time.monotonic()
    wait = int(spec.policy in CALLBACK_POLICIES)
    m.run(
        f"echo {spec.delay_us} > {DELAY_PARAM} && echo {wait} > {WAIT_PARAM} && "
        f"echo {spec.policy} > {POLICY_PARAM}",
        timeout=30,
        check=True,
    )
    m.qom_set(SBOX, "seed", spec.seed)
    m.qom_set(SBOX, "jitter", spec.jitter)
    m.qom_set(SBOX, "jitter-ns", spec.jitter_ns)
    g0, s0 = _guest_counters(m), _sbox_counters(m)
    args = _tangonand_args(spec, start_page) + " --quiet"
    m.qom_set(SBOX, "latency-ns", spec.latency_ns)
    try:
        w = parse_summary(m.run(f"tangonand write {args}", timeout=spec.timeout_s).output)
    finally:
        m.qom_set(SBOX, "latency-ns", 0)
        m.qom_set(SBOX, "jitter-ns", 0)
    r = parse_summary(m.run(f"tangonand verify {args}", timeout=spec.timeout_s).output)
    rd = _Readings(w, r, (g0, _guest_counters(m)), (s0, _sbox_counters(m)))
    return _result(spec, rd, image, layout, start_page, t0)


def _section(log: str, name: str, following: str) -> str:
    start = log.find(f"tangolab-cell: {name}")
    end = log.find(f"tangolab-cell: {following}", start)
    if start < 0 or end < 0:
        raise ExperimentError(f"the guest's cell output has no {name} section")
    return log[start:end]


def run_cell(
    spec: CellSpec,
    *,
    append: str = "",
    extra_args: Sequence[str] = (),
    console: Callable[[str], None] | None = None,
) -> CellResult:
    """Boot a guest on a fresh image that runs the cell from its init, before
    any host input, so that under -icount the result repeats exactly.

    `append` (kernel command line) and `extra_args` (QEMU) add to the cell's;
    `console` is given the guest's console output once the cell is over
    (tangolab.trace reads its trace section there)."""
    spec.check()
    t0 = time.monotonic()
    geometry = Geometry(blocks=spec.blocks)
    layout = compute_layout(geometry, EccLayout())
    start = FIRST_BLOCK * geometry.pages_per_block
    wait = int(spec.policy in CALLBACK_POLICIES)
    cell = f"{spec.policy},{spec.delay_us},{wait},{start},{spec.pages},{spec.seed}"
    settings = {
        "onfi-nand.blocks": spec.blocks,
        "tango4-sbox.fifo-depth": spec.fifo_depth,
        "tango4-sbox.seed": spec.seed,
        "tango4-sbox.jitter": spec.jitter,
        "tango4-sbox.jitter-ns": spec.jitter_ns,
        "tango4-sbox.latency-ns": spec.latency_ns,
    }
    extra = [a for k, v in settings.items() for a in ("-global", f"{k}={v}")]
    extra += extra_args
    # The image lives in the machine's run directory (removed with it, and
    # by `tangolab ps` if the orchestrator is killed); it is checked while
    # the guest idles at its shell, every page already written through.
    m = Machine(
        name=f"cell-{spec.policy}-{spec.latency_ns}-{spec.seed}-{time.monotonic_ns() % 10**9}",
        scratch_nand=spec.blocks,
        icount=spec.icount,
        append=f"loglevel=1 tangolab.cell={cell} {append}".strip(),
        extra_args=extra,
        boot_timeout=max(300.0, spec.timeout_s),
    )
    m.start()
    try:
        log = m.console_log.read_text(errors="replace").replace("\r", "")
        rd = _Readings(
            parse_summary(_section(log, "write", "verify")),
            parse_summary(_section(log, "verify", "after")),
            (
                parse_counters(_section(log, "before", "write")),
                parse_counters(_section(log, "after", "end")),
            ),
            ({}, _sbox_counters(m)),  # the box counts from boot: nothing is lost before
        )
        assert m.nand is not None
        res = _result(spec, rd, Path(m.nand), layout, start, t0)
        if console is not None:
            console(log)
    finally:
        m.close()
    # measured and closed: what it found is in the result (a failed cell's
    # directory, with its console log, stays)
    shutil.rmtree(m.run_dir, ignore_errors=True)
    return replace(res, wall_s=round(time.monotonic() - t0, 2))


def with_defaults(spec: CellSpec, jitter_frac: float) -> CellSpec:
    """The spec with jitter-ns as a fraction of its latency (when not given)."""
    if spec.jitter_ns or spec.jitter == "none":
        return spec
    return replace(spec, jitter_ns=int(spec.latency_ns * jitter_frac))
