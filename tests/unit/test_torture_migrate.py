# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture migrate` without QEMU: the plan, the comparison with
the uninterrupted run (doctored results and counters), usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tangolab.experiment.cells import CellResult, CellSpec
from tangolab.torture.migrate import CellRun, Migration, RunReport, describe, differences, plan_runs

SPEC = CellSpec(policy="client", latency_ns=20_000, seed=1, pages=8)
RESULT = CellResult(
    spec=SPEC, intact=8, lost=0, corrupted=0, write_errors=0, readback_mismatch=0,
    dma_timeouts=0, nfc_timeouts=0, aborts=0, wedged=0, bytes_dropped=0,
    teardowns_in_flight=0, write_us=9000, atomic_wait_us=0.0, channel_held_us=10.5, wall_s=7.0,
)  # fmt: skip
COUNTERS = {"sbox": {"bytes-moved": 32768, "stalls": 40}, "nand0": {"pages-programmed": 8}}


def report(result: CellResult, counters: dict[str, dict[str, int]]) -> RunReport:
    ref = CellRun(RESULT, COUNTERS)
    run = CellRun(result, counters, [Migration(0.1, "write", 0.4)])
    return RunReport(plan_runs(1, 1, ("client",), 1, 20_000, 8)[0], ref, run, differences(ref, run))


def test_the_same_numbers_pass_and_the_wall_time_does_not_count() -> None:
    r = report(replace(RESULT, wall_s=9.9), COUNTERS)
    assert r.diff == [] and r.ok and r.pages_lost == 0
    assert "ok: 1 save/load (write +0.10s" in describe(r)


def test_a_lost_page_or_another_counter_fails() -> None:
    lost = report(replace(RESULT, intact=7, lost=1, failed_pages=(3,)), COUNTERS)
    assert not lost.ok and lost.pages_lost == 1
    assert "lost: 0 -> 1" in lost.counter_differences
    moved = {**COUNTERS, "sbox": {"bytes-moved": 30000, "stalls": 40}}
    r = report(RESULT, moved)
    assert not r.ok and r.counter_differences == ["sbox.bytes-moved: 32768 -> 30000"]
    assert "differs: sbox.bytes-moved" in describe(r)
    # no counters read at all is a failure too
    assert not report(RESULT, {}).ok


def test_timing_fields_are_shown_but_tolerated() -> None:
    slower = {**COUNTERS, "sbox": {"bytes-moved": 32768, "stalls": 43}}
    r = report(replace(RESULT, write_us=9100, channel_held_us=11.0), slower)
    assert r.ok and r.counter_differences == []
    assert r.timing_differences == [
        "write_us: 9000 -> 9100",
        "channel_held_us: 10.5 -> 11.0",
        "sbox.stalls: 40 -> 43",
    ]


def test_plans_are_seeded_and_share_the_count() -> None:
    plans = plan_runs(10, 4, ("client", "irq"), 3, 5000, 16)
    assert [len(p.fractions) for p in plans] == [3, 3, 3, 1]
    assert [p.spec.policy for p in plans] == ["client", "irq", "client", "irq"]
    assert all(0 <= f <= 1 for p in plans for f in p.fractions)
    assert plans == plan_runs(10, 4, ("client", "irq"), 3, 5000, 16)
    assert plans != plan_runs(10, 5, ("client", "irq"), 3, 5000, 16)
    assert plans[0].spec.jitter_ns == 2500 and plans[0].spec.icount == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--count", "0"], "must be at least 1"),
        (["--latency", "5parsec"], "unknown unit 'parsec'"),
        (["--latency", "2s"], "too large"),
        (["--pages", "5000"], "at most 4096 pages"),
        (["--policies", "bogus"], "policy 'bogus'"),
        (["--count", "1"], "missing build artifact"),
    ],
)
def test_migrate_usage_errors_are_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    env = dict(os.environ, TANGOLAB_BUILD=str(tmp_path))
    res = subprocess.run(
        [sys.executable, "-m", "tangolab.cli", "torture", "migrate", *argv],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode in (1, 2), res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0]
