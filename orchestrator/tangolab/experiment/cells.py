# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Teardown experiments: policies x latencies x seeds.

One guest boot per policy. For each cell the sbox route latency is set
live over QMP, the guest erases a fresh block range and writes N pages of
a seeded pattern (guest/tools/tangonand.c), reads them back, and the host
checks the NAND image page by page against the same pattern
(tangolab.nand). With -icount the guest's timing is tied to instructions,
so a cell gives the same result every time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tangolab.errors import ExperimentError
from tangolab.machine import Machine
from tangolab.nand.check import PageStatus, check_image
from tangolab.nand.image import NandImage, write_erased_image
from tangolab.nand.layout import EccLayout, Geometry, compute_layout
from tangolab.nand.pattern import PatternExpectation

POLICIES = ("irq", "delay", "static", "client")
POLICY_PARAM = "/sys/module/tangox_dma/parameters/teardown"
DELAY_PARAM = "/sys/module/tangox_dma/parameters/teardown_delay_us"
SBOX = "/machine/sbox"
_SUMMARY = re.compile(r"^summary: (.*)$", re.M)


@dataclass
class Config:
    policies: Sequence[str] = ("irq", "delay", "client")
    latencies_ns: Sequence[int] = (0, 5_000, 20_000, 100_000)
    seeds: Sequence[int] = (1,)
    pages: int = 16
    blocks: int = 64             # chip size for the experiment (onfi-nand blocks)
    delay_us: int = 10           # teardown_delay_us for the delay policy
    icount: int | str | None = 4
    cell_timeout: float = 600.0


@dataclass
class CellResult:
    policy: str
    latency_ns: int
    seed: int
    pages: int
    start_page: int
    intact: int                  # host image: page holds exactly the expected data
    lost: int                    # host image: page still erased
    corrupted: int               # host image: programmed, wrong or undecodable data
    write_errors: int            # guest: the write of a page failed (EIO / time-out)
    dma_timeouts: int            # guest driver: time-outs waiting for the NFC or the DMA
    readback_mismatch: int       # guest: read back differs from the pattern
    driver_errors: int           # guest kernel log lines from tango_nand / tangox-dma errors
    write_s: float               # guest-reported time of the write phase (virtual time)
    throughput_kib_s: float
    bytes_dropped: int           # sbox counter delta
    teardowns_in_flight: int     # sbox counter delta
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_summary(output: str) -> dict[str, int]:
    """The `summary: key=value ...` line of tangonand."""
    matches = list(_SUMMARY.finditer(output))
    if not matches:
        tail = "".join(f"\n  | {line}" for line in output.rstrip().splitlines()[-15:])
        raise ExperimentError(f"tangonand printed no summary line{tail}")
    last = matches[-1].group(1)
    return {k: int(v) for k, v in (kv.split("=", 1) for kv in last.split())}


def _count_log(machine: Machine, pattern: str) -> int:
    res = machine.run(f"dmesg | grep -c -E '{pattern}' || true", timeout=60)
    digits = re.findall(r"^\d+$", res.output, re.M)
    return int(digits[-1]) if digits else 0


def _sbox_counters(machine: Machine) -> tuple[int, int]:
    return (int(machine.qom_get(SBOX, "bytes-dropped")),
            int(machine.qom_get(SBOX, "teardowns-in-flight")))


def run_cell(machine: Machine, image: Path, layout_page_size: int, policy: str,
             latency_ns: int, seed: int, pages: int, start_page: int,
             timeout: float, layout: Any) -> CellResult:
    t0 = time.monotonic()
    machine.qom_set(SBOX, "latency-ns", 0)
    machine.run(f"echo {policy} > {POLICY_PARAM}", timeout=30, check=True)
    dropped0, tdf0 = _sbox_counters(machine)
    errs0 = _count_log(machine, "tango_nand|tangox")
    tmo0 = _count_log(machine, "tango_nand.*time")
    machine.qom_set(SBOX, "latency-ns", latency_ns)
    args = f"--dev /dev/mtd0 --seed {seed} --start-page {start_page} --pages {pages}"
    wr = machine.run(f"tangonand write {args}", timeout=timeout)
    w = parse_summary(wr.output)
    machine.qom_set(SBOX, "latency-ns", 0)
    rd = machine.run(f"tangonand verify {args}", timeout=timeout)
    r = parse_summary(rd.output)
    dropped1, tdf1 = _sbox_counters(machine)
    errs = _count_log(machine, "tango_nand|tangox") - errs0
    tmo = _count_log(machine, "tango_nand.*time") - tmo0
    report = check_image(image, layout,
                         PatternExpectation.for_pages(seed, layout_page_size,
                                                      range(start_page, start_page + pages)),
                         start=start_page, stop=start_page + pages)
    intact = sum(1 for row in report.rows if row.match)
    lost = report.count(PageStatus.ERASED)
    write_us = w.get("us", 0)
    nbytes = pages * layout_page_size
    return CellResult(
        policy=policy, latency_ns=latency_ns, seed=seed, pages=pages, start_page=start_page,
        intact=intact, lost=lost, corrupted=pages - intact - lost,
        write_errors=w.get("errors", 0), dma_timeouts=tmo,
        readback_mismatch=r.get("mismatch", 0) + r.get("errors", 0), driver_errors=errs,
        write_s=write_us / 1e6,
        throughput_kib_s=(nbytes / 1024) / (write_us / 1e6) if write_us else 0.0,
        bytes_dropped=dropped1 - dropped0, teardowns_in_flight=tdf1 - tdf0,
        wall_s=time.monotonic() - t0)


def _boot(cfg: Config, policy: str, image: Path) -> Machine:
    extra = ["-global", f"onfi-nand.blocks={cfg.blocks}"]
    m = Machine(name=f"exp-{policy}-{int(time.time() * 1000) % 10**9}", nand=image,
                icount=cfg.icount, extra_args=extra, boot_timeout=300)
    m.start()
    try:
        m.run("dmesg -n 1", timeout=30)
        m.run(f"echo {cfg.delay_us} > {DELAY_PARAM}", timeout=30, check=True)
    except BaseException:
        m.close()
        raise
    return m


def run_policy(cfg: Config, policy: str, workdir: Path,
               on_cell: Callable[[CellResult], None]) -> Iterator[CellResult]:
    """Run a policy's cells (latencies x seeds), booting once for them.

    A program whose bytes were lost leaves the NAND controller waiting for
    them (the driver then refuses further ECC transfers), so after a cell
    that lost data the guest is booted again on the same image: each cell
    starts from an idle controller.
    """
    geometry = Geometry(blocks=cfg.blocks)
    layout = compute_layout(geometry, EccLayout())
    image = workdir / f"nand-{policy}.img"
    write_erased_image(image, geometry.image_size, force=True)
    with NandImage(image, layout):
        pass  # validates the size against the layout before booting
    per_cell = -(-cfg.pages // geometry.pages_per_block)
    block = 1
    m: Machine | None = None
    try:
        for latency in cfg.latencies_ns:
            for seed in cfg.seeds:
                if (block + per_cell) > geometry.blocks:
                    raise ExperimentError("the experiment needs more blocks: raise --blocks")
                if m is None:
                    m = _boot(cfg, policy, image)
                cell = run_cell(m, image, geometry.page_size, policy, latency, seed,
                                cfg.pages, block * geometry.pages_per_block,
                                cfg.cell_timeout, layout)
                block += per_cell
                if cell.bytes_dropped or cell.write_errors:
                    m.close()
                    m = None
                on_cell(cell)
                yield cell
    finally:
        if m is not None:
            m.close()
