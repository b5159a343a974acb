# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Registry of named, running machine instances.

Each instance has a run directory ``<build>/runs/<name>/`` (mode 0700) with
its console log, QEMU's stderr, its QMP sockets and, while QEMU lives,
``instance.json``: the registry entry. An entry whose QEMU process is gone
(or whose pid now belongs to another process) is stale and pruned, with
what a killed orchestrator could not remove: QEMU's sockets, a private socket
directory and a scratch NAND image (``scratch-nand.img``). A run directory
without an entry whose lock no process holds is pruned the same way. The
logs stay for post-mortems.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tangolab.errors import InstanceError
from tangolab.paths import runs_dir

RECORD_FILE = "instance.json"
LOCK_FILE = "lock"
#: The erased NAND image of `Machine(scratch_nand=...)`, in the run directory.
SCRATCH_IMAGE = "scratch-nand.img"
#: The modelled chip's blocks (onfi-nand.blocks at most).
MAX_SCRATCH_BLOCKS = 1024
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


@dataclass(frozen=True)
class InstanceRecord:
    """What another process needs to find and talk to a running instance."""

    name: str
    pid: int
    pid_start: int | None
    run_dir: str
    qmp_socket: str
    console_log: str
    stderr_log: str
    ssh_port: int | None = None
    owner_pid: int = 0
    started: float = 0.0
    state: str = "booting"
    socket_dir: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceRecord:
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = {"name", "pid", "run_dir", "qmp_socket", "console_log", "stderr_log"} - set(data)
        if missing:
            raise ValueError(f"missing fields {sorted(missing)}")
        return cls(**{k: v for k, v in data.items() if k in fields})


def validate_name(name: str) -> str:
    """Instance names become directory names: letters, digits, '_', '.', '-'."""
    if not _NAME_RE.fullmatch(name):
        raise InstanceError(
            f"invalid instance name {name!r}: use 1-48 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def new_name() -> str:
    return f"tango4-{secrets.token_hex(3)}"


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux /proc), or None."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    fields = stat_line.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _process_state(pid: int) -> str | None:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat_line.rpartition(")")[2].split()
    return fields[0] if fields else None


def is_alive(record: InstanceRecord) -> bool:
    """True if the record's QEMU process still runs (and is the same process)."""
    if record.pid <= 0:
        return False
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _process_state(record.pid) in ("Z", "X"):
        return False
    start = process_start_time(record.pid)
    return record.pid_start is None or start is None or start == record.pid_start


def owner_alive(record: InstanceRecord) -> bool:
    """True if the orchestrator that started the instance still runs (or is unknown):
    a live QEMU whose owner is gone is an orphan, to stop with QMP ``quit``."""
    if record.owner_pid <= 0:
        return True
    try:
        os.kill(record.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _process_state(record.owner_pid) not in ("Z", "X")


def _record_path(runs: Path, name: str) -> Path:
    return runs / name / RECORD_FILE


def write_record(record: InstanceRecord, runs: Path | None = None) -> Path:
    """Atomically write (or replace) the registry entry of `record`."""
    runs = runs_dir() if runs is None else runs
    path = _record_path(runs, record.name)
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(record.to_json())
    os.replace(tmp, path)
    return path


def remove_record(name: str, runs: Path | None = None) -> None:
    runs = runs_dir() if runs is None else runs
    with contextlib.suppress(FileNotFoundError):
        _record_path(runs, name).unlink()


def _remove_sockets(directory: Path) -> None:
    for sock in directory.glob("*.sock"):
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(sock.lstat().st_mode):
                sock.unlink()


def _remove_scratch(run_dir: Path) -> None:
    """The scratch NAND image, and the temporary file of one being written."""
    for path in (run_dir / SCRATCH_IMAGE, *run_dir.glob(f".{SCRATCH_IMAGE}.*")):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                path.unlink()


def _remove_leftovers(record: InstanceRecord, run_dir: Path) -> None:
    """Remove the sockets a killed QEMU could not remove, a private socket dir
    and the scratch NAND image in `run_dir` (where the record was found)."""
    _remove_sockets(Path(record.qmp_socket).parent)
    _remove_sockets(run_dir)
    _remove_scratch(run_dir)
    if record.socket_dir:
        shutil.rmtree(record.socket_dir, ignore_errors=True)


def _prune_unowned(run_dir: Path) -> None:
    """A run directory without a live entry: clean it if no process holds its lock."""
    lock = run_dir / LOCK_FILE
    if not any(run_dir.glob("*.sock")) and not any(run_dir.glob(f"*{SCRATCH_IMAGE}*")):
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # owned: a machine is starting or stopping there
    try:
        _remove_sockets(run_dir)
        _remove_scratch(run_dir)
    finally:
        os.close(fd)


def read_record(path: Path) -> InstanceRecord | None:
    try:
        data = json.loads(path.read_text())
        return InstanceRecord.from_dict(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return None


def list_instances(runs: Path | None = None, *, prune: bool = True) -> list[InstanceRecord]:
    """Live instances, sorted by name; stale or unreadable entries are pruned."""
    runs = runs_dir() if runs is None else runs
    live: list[InstanceRecord] = []
    if not runs.is_dir():
        return live
    for path in sorted(runs.glob(f"*/{RECORD_FILE}")):
        record = read_record(path)
        if record is not None and record.name == path.parent.name and is_alive(record):
            live.append(record)
            continue
        if prune:
            with contextlib.suppress(OSError):
                path.unlink()
            if record is not None:
                _remove_leftovers(record, path.parent)
    if prune:
        for lock in runs.glob(f"*/{LOCK_FILE}"):
            if not (lock.parent / RECORD_FILE).exists():
                _prune_unowned(lock.parent)
    return live


def get_instance(name: str | None, runs: Path | None = None) -> InstanceRecord:
    """The live instance called `name`; without a name, the only live one."""
    live = list_instances(runs)
    if name is None:
        if len(live) == 1:
            return live[0]
        if not live:
            raise InstanceError("no running tangolab instance (start one with `tangolab shell`)")
        names = ", ".join(r.name for r in live)
        raise InstanceError(f"several instances are running ({names}): choose one with --instance")
    for record in live:
        if record.name == name:
            return record
    known = ", ".join(r.name for r in live) or "none"
    raise InstanceError(f"no running instance named {name!r} (running: {known})")


class Claim:
    """A run directory held by this process (an exclusive flock on its lock file)."""

    def __init__(self, name: str, run_dir: Path, lock_fd: int) -> None:
        self.name = name
        self.run_dir = run_dir
        self._fd = lock_fd

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing drops the flock
            self._fd = -1


def claim(name: str, runs: Path | None = None) -> Claim:
    """Create (or reuse) the run directory of `name`, mode 0700, and lock it.

    Raises InstanceError when another process holds the name or a live QEMU
    is registered under it.
    """
    validate_name(name)
    runs = runs_dir() if runs is None else runs
    runs.mkdir(parents=True, exist_ok=True)
    run_dir = runs / name
    if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
        raise InstanceError(f"{run_dir} exists and is not a directory")
    run_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(run_dir, 0o700)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InstanceError(
            f"instance name {name!r} is in use by another tangolab process: choose another name"
        ) from None
    record = read_record(_record_path(runs, name))
    if record is not None and is_alive(record):
        os.close(fd)
        raise InstanceError(
            f"instance {name!r} is already running (QEMU pid {record.pid}): choose another name"
        )
    if record is not None:
        remove_record(name, runs)
        _remove_leftovers(record, run_dir)
    return Claim(name, run_dir, fd)
