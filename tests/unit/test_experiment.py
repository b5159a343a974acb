# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The experiment's parts that need no guest: the tangonand summary, the
counters, the cell records, the pooled rates and their intervals, the
reports, the demo's claim, and the option checks of the commands."""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from tangolab.commands.experiment import (
    _latencies,
    _policies,
    _rerun,
    _seeds,
    check_claim,
    specs_from_args,
)
from tangolab.errors import ExperimentError, TangolabError, UsageError
from tangolab.experiment import CellResult, CellSpec
from tangolab.experiment.cells import parse_counters, parse_summary, with_defaults
from tangolab.experiment.report import (
    conclusion,
    fmt_latency,
    groups,
    read_json,
    write_csv,
    write_json,
    write_plot,
)
from tangolab.experiment.runner import run_cells
from tangolab.experiment.stats import loss_rate


def cell(
    policy: str, latency_ns: int, failed: int, seed: int = 1, pages: int = 16, wait_us: float = 0.0
) -> CellResult:
    spec = CellSpec(policy=policy, latency_ns=latency_ns, seed=seed, pages=pages)
    return CellResult(
        spec=spec, intact=pages - failed, lost=failed, corrupted=0, write_errors=failed,
        readback_mismatch=failed, dma_timeouts=0, nfc_timeouts=failed, aborts=failed, wedged=0,
        bytes_dropped=300 * failed, teardowns_in_flight=failed, write_us=16_000,
        atomic_wait_us=wait_us, channel_held_us=0.0, wall_s=3.0,
        failed_pages=tuple(range(failed)),
    )  # fmt: skip


def test_parse_summary_takes_the_last_summary_line() -> None:
    out = "page 1 ok\nsummary: pages=1 errors=0\nmore\nsummary: pages=16 errors=2 us=1500\n"
    assert parse_summary(out) == {"pages": 16, "errors": 2, "us": 1500}


def test_no_summary_is_an_experiment_error() -> None:
    with pytest.raises(ExperimentError) as e:
        parse_summary("tangonand: /dev/mtd0: No such device\n")
    assert isinstance(e.value, TangolabError)
    assert str(e.value) == (
        "tangonand printed no summary line\n  | tangonand: /dev/mtd0: No such device"
    )


def test_parse_counters_sums_every_name() -> None:
    out = "aborts=3\nbusy_aborts=0\nchan0 dir=mem-to-dev held_ns=100 stops=1\nchan1 held_ns=50\n"
    assert parse_counters(out) == {"aborts": 3, "busy_aborts": 0, "held_ns": 150, "stops": 1}


def test_loss_rate_wilson_interval() -> None:
    r = loss_rate(0, 64)
    assert (r.k, r.n, r.value, r.low) == (0, 64, 0.0, 0.0)
    assert 0.05 < r.high < 0.06  # Wilson: 1.96^2 / (64 + 1.96^2)
    r = loss_rate(32, 64)
    assert r.low < 0.5 < r.high and abs((r.low + r.high) / 2 - 0.5) < 1e-9
    assert loss_rate(0, 0).high == 1.0
    with pytest.raises(ValueError):
        loss_rate(5, 4)


