# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab trace, end to end: one page under `irq` loses its last bytes,
the same page under `client` loses none, and the timeline written to
trace.json says so by itself. The assertions read the Chrome trace the
command writes (not the cell's counters), and compare it with the sbox's
own bytes-dropped counter: a converter that lost or invented an event, or
clocks aligned wrongly, fails them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tangolab.experiment.cells import CellSpec, with_defaults
from tangolab.trace.chrome import read_trace
from tangolab.trace.record import TraceRun, record

LATENCY_NS = 20_000  # mean route latency: irq loses every page (README table)
PAGES = 1
DISCONNECTED = 15


def _run(policy: str, out: Path) -> tuple[TraceRun, list[dict[str, Any]]]:
    spec = with_defaults(CellSpec(policy=policy, latency_ns=LATENCY_NS, seed=1, pages=PAGES), 0.5)
    run = record(spec, out / policy)
    return run, read_trace(run.trace_path)["traceEvents"]


def _named(events: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return sorted(
        (e for e in events if e.get("args", {}).get("event") == event), key=lambda e: e["ts"]
    )


def _nfc_port(events: list[dict[str, Any]]) -> int:
    setups = [
        e for e in _named(events, "tangox_dma_route_setup") if e["args"]["dir"] == "mem_to_dev"
    ]
    assert setups, "the guest's DMA driver set no route to a device"
    return int(setups[0]["args"]["dst"])


def _teardown_us(events: list[dict[str, Any]], port: int) -> float:
    """When the ROUTE write disconnected the NFC's port: the end of QEMU's
    slice of that route."""
    routes = [
        e
        for e in events
        if e["ph"] == "X"
        and e["args"].get("end") == "tango4_sbox_route"
        and e["args"].get("dst") == port
        and e["args"].get("end_new_src") == DISCONNECTED
    ]
    assert len(routes) == 1, f"one route to port {port} set and torn down, not {len(routes)}"
    return float(routes[0]["ts"] + routes[0]["dur"])


def test_irq_tears_down_before_the_last_burst(tmp_path: Path) -> None:
    run, events = _run("irq", tmp_path)
    port = _nfc_port(events)
    teardown = _teardown_us(events, port)
    bursts = [e for e in _named(events, "tango4_sbox_burst") if e["args"]["dst"] == port]
    delivered = [e for e in _named(events, "tango4_sbox_deliver") if e["args"]["dst"] == port]
    drops = [e for e in _named(events, "tango4_sbox_drop") if e["args"]["dst"] == port]
    assert bursts and delivered and drops
    # the page's last burst was due after the route had gone: never delivered
    last_due_us = max(e["args"]["arrival"] for e in bursts) / 1000
    assert teardown < last_due_us
    assert all(e["ts"] <= teardown for e in delivered)
    assert drops[0]["ts"] == pytest.approx(teardown)
    # the guest's own tear-down event is the driver's interrupt handler's
    guest_td = _named(events, "tangox_dma_route_teardown")
    irqs = _named(events, "tangox_dma_irq")
    assert guest_td and irqs and irqs[0]["ts"] <= guest_td[0]["ts"]
    dropped = sum(e["args"]["bytes"] for e in drops)
    pushed = sum(e["args"]["len"] for e in bursts)
    assert dropped == run.result.bytes_dropped > 0  # the sbox's bytes-dropped counter
    assert pushed == sum(e["args"]["len"] for e in delivered) + dropped
    assert run.result.lost == PAGES
    # the clocks: every NAND command seen on both sides within a few us,
    # apart from those a vCPU switch delayed
    assert run.alignment.pairs >= 2 * PAGES


def test_client_tears_down_after_the_nfc_is_idle(tmp_path: Path) -> None:
    run, events = _run("client", tmp_path)
    port = _nfc_port(events)
    teardown = _teardown_us(events, port)
    bursts = [e for e in _named(events, "tango4_sbox_burst") if e["args"]["dst"] == port]
    delivered = [e for e in _named(events, "tango4_sbox_deliver") if e["args"]["dst"] == port]
    assert bursts and delivered
    assert not _named(events, "tango4_sbox_drop")
    assert run.result.bytes_dropped == 0 and run.result.failed == 0
    assert max(e["ts"] for e in delivered) < teardown
    assert sum(e["args"]["len"] for e in delivered) == sum(e["args"]["len"] for e in bursts)
    # the NFC had the whole page (its input complete) before the route went
    full = [
        e for e in _named(events, "tango4_nfc_fifo_in") if e["args"]["used"] >= e["args"]["total"]
    ]
    assert full and full[0]["ts"] < teardown
    assert _named(events, "tangox_dma_peripheral_done")
