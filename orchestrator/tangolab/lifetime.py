# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""QEMU processes that die with the orchestrator, even a SIGKILLed one.

`die_with_parent()` is decided in the parent, before the fork, and gives a
function to run in the child between fork and exec (``preexec_fn``): it
sets PR_SET_PDEATHSIG, so the kernel sends the child SIGTERM when the
parent goes away, and exits at once if the parent is already gone.

Linux sends that signal when the *thread* that forked exits, not the
process. So it is set only where the forking thread lives as long as the
child's work: the main thread, and a Dask worker's task thread (a cell of
`tangolab experiment --jobs N` runs its machine from start to close in one
task, and the worker's threads live as long as the worker process). In
any other thread nothing is set (a machine started there and used on
after the thread ended would otherwise be killed with it).

What a SIGKILLed process cannot remove, its temporary directories, carry
its pid (`owned_tempdir`): the next one made with the same prefix removes
those whose process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return fn


def in_dask_task() -> bool:
    """Whether this thread runs a task of a Dask worker."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A child setup function that ties the child to this process; None
    where that cannot be done safely (see the module documentation)."""
    if threading.current_thread() is not threading.main_thread() and not in_dask_task():
        return None
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def setup() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owned_tempdir(prefix: str, base: Path = Path("/tmp")) -> Path:
    """A new temporary directory ``<base>/<prefix><pid>-XXXXXXXX`` named after
    this process; first the ones of the same prefix whose process is gone
    (SIGKILLed: nothing could remove them) are removed."""
    for stale in base.glob(f"{prefix}*-*"):
        pid, sep, _ = stale.name[len(prefix) :].partition("-")
        if not (sep and pid.isdigit()) or _alive(int(pid)):
            continue
        try:
            mine = stale.owner() == _user()
        except OSError:
            continue  # gone meanwhile (another process cleaned it up)
        if mine:
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base))


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
