# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""One page's program on the common time axis: its window and the facts a
test or a reader wants from it (tear-down, last delivery, bytes dropped)."""

from __future__ import annotations

from dataclasses import dataclass

from .parse import Event, TraceError


@dataclass(frozen=True)
class PageStory:
    page: int
    start_ns: int  # the NFC's program command
    end_ns: int  # the next NFC command, or the end of the trace
    events: tuple[Event, ...]  # guest (aligned) and QEMU events in the window, by time

    def named(self, *names: str) -> list[Event]:
        return [e for e in self.events if e.name in names]

    @property
    def teardown_ns(self) -> int | None:
        """The guest's tear-down of the page's route (memory to device)."""
        t = [
            e.ts_ns
            for e in self.named("tangox_dma_route_teardown")
            if e.text("dir") == "mem_to_dev"
        ]
        return t[0] if t else None

    @property
    def nfc_port(self) -> int | None:
        """The sbox port the page's bytes go to (the route the guest set)."""
        t = [
            e.num("dst")
            for e in self.named("tangox_dma_route_setup")
            if e.text("dir") == "mem_to_dev"
        ]
        return t[0] if t else None

    @property
    def route_drop_ns(self) -> int | None:
        """QEMU: the ROUTE write that disconnects the NFC's port, exactly
        when the guest's store reached the box. The guest's tear-down
        tracepoint comes later, by as much as its vCPU waited for its turn
        (under -icount QEMU runs the vCPUs one after another)."""
        t = [
            e.ts_ns
            for e in self.named("tango4_sbox_route")
            if e.num("new_src") == 15 and e.num("dst") == self.nfc_port
        ]
        return t[0] if t else None

    @property
    def last_delivery_ns(self) -> int | None:
        t = [e.ts_ns for e in self.named("tango4_sbox_deliver")]
        return t[-1] if t else None

    @property
    def last_arrival_ns(self) -> int | None:
        """When the page's last burst was due to arrive (pushed bursts)."""
        t = [e.num("arrival") for e in self.named("tango4_sbox_burst")]
        return max(t) if t else None

    @property
    def bytes_dropped(self) -> int:
        return sum(e.num("bytes") for e in self.named("tango4_sbox_drop"))

    @property
    def bytes_delivered(self) -> int:
        return sum(e.num("len") for e in self.named("tango4_sbox_deliver"))


def page_story(guest: list[Event], qemu: list[Event], page: int) -> PageStory:
    """The window of the first program command of `page` (guest events on
    QEMU's axis already)."""
    cmds = [e for e in qemu if e.name == "tango4_nfc_cmd"]
    starts = [i for i, e in enumerate(cmds) if e.text("cmd") == "write" and e.num("page") == page]
    if not starts:
        raise TraceError(f"the trace has no program command of page {page}")
    i = starts[0]
    start = cmds[i].ts_ns
    ends = [e.ts_ns for e in cmds[i + 1 :]]
    last = max(e.ts_ns for e in [*guest, *qemu])
    end = ends[0] if ends else last + 1
    # the guest's own events of this page begin a little before the NFC's
    # command: the transfer is submitted and issued right after it, and the
    # page's tango_nand_cmd marker is the pair of this command
    lead = [e.ts_ns for e in guest if e.name == "tango_nand_cmd" and e.num("page") == page]
    lo = min([start, *[t for t in lead if abs(t - start) < 1_000_000]])
    window = sorted((e for e in [*guest, *qemu] if lo <= e.ts_ns < end), key=lambda e: e.ts_ns)
    return PageStory(page=page, start_ns=lo, end_ns=end, events=tuple(window))
