# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench nand` on a real guest, in a tiny variant: one run, a
2-eraseblock `mtd_speedtest`, a 1 MiB round trip; then the round trip's
check is shown to catch a dumped file that differs from the written one."""

from __future__ import annotations

import pytest

from tangolab.machine import Machine
from tangolab.nand.speed import ROUNDTRIP_STEPS, SPEEDTEST_COMPARED, BenchError, summarize
from tangolab.nand.speedrun import DATA, DUMP, SIDES, measure, verify

# the whole chip: nandsim gets the same 128 MiB
pytestmark = pytest.mark.tangolab(blocks=1024)

SIZE = 1 << 20


def test_bench_nand_tiny(tango_machine: Machine) -> None:
    m = tango_machine
    results = measure(m, runs=1, size=SIZE, count=2, timeout=300)
    devices = results["devices"]
    assert devices["tango4"]["name"] == "tango-nand.0"
    assert devices["nandsim"]["name"] == "NAND simulator partition 0"
    assert devices["tango4"]["geometry"] == devices["nandsim"]["geometry"]
    assert devices["tango4"]["geometry"] == "nand, 128 MiB, 128 KiB blocks, 2048+64-byte pages"
    (run,) = results["runs"]
    for side in SIDES:
        for what in SPEEDTEST_COMPARED:
            assert run[side]["speedtest"][what] > 0, (side, what)
        trip = run[side]["roundtrip"]
        assert trip["verified"] is True
        for step in ROUNDTRIP_STEPS:
            assert trip[step]["host_s_per_mib"] > 0, (side, step)
            assert trip[step]["cpu_s_per_mib"] >= 0, (side, step)
        # QEMU's CPU time counts in 10 ms ticks: a 1 MiB write and dump
        # take more than that on either side
        assert trip["nandwrite"]["cpu_s_per_mib"] + trip["nanddump"]["cpu_s_per_mib"] > 0
    for r in summarize(results["runs"]):
        # QEMU's CPU time counts in 10 ms ticks: nandsim may take none for a
        # 1 MiB step, and then there is no ratio; every other figure has one
        assert (r.ratio is None) == (r.nandsim == 0), r
        if "CPU" not in r.label:
            assert r.ratio is not None and r.ratio > 0, r

    # The last round trip's files are still there: the check passes on
    # them, and fails once 16 bytes of the dump (random data) are zeroed.
    digest = verify(m, "nandsim", 60)
    assert digest == run["nandsim"]["roundtrip"]["sha256"]
    m.run(f"dd if=/dev/zero of={DUMP} bs=16 count=1 seek=256 conv=notrunc 2>/dev/null", check=True)
    assert m.run(f"cmp -s {DUMP} {DATA}").status != 0
    with pytest.raises(BenchError, match="nandsim: round trip: the dumped data differ"):
        verify(m, "nandsim", 60)
