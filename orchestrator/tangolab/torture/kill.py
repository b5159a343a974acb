# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture kill`: runs of `tangolab boot` killed at seeded random
moments must leave nothing behind.

Each run starts ``tangolab boot --name torture-... --run "sleep 30"`` (every
other run with ``--scratch-nand 64``: an erased NAND image in the run
directory; with the kind ``experiment``, a one-cell ``tangolab experiment``,
whose cell boots on a temporary image) as a subprocess in its own session,
sends it SIGINT, SIGTERM or SIGKILL (rotating) after a seeded random delay,
and then checks, for that run only (its QEMU is found by its run directory
in the command line or as its working directory, or as a child of the
orchestrator seen before the kill; other QEMU processes on the host are never
looked at):

- the orchestrator exited (within 30 s) without a Python traceback;
- no QEMU process of the run is left (10 s grace for QEMU's own shutdown);
- ``tangolab ps`` does not list the instance;
- the run directory holds no socket, no ``instance.json`` and no scratch
  image, the private socket directory (if any) is gone, and so is the
  temporary image directory (``/tmp/tangolab-cell-*``) of an experiment.

A run that leaves nothing has its run directory removed; one that does keeps
it for a post-mortem (and its leftover QEMU, ours by construction, is killed).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tangolab import instances
from tangolab.paths import runs_dir

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
#: What a run starts: `tangolab boot`, the same with a scratch NAND image, or a
#: one-cell `tangolab experiment` (a temporary NAND image, named cell instance).
KINDS: tuple[str, ...] = ("boot", "nand")
ALL_KINDS: tuple[str, ...] = ("boot", "nand", "experiment")
#: Blocks of the scratch NAND image of the "nand" runs.
SCRATCH_BLOCKS = 64
#: Seconds the orchestrator gets to exit after the signal.
EXIT_TIMEOUT = 30.0
#: Seconds QEMU gets to go after the orchestrator exited.
QEMU_GRACE = 10.0


#: A traceback frame in the tangolab package (not the interpreter's start-up).
_OUR_FRAME = re.compile(r'File "[^"]*/tangolab/[^"]*\.py"')


@dataclass(frozen=True)
class KillPlan:
    """One run: which command, which signal, how long after the start (or,
    with `after_qemu`, after its QEMU process appeared)."""

    index: int
    kind: str
    sig: signal.Signals
    delay: float
    after_qemu: bool = False


@dataclass
class KillResult:
    plan: KillPlan
    name: str
    exit_code: int | None = None
    qemu_seen: bool = False
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.leftovers


def plan_runs(
    runs: int,
    seed: int,
    max_delay: float,
    *,
    after_qemu: bool = False,
    kinds: Sequence[str] = KINDS,
) -> list[KillPlan]:
    """`runs` runs: signals rotate SIGINT, SIGTERM, SIGKILL; kinds rotate
    (boot, nand); delays uniform in [0, max_delay] from Random(seed)."""
    rng = random.Random(seed)
    return [
        KillPlan(
            index=i,
            kind=kinds[i % len(kinds)],
            sig=SIGNALS[i % len(SIGNALS)],
            delay=round(rng.uniform(0.0, max_delay), 3),
            after_qemu=after_qemu,
        )
        for i in range(runs)
    ]


def tangolab_argv() -> list[str]:
    """How to run the `tangolab` command of this installation."""
    script = Path(sys.executable).parent / "tangolab"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tangolab.cli"]


def qemu_processes(run_dir: Path) -> list[int]:
    """QEMU processes of one run: its run directory in their command line, or
    as their working directory (only QEMU binaries; nothing else is looked at)."""
    key = os.fsencode(run_dir)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # argv[1]: a QEMU that is a script (the unit tests' fake) runs under its interpreter
        if not any(b"qemu" in arg.rsplit(b"/", 1)[-1] for arg in argv[:2]):
            continue
        mine = any(key + b"/" in arg or arg == key for arg in argv)
        if not mine:
            with contextlib.suppress(OSError):
                mine = os.readlink(f"/proc/{entry}/cwd") == str(run_dir)
        if mine and _running(int(entry)):
            found.append(int(entry))
    return sorted(found)


@dataclass(frozen=True)
class QemuSeen:
    """A QEMU process of the run, seen while the run was alive."""

    pid: int
    start: int | None
    cwd: str | None
    drives: tuple[str, ...]


def _children_qemu(parent: int) -> list[QemuSeen]:
    """QEMU processes whose parent is `parent`, with their run directory (their
    working directory) and the files of their ``-drive`` options."""
    seen = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(fields) < 2 or int(fields[1]) != parent:
            continue
        if not any(b"qemu" in arg.rsplit(b"/", 1)[-1] for arg in argv[:2]):
            continue
        drives = []
        for flag, value in itertools.pairwise(argv):
            if flag == b"-drive":
                for part in os.fsdecode(value).replace(",,", "\0").split(","):
                    if part.startswith("file="):
                        drives.append(part[5:].replace("\0", ","))
        cwd = None
        with contextlib.suppress(OSError):
            cwd = os.readlink(f"/proc/{pid}/cwd")
        seen.append(QemuSeen(pid, instances.process_start_time(pid), cwd, tuple(drives)))
    return seen


def _still_running(q: QemuSeen) -> bool:
    return _running(q.pid) and instances.process_start_time(q.pid) == q.start


def _running(pid: int) -> bool:
    """Not a zombie (a zombie QEMU has exited; its parent has yet to reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return bool(fields) and fields[0] not in ("Z", "X")


def _wait_gone(run_dir: Path, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = qemu_processes(run_dir)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def run_once(
    plan: KillPlan,
    build: Path,
    *,
    log_dir: Path,
    name: str | None = None,
    extra_args: Sequence[str] = (),
    keep: bool = False,
    start_timeout: float = 120.0,
) -> KillResult:
    """Start, kill and check one run (see the module documentation)."""
    name = name or f"torture-{plan.index}-{secrets.token_hex(3)}"
    result = KillResult(plan, name)
    run_dir = runs_dir(build) / name
    log_dir.mkdir(parents=True, exist_ok=True)
    argv = [*tangolab_argv(), "--build-dir", str(build)]
    if plan.kind == "experiment":
        argv += ["experiment", "--policies", "client", "--latencies", "0", "--seeds", "1"]
        argv += ["--pages", "4", "--jobs", "1", "--out", str(log_dir / f"{name}.out")]
        argv += [*extra_args]
    else:
        argv += ["boot", "--name", name]
        if plan.kind == "nand":
            argv += ["--scratch-nand", str(SCRATCH_BLOCKS)]
        argv += [*extra_args, "--run", "sleep 30"]
    log_path = log_dir / f"{name}.log"
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    seen: dict[int, QemuSeen] = {}

    def look() -> bool:
        for q in _children_qemu(proc.pid):
            seen[q.pid] = q
        return bool(seen) or bool(qemu_processes(run_dir))

    try:
        if plan.after_qemu:
            deadline = time.monotonic() + start_timeout
            while not look() and proc.poll() is None:
                if time.monotonic() > deadline:
                    result.leftovers.append(f"no QEMU process within {start_timeout:g} s")
                    break
                time.sleep(0.02)
        end = time.monotonic() + plan.delay
        while proc.poll() is None and time.monotonic() < end:
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))
        look()  # the last moment: the QEMU it has now and its files
        result.qemu_seen = bool(qemu_processes(run_dir)) or any(
            _still_running(q) for q in seen.values()
        )
        if proc.poll() is not None:
            result.leftovers.append(
                f"the run ended by itself (status {proc.returncode}) before the signal"
            )
        else:
            os.kill(proc.pid, plan.sig)
        try:
            proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            result.leftovers.append(
                f"orchestrator still running {EXIT_TIMEOUT:g} s after {plan.sig.name}"
            )
            proc.kill()
            proc.wait()
    except BaseException:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        for pid in qemu_processes(run_dir):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for q in seen.values():
            if _still_running(q):
                with contextlib.suppress(OSError):
                    os.kill(q.pid, signal.SIGKILL)
        raise
    result.exit_code = proc.returncode

    deadline = time.monotonic() + QEMU_GRACE
    while any(_still_running(q) for q in seen.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for q in seen.values():
        if _still_running(q):
            result.leftovers.append(f"QEMU pid {q.pid} still running {QEMU_GRACE:g} s later")
            with contextlib.suppress(OSError):
                os.kill(q.pid, signal.SIGKILL)  # ours: a child of this run
    left = [pid for pid in _wait_gone(run_dir, QEMU_GRACE) if pid not in seen]
    if left:
        result.leftovers.append(f"QEMU still running {QEMU_GRACE:g} s later: pid {left}")
        for pid in left:  # ours: found by this run's unique directory
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(run_dir, 5.0)

    run_dirs = {run_dir} | {Path(q.cwd) for q in seen.values() if q.cwd}
    records = {d: instances.read_record(d / instances.RECORD_FILE) for d in run_dirs}
    if any(records.values()):
        result.notes.append("stale instance.json (pruned by tangolab ps)")
    _check_ps(build, {d.name for d in run_dirs}, result)
    for d, record in sorted(records.items()):
        _check_run_dir(d, record, result)
    for q in seen.values():
        for drive in q.drives:
            image = Path(drive)
            if image.parent.name.startswith("tangolab-cell-") and image.parent.exists():
                result.leftovers.append(f"temporary image directory {image.parent} left")
    text = log_path.read_text(errors="replace")
    if "Traceback (most recent call last)" in text:
        if _OUR_FRAME.search(text):
            result.leftovers.append(f"a Python traceback on the orchestrator's output ({log_path})")
        else:  # the interpreter's own start-up (site, the venv): no tangolab code ran yet
            result.notes.append("interrupted during Python's start-up, before tangolab's code")
    result.seconds = round(time.monotonic() - t0, 2)
    if result.clean and not keep:
        for d in run_dirs:
            if d.parent == runs_dir(build):
                shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(log_dir / f"{name}.out", ignore_errors=True)
        with contextlib.suppress(OSError):
            log_path.unlink()
    return result


def _check_ps(build: Path, names: set[str], result: KillResult) -> None:
    try:
        ps = subprocess.run(
            [*tangolab_argv(), "--build-dir", str(build), "ps", "--json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        result.leftovers.append("tangolab ps did not answer within 60 s")
        return
    if ps.returncode != 0:
        tail = ps.stderr.decode(errors="replace").strip().splitlines()[-1:]
        result.leftovers.append(f"tangolab ps failed ({ps.returncode}): {' '.join(tail)}")
        return
    try:
        listed = [r.get("name") for r in json.loads(ps.stdout)]
    except (ValueError, AttributeError):
        result.leftovers.append("tangolab ps --json printed no JSON list")
        return
    for name in sorted(names & set(listed)):
        result.leftovers.append(f"tangolab ps still lists instance {name}")


def _check_run_dir(
    run_dir: Path, record: instances.InstanceRecord | None, result: KillResult
) -> None:
    if run_dir.is_dir():
        for entry in sorted(run_dir.iterdir()):
            try:
                mode = entry.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISSOCK(mode):
                result.leftovers.append(f"socket {entry.name} left in the run directory")
            elif entry.name == instances.RECORD_FILE:
                result.leftovers.append("instance.json left after tangolab ps")
            elif instances.SCRATCH_IMAGE in entry.name:
                result.leftovers.append(f"scratch image {entry.name} left")
    if record is not None and record.socket_dir and Path(record.socket_dir).exists():
        result.leftovers.append(f"socket directory {record.socket_dir} left")


def describe(result: KillResult) -> str:
    p = result.plan
    when = f"{p.delay:.2f} s after {'QEMU started' if p.after_qemu else 'the start'}"
    qemu = "QEMU up" if result.qemu_seen else "no QEMU yet"
    what = "; ".join(result.leftovers) if result.leftovers else "nothing left"
    return (
        f"run {p.index + 1}: {p.kind:4} {p.sig.name:7} at {when} ({qemu}): "
        f"exit {result.exit_code}, {what}"
    )
