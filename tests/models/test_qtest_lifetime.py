# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A QTestMachine's QEMU goes when the orchestrator that started it is
SIGKILLed (PR_SET_PDEATHSIG, tangolab.lifetime): `tangolab torture fuzz`
killed with SIGKILL leaves no QEMU running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ORCHESTRATOR = textwrap.dedent(
    """
    import sys, time
    from tangolab.qtest import QTestMachine
    m = QTestMachine(qemu=sys.argv[1], timeout=30).start()
    print(m.pid, m._dir, flush=True)
    time.sleep(60)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_qemu_goes_with_a_sigkilled_orchestrator(qemu_path: Path) -> None:
    orch = subprocess.Popen(
        [sys.executable, "-c", ORCHESTRATOR, str(qemu_path)], stdout=subprocess.PIPE, text=True
    )
    assert orch.stdout is not None
    line = orch.stdout.readline().split()
    assert len(line) == 2, "the orchestrator did not start QEMU"
    pid, tmp = int(line[0]), Path(line[1])
    try:
        assert _alive(pid)
        orch.kill()
        orch.wait(10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "QEMU outlived its SIGKILLed orchestrator"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        orch.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
