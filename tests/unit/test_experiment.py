# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The experiment runner's parts that need no guest: the tangonand summary,
the per-policy sums, the reports, and the option checks of the commands."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from tangolab.commands.experiment import _config, _latencies, _policies, _seeds
from tangolab.errors import ExperimentError, TangolabError, UsageError
from tangolab.experiment import summarise
from tangolab.experiment.cells import CellResult, parse_summary
from tangolab.experiment.report import fmt_latency, write_csv, write_json


def cell(policy: str, latency_ns: int, intact: int, lost: int) -> CellResult:
    return CellResult(
        policy=policy, latency_ns=latency_ns, seed=1, pages=16, start_page=64, intact=intact,
        lost=lost, corrupted=16 - intact - lost, write_errors=0, dma_timeouts=1 if lost else 0,
        readback_mismatch=0, driver_errors=0, write_s=0.1, throughput_kib_s=320.0,
        bytes_dropped=2048 if lost else 0, teardowns_in_flight=0, wall_s=3.0,
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


def test_summarise_and_reports(tmp_path: Path) -> None:
    cells = [cell("irq", 0, 16, 0), cell("irq", 20_000, 0, 16), cell("client", 20_000, 16, 0)]
    assert summarise(cells) == {
        "irq": {"pages": 32, "intact": 16, "lost": 16, "corrupted": 0, "dma_timeouts": 1},
        "client": {"pages": 16, "intact": 16, "lost": 0, "corrupted": 0, "dma_timeouts": 0},
    }
    write_csv(cells, tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["policy"], r["latency_ns"], r["lost"]) for r in rows] == [
        ("irq", "0", "0"), ("irq", "20000", "16"), ("client", "20000", "0"),
    ]  # fmt: skip
    write_json(cells, tmp_path / "r.json", {"seeds": [1]})
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["meta"] == {"seeds": [1]} and data["cells"][1]["bytes_dropped"] == 2048


def test_fmt_latency() -> None:
    assert [fmt_latency(n) for n in (0, 1_000_000, 20_000, 1_500)] == ["0", "1ms", "20us", "1500ns"]


def test_option_parsers() -> None:
    assert _policies("irq, client") == ["irq", "client"]
    assert _latencies("0,5us,1ms") == [0, 5_000, 1_000_000]
    assert _seeds("1,0x10") == [1, 16]
    for parse, text in ((_policies, "irq,bogus"), (_latencies, "1s0"), (_seeds, "-1"),
                        (_policies, " , ")):  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_config_checks_the_chip_is_big_enough() -> None:
    args = argparse.Namespace(
        policies=["irq"], latencies=[0, 5_000], seeds=[1, 2], pages=64, blocks=8, delay_us=10,
        icount=4, no_icount=False,
    )  # fmt: skip
    assert _config(args).icount == 4
    args.pages = 256
    with pytest.raises(UsageError, match="4 cells of 256 pages need 18 blocks; the chip has 8"):
        _config(args)
    args.pages, args.no_icount = 1, True
    assert _config(args).icount is None
