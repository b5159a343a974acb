# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture migrate`: save and load the machine under load.

The load is a race cell of the experiment (`tangolab.experiment.cells.
run_cell`): the guest's init writes a cell's NAND pages through the DMA
driver with a tear-down policy, with route latencies drawn by the box,
reads them back, and the host checks every page on the image. Under
``-icount`` such a cell repeats exactly, so a cell whose machine is saved
and loaded again in the middle must end with exactly the numbers of the
same cell run without interruption.

Each migrated run starts the cell and, from a second thread, connects to
the public QMP socket of the cell's instance (``tangolab.instances``):
it adds a qcow2 node for the VM state (``blockdev-create``, ``blockdev-add``),
and at seeded random moments (uniform over the reference run's wall time)
stops the VM, ``snapshot-save``s it, ``snapshot-load``s the same snapshot
(everything the models hold: registers, busy timers, bytes in flight,
counters; the virtual clock and icount), deletes it and lets the VM run
on. When the cell printed its end, every model counter is read (VM
stopped; the same in the reference run). Compared with the reference:
every field of the cell result (pages intact, lost, corrupted, write
errors, driver time-outs and aborts, bytes dropped, tear-downs in flight,
the guest-measured write time, and which pages failed) and every counter
of `tangolab.faults.COUNTERS`, except the wall time.

The NAND chip's image is a raw drive outside the snapshot; it does not
change while the VM is stopped, so the loaded state matches it.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tangolab import instances
from tangolab.errors import TangolabError
from tangolab.experiment.cells import CellResult, CellSpec, run_cell, with_defaults
from tangolab.faults import Faults
from tangolab.lifetime import owned_tempdir
from tangolab.paths import runs_dir
from tangolab.qmp import QmpClient

#: Seconds to wait for the cell's instance to appear, and for a QMP job.
APPEAR_TIMEOUT = 60.0
JOB_TIMEOUT = 120.0
_MARKERS = ("before", "write", "verify", "after", "end")
#: Fields of a cell result that are not the cell's (they follow the host).
HOST_FIELDS = ("wall_s",)
#: Fields and counters that measure time, not work: a stopped VM resumes
#: with QEMU's icount timer deadlines re-aligned, and host work on QMP
#: while the VM runs (adding the VM-state node) moves them too (observed:
#: stops during the boot, a few hundred us of write time more or less;
#: 20 us latency cells, channel_held_us 93995 -> 93920 us in most migrated
#: runs wherever the stops fell), so they may differ by a little; every
#: other field and counter must be equal.
TIMING = ("write_us", "atomic_wait_us", "channel_held_us", "sbox.stalls")


class MigrateError(TangolabError):
    """A save or load failed, or the cell could not be driven."""


def qmp_job(qmp: QmpClient, command: str, args: dict[str, Any]) -> None:
    """Run a QMP job command to its end; MigrateError with QEMU's reason."""
    job_id = str(args["job-id"])
    qmp.command(command, args)
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        jobs = {j["id"]: j for j in qmp.command("query-jobs")}
        job = jobs.get(job_id)
        if job is None:
            raise MigrateError(f"{command}: job {job_id} vanished")
        if job["status"] == "concluded":
            qmp.command("job-dismiss", {"id": job_id})
            if job.get("error"):
                raise MigrateError(f"{command} failed: {job['error']}")
            return
        if time.monotonic() > deadline:
            raise MigrateError(
                f"{command}: job {job_id} still {job['status']} after {JOB_TIMEOUT:g} s"
            )
        time.sleep(0.01)


def add_vmstate_node(qmp: QmpClient, path: Path) -> str:
    """A new qcow2 image at `path` as node "tlvmstate" of a running QEMU."""
    qmp_job(
        qmp,
        "blockdev-create",
        {
            "job-id": "tl-create-file",
            "options": {"driver": "file", "filename": str(path), "size": 0},
        },
    )
    qmp.command("blockdev-add", {"driver": "file", "node-name": "tlvmfile", "filename": str(path)})
    qmp_job(
        qmp,
        "blockdev-create",
        {
            "job-id": "tl-create-qcow2",
            "options": {"driver": "qcow2", "file": "tlvmfile", "size": 1 << 20},
        },
    )
    qmp.command("blockdev-add", {"driver": "qcow2", "node-name": "tlvmstate", "file": "tlvmfile"})
    return "tlvmstate"


def save_and_load(qmp: QmpClient, node: str, tag: str) -> None:
    """Stop the VM, save it, load that state back, delete it, run on."""
    qmp.command("stop")
    try:
        common = {"tag": tag, "vmstate": node, "devices": [node]}
        qmp_job(qmp, "snapshot-save", {"job-id": f"{tag}-save", **common})
        qmp_job(qmp, "snapshot-load", {"job-id": f"{tag}-load", **common})
        qmp_job(qmp, "snapshot-delete", {"job-id": f"{tag}-del", "tag": tag, "devices": [node]})
    finally:
        qmp.command("cont")


@dataclass
class Migration:
    at_s: float  # seconds after the cell's write phase began
    phase: str  # the cell's section then: boot, before, write, verify, after, end
    seconds: float  # stop to cont


@dataclass
class CellRun:
    result: CellResult
    counters: dict[str, dict[str, int]]
    migrations: list[Migration] = field(default_factory=list)
    phase_times: dict[str, float] = field(default_factory=dict)

    @property
    def load_seconds(self) -> float:
        """Wall time of the write and verify phases."""
        t = self.phase_times
        return max(0.0, t.get("after", 0.0) - t.get("write", 0.0))


def _phase(console_log: Path) -> str:
    try:
        text = console_log.read_text(errors="replace")
    except OSError:
        return "boot"
    found = [(text.rfind(f"tangolab-cell: {m}"), m) for m in _MARKERS]
    pos, name = max(found)
    return name if pos >= 0 else "boot"


class _Driver(threading.Thread):
    """Finds the cell's instance, saves and loads it at the given moments,
    reads the counters when the cell ended."""

    def __init__(self, spec: CellSpec, moments: list[float], workdir: Path) -> None:
        super().__init__(name="tangolab-migrate", daemon=True)
        self.prefix = f"cell-{spec.policy}-{spec.latency_ns}-{spec.seed}-"
        self.moments = sorted(moments)
        self.workdir = workdir
        self.migrations: list[Migration] = []
        self.counters: dict[str, dict[str, int]] = {}
        self.error: str | None = None
        self.done = threading.Event()
        #: Seconds after the instance was seen when each phase was first seen.
        self.phase_times: dict[str, float] = {}

    def _find(self) -> instances.InstanceRecord:
        deadline = time.monotonic() + APPEAR_TIMEOUT
        while not self.done.is_set():
            for rec in instances.list_instances(runs_dir(), prune=False):
                if rec.name.startswith(self.prefix) and rec.owner_pid == os.getpid():
                    return rec
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise MigrateError(f"no instance {self.prefix}* appeared")

    def run(self) -> None:
        try:
            self._run()
        except (TangolabError, OSError) as e:
            self.error = str(e)

    def _watch(self, log: Path, t0: float) -> str:
        phase = _phase(log)
        self.phase_times.setdefault(phase, time.monotonic() - t0)
        return phase

    def _run(self) -> None:
        rec = self._find()
        t0 = time.monotonic()
        log = Path(rec.console_log)
        with QmpClient(rec.qmp_socket, timeout=JOB_TIMEOUT) as qmp:
            qmp.connect(timeout=APPEAR_TIMEOUT)
            node = add_vmstate_node(qmp, self.workdir / "vmstate.qcow2") if self.moments else ""
            while self._watch(log, t0) not in ("write", "verify", "after", "end"):
                if self.done.is_set():
                    raise MigrateError("the cell ended before its write phase was seen")
                time.sleep(0.002)
            t_write = time.monotonic()
            for i, at in enumerate(self.moments):
                while time.monotonic() - t_write < at and not self.done.is_set():
                    self._watch(log, t0)
                    time.sleep(0.002)
                phase = self._watch(log, t0)
                if self.done.is_set() or phase == "end":
                    break
                t = time.monotonic()
                save_and_load(qmp, node, f"tl{i}")
                self.migrations.append(
                    Migration(round(t - t_write, 3), phase, time.monotonic() - t)
                )
            while self._watch(log, t0) != "end" and not self.done.is_set():
                time.sleep(0.002)
            if self.done.is_set():
                raise MigrateError("the cell ended before its counters were read")
            qmp.command("stop")
            try:
                self.counters = Faults(qmp).counters()
            finally:
                qmp.command("cont")


def run_cell_migrated(spec: CellSpec, moments: list[float]) -> CellRun:
    """Run `spec` with a save and load at each moment (s after its write
    phase began; none: a reference run, counters read the same way)."""
    workdir = owned_tempdir("tangolab-migrate-")
    driver = _Driver(spec, moments, workdir)
    driver.start()
    try:
        result = run_cell(spec)
    finally:
        driver.done.set()
        driver.join(JOB_TIMEOUT)
        shutil.rmtree(workdir, ignore_errors=True)
    if driver.error:
        raise MigrateError(f"{spec.policy} cell seed {spec.seed}: {driver.error}")
    return CellRun(result, driver.counters, driver.migrations, driver.phase_times)


def differences(ref: CellRun, run: CellRun) -> list[tuple[str, object, object]]:
    """(name, reference, migrated) of every field and counter that differs
    (wall time aside); counters are named ``device.counter``."""
    out: list[tuple[str, object, object]] = []
    for f in fields(CellResult):
        if f.name in HOST_FIELDS or f.name == "spec":
            continue
        a, b = getattr(ref.result, f.name), getattr(run.result, f.name)
        if a != b:
            out.append((f.name, a, b))
    for dev in sorted(set(ref.counters) | set(run.counters)):
        ca, cb = ref.counters.get(dev, {}), run.counters.get(dev, {})
        for name in sorted(set(ca) | set(cb)):
            if ca.get(name) != cb.get(name):
                out.append((f"{dev}.{name}", ca.get(name), cb.get(name)))
    return out


@dataclass(frozen=True)
class RunPlan:
    spec: CellSpec
    fractions: tuple[float, ...]  # of the reference run's write and verify phases


def plan_runs(
    count: int, seed: int, policies: tuple[str, ...], per_run: int, latency_ns: int, pages: int
) -> list[RunPlan]:
    """Runs with `per_run` migrations each (the last with the rest), the
    policies in turn, moments as seeded fractions of the reference time."""
    rng = random.Random(seed)
    plans = []
    left = count
    i = 0
    while left > 0:
        n = min(per_run, left)
        spec = with_defaults(
            CellSpec(
                policy=policies[i % len(policies)], latency_ns=latency_ns, seed=seed, pages=pages
            ),
            0.5,
        )
        plans.append(RunPlan(spec, tuple(sorted(rng.uniform(0.0, 1.0) for _ in range(n)))))
        left -= n
        i += 1
    return plans


@dataclass
class RunReport:
    plan: RunPlan
    reference: CellRun
    run: CellRun
    diff: list[tuple[str, object, object]]

    @property
    def pages_lost(self) -> int:
        """Pages not intact on the chip after the migrated run."""
        return self.run.result.failed

    @property
    def counter_differences(self) -> list[str]:
        """Differences in what must be equal."""
        return [f"{n}: {a} -> {b}" for n, a, b in self.diff if n not in TIMING]

    @property
    def timing_differences(self) -> list[str]:
        return [f"{n}: {a} -> {b}" for n, a, b in self.diff if n in TIMING]

    @property
    def ok(self) -> bool:
        return (
            not self.counter_differences
            and bool(self.run.counters)
            and (self.plan.spec.policy != "client" or self.pages_lost == 0)
        )


def describe(r: RunReport) -> str:
    phases = ", ".join(f"{m.phase} +{m.at_s:.2f}s" for m in r.run.migrations) or "none"
    text = (
        f"{r.plan.spec.policy} cell seed {r.plan.spec.seed}: {'ok' if r.ok else 'FAILED'}: "
        f"{len(r.run.migrations)} save/load ({phases}; {r.run.result.wall_s:.1f} s), "
        f"pages lost {r.pages_lost} (uninterrupted {r.reference.result.failed}), "
        f"{len(r.counter_differences)} counters differ"
    )
    for line in r.counter_differences:
        text += f"\n    differs: {line}"
    for line in r.timing_differences:
        text += f"\n    timing (tolerated): {line}"
    return text


def campaign(
    plans: list[RunPlan], progress: Callable[[str], None] | None = None
) -> Iterator[RunReport]:
    """Reference run per spec (once), then each planned run, compared."""
    refs: dict[CellSpec, CellRun] = {}
    for plan in plans:
        ref = refs.get(plan.spec)
        if ref is None:
            t = time.monotonic()
            ref = refs[plan.spec] = run_cell_migrated(plan.spec, [])
            if progress is not None:
                progress(
                    f"reference {plan.spec.policy} cell: {ref.result.failed} pages not intact, "
                    f"{time.monotonic() - t:.1f} s"
                )
        span = ref.load_seconds
        run = run_cell_migrated(plan.spec, [f * span for f in plan.fractions])
        yield RunReport(plan, ref, run, differences(ref, run))
