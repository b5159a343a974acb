# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Save and load of the whole machine in the middle of a race cell (client
policy, -icount): no page lost, every counter as in the uninterrupted run."""

from __future__ import annotations

from typing import Any

from tangolab.torture.migrate import campaign, describe, plan_runs


def test_save_and_load_during_a_race_cell(tangolab_artifacts: Any) -> None:
    plans = plan_runs(3, 7, ("client",), 3, 20_000, 32)
    (report,) = list(campaign(plans))
    text = describe(report)
    assert report.run.migrations, text
    assert {m.phase for m in report.run.migrations} <= {"write", "verify", "after"}, text
    assert report.reference.result.failed == 0 and report.pages_lost == 0, text
    assert report.counter_differences == [], text
    assert report.run.counters["nand0"]["pages-programmed"] == 32, report.run.counters
    assert report.ok, text
