# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab.lifetime`: a child started with `die_with_parent()` goes when
its parent is SIGKILLed; it is set in the main thread and in a Dask task,
not in other threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tangolab.lifetime import die_with_parent, in_dask_task, owned_tempdir

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from tangolab.lifetime import die_with_parent
    child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent() if {tie} else None)
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _orphan_after_sigkill(tie: bool, wait: float) -> bool:
    """Start a parent that starts `sleep 60`, SIGKILL the parent: whether the
    sleep is still alive `wait` s later (it is killed at the end in any case)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(tie=tie)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return _alive(pid)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        parent.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_tied_child_goes_with_its_sigkilled_parent() -> None:
    assert not _orphan_after_sigkill(True, wait=5)  # gone within 5 s (milliseconds, seen)
    # the control: without it the child lives on (a second is plenty: the
    # tie's kill comes at once)
    assert _orphan_after_sigkill(False, wait=1)


def test_not_in_a_plain_thread() -> None:
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(die_with_parent()))
    t.start()
    t.join()
    assert got == [None]
    assert not in_dask_task()


def test_in_a_dask_task() -> None:
    from dask.distributed import Client, LocalCluster

    def probe() -> tuple[bool, bool, bool]:
        main = threading.current_thread() is threading.main_thread()
        return main, in_dask_task(), die_with_parent() is not None

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as c,
        Client(c) as client,
    ):
        assert client.submit(probe, pure=False).result(timeout=60) == (False, True, True)


def test_a_sigkilled_process_temporary_directory_goes_with_the_next_one(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from tangolab.lifetime import owned_tempdir;"
        f"print(owned_tempdir('tlx-', Path({str(tmp_path)!r})), flush=True); time.sleep(60)"
    )
    dead = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert dead.stdout is not None
    left = Path(dead.stdout.readline().strip())
    dead.kill()
    dead.wait(10)
    dead.stdout.close()
    assert left.is_dir() and left.name.startswith(f"tlx-{dead.pid}-")
    mine = owned_tempdir("tlx-", tmp_path)  # a live process's directory stays
    other = owned_tempdir("tlx-", tmp_path)
    assert not left.exists()
    assert mine.is_dir() and other.is_dir() and mine.name.startswith(f"tlx-{os.getpid()}-")
    # another prefix, and names without a pid, are not touched
    (tmp_path / "tly-1-x").mkdir()
    (tmp_path / "tlx-nopid").mkdir()
    owned_tempdir("tlx-", tmp_path)
    assert (tmp_path / "tly-1-x").is_dir() and (tmp_path / "tlx-nopid").is_dir()


def test_a_directory_that_goes_while_looked_at_is_skipped(tmp_path: Path) -> None:
    # Another process may remove a stale directory between the listing and
    # the look at its owner (seen with two pytest-xdist workers): a dangling
    # symbolic link is such a name, listed but gone.
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"tlx-{dead.pid}-gone").symlink_to(tmp_path / "nowhere")
    made = owned_tempdir("tlx-", tmp_path)
    assert made.is_dir()
