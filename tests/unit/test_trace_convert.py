# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
# ruff: noqa: E501 - the trace lines are verbatim
"""tangolab.trace: parsing both traces, aligning the clocks, the Chrome
trace and the page story, on lines as the guest and QEMU print them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tangolab.trace.align import align, marker_pairs, shifted
from tangolab.trace.chrome import chrome_trace, read_trace, write_trace
from tangolab.trace.page import page_story
from tangolab.trace.parse import TraceError, parse_guest, parse_qemu

GUEST = """\
tangolab-cell: trace clock=[local] global counter uptime
# tracer: nop
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
       tangonand-89      [001] .....    35.738044: tango_nand_cmd: page=64 cmd=0x2
       tangonand-89      [001] d....    35.738084: tangox_dma_route_setup: chan=0 cookie=2 src=1 dst=3 dir=mem_to_dev bytes=2048
          <idle>-0       [000] d.h..    35.738214: tangox_dma_irq: chan=0 cookie=2 src=1 dst=3 dir=mem_to_dev bytes=2048 cmd=1/1 status=0x20000003
          <idle>-0       [000] d.h..    35.738261: tangox_dma_route_teardown: chan=0 cookie=2 src=1 dst=3 dir=mem_to_dev bytes=2048
       tangonand-89      [001] .....    35.758284: tango_nand_cmd: page=64 cmd=0x80000000
       tangonand-89      [001] .....    35.759156: tango_nand_cmd: page=65 cmd=0x2
       tangonand-90      [000] .....    35.789921: tango_nand_cmd: page=64 cmd=0x1
"""
# offsets: 2264765854, 2264695118 (late guest stamp), 2264765830
QEMU = """\
onfi_nand_busy t=3251375840 nand0: reset of row 0, busy for 5000 ns
tango4_sbox_write offset 0x08 value 0x00000100
tango4_nfc_cmd t=38002809854 write cs 0 page 64: 2048 data bytes, 0 in the FIFO
tango4_sbox_route t=38002848000 port 3 takes from port 15 -> 1 (15 = disconnected)
tango4_sbox_burst t=38002860000 port 1 -> 3: burst of 64 bytes, 64 in flight, arrives at 38002880000
tango4_sbox_burst t=38002860000 port 1 -> 3: burst of 64 bytes, 128 in flight, arrives at 38003100000
tango4_sbox_deliver t=38002880000 port 3 takes 64 bytes, 64 still in flight to it
tango4_sbox_route t=38003000000 port 3 takes from port 1 -> 15 (15 = disconnected)
tango4_sbox_drop t=38003000000 port 1 -> 3: 64 bytes in flight lost (disconnect)
tango4_nfc_abort t=38023000000 FLASH_CMD abort: state 3 page 64, 64 data bytes flushed
tango4_nfc_cmd t=38023851118 write cs 0 page 65: 2048 data bytes, 0 in the FIFO
tango4_nfc_cmd t=38054686830 read cs 0 page 64: 2048 data bytes, 0 in the FIFO
"""


def test_parse_both_sides() -> None:
    g = parse_guest(GUEST)
    assert [e.name for e in g][:2] == ["tango_nand_cmd", "tangox_dma_route_setup"]
    assert g[0].ts_ns == 35_738_044_000 and g[0].cpu == 1
    irq = g[2]
    assert (irq.num("cmd"), irq.num("ncmds"), irq.num("status")) == (1, 1, 0x20000003)
    assert irq.text("dir") == "mem_to_dev"
    q = parse_qemu(QEMU)
    assert "tango4_sbox_write" not in {e.name for e in q}  # not a timeline event
    drop = next(e for e in q if e.name == "tango4_sbox_drop")
    assert (drop.num("src"), drop.num("dst"), drop.num("bytes"), drop.text("why")) == (
        1,
        3,
        64,
        "disconnect",
    )
    assert q[0].ts_ns == 3_251_375_840


def test_a_changed_qemu_format_is_an_error() -> None:
    with pytest.raises(TraceError, match="tango4_sbox_drop"):
        parse_qemu("tango4_sbox_drop t=5 port 3: 64 bytes in flight lost (disconnect)\n")


def test_markers_pair_in_order_and_skip_the_abort() -> None:
    pairs = marker_pairs(parse_guest(GUEST), parse_qemu(QEMU))
    assert [(g.num("page"), q.text("cmd")) for g, q in pairs] == [
        (64, "write"),
        (65, "write"),
        (64, "read"),
    ]


def test_median_offset_ignores_a_late_stamp() -> None:
    a = align(parse_guest(GUEST), parse_qemu(QEMU))
    assert a.pairs == 3
    assert a.offset_ns == 2_264_765_830
    assert a.spread_ns == 2_264_765_854 - 2_264_695_118


def test_no_common_marker_is_an_error() -> None:
    with pytest.raises(TraceError, match="cannot align"):
        align(parse_guest(GUEST), parse_qemu(QEMU.replace("tango4_nfc_cmd", "tango4_nfc_x")))


def test_chrome_trace_round_trip_and_page_story(tmp_path: Path) -> None:
    g, q = parse_guest(GUEST), parse_qemu(QEMU)
    a = align(g, q)
    g = shifted(g, a)
    trace = chrome_trace(g, q, a, {"policy": "irq"})
    write_trace(tmp_path / "t.json", trace)
    back = read_trace(tmp_path / "t.json")
    assert back["otherData"]["clock_alignment"]["offset_ns"] == a.offset_ns
    ev = back["traceEvents"]
    route = [e for e in ev if e["ph"] == "X" and e["name"] == "route 1->3"]
    assert len(route) == 1
    assert route[0]["ts"] == pytest.approx(38002848.0)
    assert route[0]["dur"] == pytest.approx(152.0)
    assert route[0]["args"]["end_new_src"] == 15
    waiting = [e for e in ev if e["name"] == "waiting for bytes (page 64)"]
    assert waiting and waiting[0]["args"]["end"] == "tango4_nfc_abort"
    level = [e["args"]["bytes"] for e in ev if e["ph"] == "C"]
    assert level == [64, 128, 64, 0]
    names = {e["args"]["name"] for e in ev if e["ph"] == "M"}
    assert {"guest (Linux)", "QEMU (models)", "sbox port 3"} <= names
    story = page_story(g, q, 64)
    assert story.route_drop_ns == 38_003_000_000
    assert story.last_arrival_ns == 38_003_100_000
    assert story.bytes_dropped == 64 and story.bytes_delivered == 64
    assert story.teardown_ns == 35_738_261_000 + a.offset_ns


def test_read_trace_refuses_what_is_not_a_trace(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps([1, 2]))
    with pytest.raises(TraceError, match="not a Chrome"):
        read_trace(p)
    with pytest.raises(TraceError, match="cannot read"):
        read_trace(tmp_path / "missing.json")