def test_rows_round_trip_and_pool_by_policy_and_latency(tmp_path: Path) -> None:
    cells = [cell("irq", 0, 0), cell("irq", 20_000, 16), cell("irq", 20_000, 8, seed=2),
             cell("client", 20_000, 0)]  # fmt: skip
    assert [CellResult.from_row(c.row()) for c in cells] == cells
    g = groups(cells)
    assert [(x.policy, x.latency_ns, x.rate.k, x.rate.n) for x in g] == [
        ("irq", 0, 0, 16), ("irq", 20_000, 24, 32), ("client", 20_000, 0, 16),
    ]  # fmt: skip
    write_csv(cells, tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["policy"], r["latency_ns"], r["lost"]) for r in rows] == [
        ("irq", "0", "0"), ("irq", "20000", "16"), ("irq", "20000", "8"), ("client", "20000", "0"),
    ]  # fmt: skip
    assert "loss_low" in rows[0] and "jitter_ns" in rows[0] and "seed" in rows[0]
    write_json(cells, tmp_path / "r.json", {"versions": {"qemu": {"version": "10.0.13"}}})
    meta, rows2 = read_json(tmp_path / "r.json")
    assert meta["versions"]["qemu"]["version"] == "10.0.13"
    assert CellResult.from_row(rows2[2]) == cells[2]
    write_plot(cells, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conclusion_names_losses_and_costs() -> None:
    cells = [cell("irq", 20_000, 16), cell("irq-callback", 20_000, 0, wait_us=16 * 40.0),
             cell("client", 20_000, 0)]  # fmt: skip
    lines = conclusion(cells)
    assert lines[0].startswith("irq          loses 100% of pages")
    assert "busy-waits 40 us per page in atomic context" in lines[1]
    assert lines[2].startswith("client       loses none of 16 pages")


def test_demo_claim() -> None:
    good = [cell("irq", 0, 0), cell("irq", 200_000, 5), cell("client", 200_000, 0)]
    assert check_claim(good) == []
    bad = [cell("irq", 0, 0), cell("irq", 200_000, 0), cell("client", 200_000, 1)]
    assert check_claim(bad) == [
        "the original policy (irq) lost no page with data in flight",
        "the peripheral-done hook (client) lost 1 page(s)",
    ]


def test_fmt_latency() -> None:
    assert [fmt_latency(n) for n in (0, 1_000_000, 20_000, 1_500)] == ["0", "1ms", "20us", "1500ns"]


def test_option_parsers() -> None:
    assert _policies("irq, client,irq-callback") == ["irq", "client", "irq-callback"]
    assert _latencies("0,5us,1ms") == [0, 5_000, 1_000_000]
    assert _seeds("1,0x10") == [1, 16]
    assert _rerun("out/results.json:3") == (Path("out/results.json"), 3)
    for parse, text in ((_policies, "irq,bogus"), (_latencies, "1s0"), (_seeds, "-1"),
                        (_policies, " , "), (_rerun, "results.json"),
                        (_rerun, "results.json:x")):  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_specs_from_args_matrix_and_jitter() -> None:
    args = argparse.Namespace(
        policies=["irq", "client"], latencies=[0, 20_000], seeds=[1, 2], pages=64,
        jitter="exponential", jitter_frac=0.5, delay_us=10, fifo_depth=512, icount=4,
        no_icount=False,
    )  # fmt: skip
    specs = specs_from_args(args)
    assert len(specs) == 8
    assert specs[3] == CellSpec(
        policy="irq", latency_ns=20_000, seed=2, pages=64, jitter="exponential", jitter_ns=10_000
    )
    args.fifo_depth = 100
    with pytest.raises(UsageError, match="multiple of 64"):
        specs_from_args(args)


def test_spec_checks() -> None:
    with pytest.raises(UsageError, match="policy"):
        CellSpec(policy="nope", latency_ns=0, seed=1).check()
    with pytest.raises(UsageError, match="jitter"):
        CellSpec(policy="irq", latency_ns=0, seed=1, jitter="gauss").check()
    spec = CellSpec(policy="irq", latency_ns=10_000, seed=1)
    assert with_defaults(spec, 0.5).jitter_ns == 5_000
    assert with_defaults(replace(spec, jitter="none"), 0.5).jitter_ns == 0
    assert spec.blocks == 8 and replace(spec, pages=1000).blocks == 18


def test_run_cells_rejects_no_workers() -> None:
    with pytest.raises(ExperimentError):
        run_cells([], jobs=0)


def test_bad_rerun_row_is_a_usage_error(tmp_path: Path) -> None:
    from rich.console import Console

    from tangolab.commands.experiment import _rerun_cell

    path = tmp_path / "r.json"
    path.write_text(json.dumps({"meta": {}, "cells": [{"policy": "irq"}]}))
    with pytest.raises(UsageError, match=r"rows 0\.\.0"):
        _rerun_cell(path, 5, Console())
    with pytest.raises(UsageError, match="not a cell row"):
        _rerun_cell(path, 0, Console())
    path.write_text("[]")
    with pytest.raises(UsageError, match="not a tangolab experiment result"):
        _rerun_cell(path, 0, Console())
