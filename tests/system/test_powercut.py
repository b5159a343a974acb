# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Power cuts under UBIFS: a short seeded `tangolab torture powercut`
campaign survives, and its in-guest check catches a doctored journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tangolab.machine import Machine
from tangolab.torture.powercut import (
    BLOCKS,
    MOUNT,
    WRITER_DIR,
    Campaign,
    CutResult,
    check_journal,
    describe,
    journal_lines,
    parse_journal,
    parse_listing,
    run_campaign,
)


def test_power_cuts_under_ubifs(tangolab_artifacts: Any, tmp_path: Path) -> None:
    results: list[CutResult] = []
    campaign = Campaign(3, 11, tmp_path, max_pages=150, artifacts=tangolab_artifacts)
    summary = run_campaign(campaign, results.append)
    report = "\n".join(describe(r) for r in results)
    assert summary.cuts == 3 and summary.survived == 3, report
    for r in results:
        # the cut landed in a program or erase of the writer's, and the
        # writer had made something durable before it
        assert r.cut and r.cut_peb is not None and r.pages_at_cut >= r.plan.pages, report
        assert r.log is not None and r.log.corrupted_pebs is not None, report
    assert sum(r.durable_files for r in results) > 0, report
    assert all(s < 60 for s in summary.seconds), summary.seconds

    # The same check on the image after the last cut, against that cut's
    # journal and against the journal doctored: one file promised a byte
    # more than it holds, one file that was never written.
    journal = journal_lines((tmp_path / "cut3.journal").read_text())
    promised = parse_journal(journal)
    with Machine(
        tangolab_artifacts,
        nand=campaign.image,
        extra_args=["-global", f"onfi-nand.blocks={BLOCKS}"],
    ) as m:
        assert m.run(MOUNT, timeout=300).status == 0
        out = m.run(f"fswriter check {WRITER_DIR}", timeout=300)
    assert out.status == 0, out.output
    found = parse_listing(journal_lines(out.output))
    assert check_journal(promised, found) == []
    assert found, "the last cut left no file to doctor a journal with"
    name, listed = sorted(found.items())[0]
    doctored = parse_journal([*journal, f"D {name} {listed.size + 1}", "D 9999.0 1"])
    lost = check_journal(doctored, found)
    assert len(lost) == 2, lost
    assert "short" in lost[0] and lost[1].startswith("9999: ") and lost[1].endswith("missing")
