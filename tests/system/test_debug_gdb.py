# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab debug: the VM stops at the loss and gdb shows the DMA driver's
interrupt handler tearing the route down; under client nothing is lost
and the command says so (one line, no traceback)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("gdb-multiarch") is None,
    reason="gdb-multiarch is not installed (orchestrator/bootstrap.sh installs it)",
)


def _debug(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tangolab.cli", "debug", "--latency", "20us", "--pages", "2"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


def test_irq_stops_in_the_interrupt_handler_tear_down() -> None:
    res = _debug("--policy", "irq")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "TANGO4_SBOX_DROP" in out and "VM paused" in out
    # the stopped CPU's stack: the tear-down called from the interrupt handler
    frames = out[out.index("CPU#0") :]
    for fn in ("tangox_dma_unroute", "tangox_dma_finish", "tangox_dma_irq"):
        assert fn in out, f"{fn} not in the backtraces:\n{out}"
    assert frames.index("tangox_dma_unroute") < frames.index("tangox_dma_irq")


def test_client_loses_nothing_and_says_so() -> None:
    res = _debug("--policy", "client", "--timeout", "120")
    assert res.returncode == 1
    assert "no bytes were lost" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
