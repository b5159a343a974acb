# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Killed runs leave nothing behind (issue 14): one real `tangolab boot` per
signal, with a scratch NAND image, killed shortly after its QEMU started;
`tangolab.torture.kill` checks the run's own QEMU, `tangolab ps`, sockets,
instance.json, the scratch image and the output (no traceback)."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest

from tangolab.paths import build_dir, runs_dir
from tangolab.torture.kill import KillPlan, describe, run_once


@pytest.mark.parametrize(
    ("sig", "delay"),
    [(signal.SIGINT, 0.3), (signal.SIGTERM, 1.0), (signal.SIGKILL, 0.6)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_killed_boot_leaves_nothing(sig: signal.Signals, delay: float, tmp_path: Path) -> None:
    plan = KillPlan(index=0, kind="nand", sig=sig, delay=delay, after_qemu=True)
    result = run_once(plan, build_dir(), log_dir=tmp_path, name=f"test-cleanup-{sig.name}")
    assert result.qemu_seen, describe(result)  # the kill hit a running QEMU
    assert result.leftovers == [], describe(result)
    assert result.exit_code == {signal.SIGINT: 130, signal.SIGTERM: 143}.get(sig, -9)
    assert not (runs_dir(build_dir()) / result.name).exists()  # clean runs are removed


def test_killed_experiment_leaves_nothing(tmp_path: Path) -> None:
    """Finding (issue 14, fixed in 056c89f): a SIGKILLed `tangolab experiment` left
    its cell's NAND image in /tmp/tangolab-cell-*; it now lives in the run directory."""
    plan = KillPlan(index=0, kind="experiment", sig=signal.SIGKILL, delay=1.0, after_qemu=True)
    result = run_once(plan, build_dir(), log_dir=tmp_path, name="test-cleanup-experiment")
    for leftover in result.leftovers:  # ours: remove it whatever the outcome
        found = re.search(r"temporary image directory (/\S+) left", leftover)
        if found:
            shutil.rmtree(found.group(1), ignore_errors=True)
    assert result.qemu_seen, describe(result)
    assert result.leftovers == [], describe(result)
