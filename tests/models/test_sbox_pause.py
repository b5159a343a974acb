# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tango4-sbox.pause-on-drop: a loss of bytes in flight sends the QMP event
TANGO4_SBOX_DROP (route, bytes, virtual time) and pauses the VM; without
the property nothing stops."""

from __future__ import annotations

from typing import Any

from tangolab.qtest import RAM_BASE, QTestMachine, Tango4Dma

SRC, DST = RAM_BASE + 0x10_0000, RAM_BASE + 0x20_0000
READ_CH, WRITE_CH = 0, 3  # port 1 source, port 2 destination


def _in_flight(dma: Tango4Dma) -> int:
    """Start a 1 KiB loop transfer at a burst per us; bytes in flight after 5 us."""
    m = dma.m
    m.qom_set("/machine/sbox", "bandwidth", 64_000_000)
    m.memwrite(SRC, bytes(range(256)) * 4)
    dma.route(2, 1)
    dma.single(WRITE_CH, DST, 1024)
    dma.single(READ_CH, SRC, 1024)
    m.clock_step(5_000)
    return int(dma.sbox("bytes-in-flight"))


def _events(m: QTestMachine, name: str) -> list[dict[str, Any]]:
    assert m._qmp is not None
    return [e for e in m._qmp.events(wait=1.0) if e.get("event") == name]


def test_pause_on_drop_stops_the_vm_with_the_route_and_bytes(dma: Tango4Dma) -> None:
    m = dma.m
    assert m.qom_get("/machine/sbox", "pause-on-drop") is False
    m.qom_set("/machine/sbox", "pause-on-drop", True)
    lost = _in_flight(dma)
    assert lost > 0
    assert m.qmp("query-status")["status"] == "running"
    now = int(dma.sbox("bytes-dropped"))
    dma.disconnect(2)
    drops = _events(m, "TANGO4_SBOX_DROP")
    assert len(drops) == 1
    data = drops[0]["data"]
    assert (data["src"], data["dst"], data["bytes"], data["reason"]) == (1, 2, lost, "disconnect")
    assert data["vtime-ns"] >= 5_000
    assert dma.sbox("bytes-dropped") == now + lost
    assert m.qmp("query-status")["status"] == "paused"
    m.qmp("cont")
    assert m.qmp("query-status")["status"] == "running"


def test_without_the_property_a_drop_does_not_stop(dma: Tango4Dma) -> None:
    m = dma.m
    assert _in_flight(dma) > 0
    dma.disconnect(2)
    assert dma.sbox("bytes-dropped") > 0
    assert not _events(m, "TANGO4_SBOX_DROP")
    assert m.qmp("query-status")["status"] == "running"
