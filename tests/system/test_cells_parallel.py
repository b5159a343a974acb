# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Cells are independent and repeatable: under -icount `tangolab experiment`
gives the same results run one after the other and on a Dask LocalCluster.

The commands run as subprocesses: a Dask cluster leaves helper processes
(multiprocessing's resource tracker) behind in the process that made it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# one cell per policy: with --jobs 2 both run at once on the cluster
MATRIX = ["--policies", "irq,client", "--latencies", "4us", "--seeds", "2", "--pages", "8",
          "--jitter-frac", "1"]  # fmt: skip


def experiment(out: Path, *args: str) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "tangolab.cli", "experiment", *MATRIX, "--out", str(out), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    rows: list[dict[str, Any]] = json.loads((out / "results.json").read_text())["cells"]
    for row in rows:
        row.pop("wall_s")
    return rows


def test_serial_and_dask_give_the_same_results(tmp_path: Path) -> None:
    serial = experiment(tmp_path / "serial", "--jobs", "1")
    parallel = experiment(tmp_path / "dask", "--jobs", "2")
    assert serial == parallel
    assert [(r["policy"], r["seed"]) for r in parallel] == [("irq", 2), ("client", 2)]
    irq, client = serial
    assert irq["lost"] + irq["corrupted"] > 0, serial  # irq at 4 us loses
    assert client["lost"] + client["corrupted"] == 0, serial
