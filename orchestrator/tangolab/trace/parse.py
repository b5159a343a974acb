# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Events from the guest's ftrace buffer and from QEMU's trace log.

Guest: the text of /sys/kernel/tracing/trace (the tango_nand and
tangox_dma events), timestamps of the trace clock in microseconds.
QEMU: the "log" trace backend's lines; the events the timeline uses carry
their QEMU_CLOCK_VIRTUAL time in ns as their first argument (``t=N``),
because the backend's own timestamps (with -msg timestamp=on) are host
time, which under -icount sleep=off is not virtual time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tangolab.errors import TangolabError


class TraceError(TangolabError):
    """A trace is missing, malformed or says nothing about what was asked."""


@dataclass(frozen=True)
class Event:
    """One event: `ts_ns` on its own side's clock until aligned."""

    ts_ns: int
    source: str  # "guest" or "qemu"
    name: str
    args: dict[str, str | int] = field(default_factory=dict)
    cpu: int | None = None

    def num(self, key: str) -> int:
        v = self.args.get(key)
        if not isinstance(v, int):
            raise TraceError(f"{self.source} event {self.name} has no number {key!r}: {self.args}")
        return v

    def text(self, key: str) -> str:
        return str(self.args.get(key, ""))


_N = r"(-?(?:0x)?[0-9a-f]+)"
_S = r"(\S+?)"
#: QEMU trace events of the timeline: their format after "t=N " (hw/*/trace-events)
QEMU_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tango4_sbox_route": (
        rf"port {_N} takes from port {_N} -> {_N}",
        ("dst", "old_src", "new_src"),
    ),
    "tango4_sbox_burst": (
        rf"port {_N} -> {_N}: burst of {_N} bytes, {_N} in flight, arrives at {_N}",
        ("src", "dst", "len", "level", "arrival"),
    ),
    "tango4_sbox_deliver": (
        rf"port {_N} takes {_N} bytes, {_N} still in flight",
        ("dst", "len", "left"),
    ),
    "tango4_sbox_drop": (
        rf"port {_N} -> {_N}: {_N} bytes in flight lost \(([^)]*)\)",
        ("src", "dst", "bytes", "why"),
    ),
    "tango4_sbox_push_wait": (
        rf"port {_N} offers {_N} bytes, the routes take {_N}",
        ("src", "len", "taken"),
    ),
    "tango4_mchan_start": (
        rf"{_S}: CMD {_N} ADDR {_N} COUNT {_N}",
        ("chan", "cmd", "addr", "count"),
    ),
    "tango4_mchan_mem_done": (
        rf"{_S}: memory side done, {_N} bytes not moved, failed {_N}",
        ("chan", "left", "failed"),
    ),
    "tango4_mchan_irq": (rf"{_S}: interrupt, status {_N}", ("chan", "status")),
    "tango4_nfc_cmd": (
        rf"{_S} cs {_N} page {_N}: {_N} data bytes, {_N} in the FIFO",
        ("cmd", "cs", "page", "bytes", "fifo"),
    ),
    "tango4_nfc_cmd_done": (
        rf"{_S} cs {_N} page {_N} done, chip status {_N}",
        ("cmd", "cs", "page", "status"),
    ),
    "tango4_nfc_fifo_in": (rf"{_N} bytes in, {_N} of {_N} in the FIFO", ("len", "used", "total")),
    "tango4_nfc_abort": (
        rf"(.*): state {_N} page {_N}, {_N} data bytes flushed",
        ("why", "state", "page", "flushed"),
    ),
    "onfi_nand_busy": (
        rf"nand{_N}: {_S} of row {_N}, busy for {_N} ns",
        ("cs", "op", "row", "ns"),
    ),
    "onfi_nand_done": (rf"nand{_N}: {_S} of row {_N} done, fail {_N}", ("cs", "op", "row", "fail")),
}
QEMU_EVENTS = tuple(QEMU_FORMATS)

_QEMU_LINE = re.compile(r"^(?:\d+@\d+\.\d+:)?(\w+) t=(-?\d+) (.*)$")
_GUEST_LINE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?:\S+\s+)?"
    r"(?P<sec>\d+)\.(?P<usec>\d{6}):\s+(?P<name>\w+):\s+(?P<args>.*)$"
)
_KV = re.compile(r"(\w+)=(\S+)")
GUEST_SYSTEMS = ("tangox_dma_", "tango_nand_")


def _value(text: str) -> str | int:
    try:
        return int(text, 0)
    except ValueError:
        return text


def parse_qemu(text: str) -> list[Event]:
    """The timeline's events in QEMU's trace log, in file order."""
    events = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _QEMU_LINE.match(line)
        if not m or m.group(1) not in QEMU_FORMATS:
            continue
        pattern, keys = QEMU_FORMATS[m.group(1)]
        a = re.match(pattern, m.group(3))
        if not a:
            raise TraceError(f"QEMU trace line {lineno}: {m.group(1)} not as expected: {line!r}")
        events.append(
            Event(
                ts_ns=int(m.group(2)),
                source="qemu",
                name=m.group(1),
                args={k: _value(v) for k, v in zip(keys, a.groups(), strict=True)},
            )
        )
    return events


def parse_guest(text: str) -> list[Event]:
    """The drivers' events in the text of the guest's trace buffer."""
    events = []
    for line in text.splitlines():
        m = _GUEST_LINE.match(line)
        if not m or not m.group("name").startswith(GUEST_SYSTEMS):
            continue
        args = {k: _value(v) for k, v in _KV.findall(m.group("args"))}
        cmd = re.search(r"cmd=(\d+)/(\d+)", m.group("args"))
        if cmd:  # tangox_dma_irq: command N of M
            args["cmd"], args["ncmds"] = int(cmd.group(1)), int(cmd.group(2))
        events.append(
            Event(
                ts_ns=int(m.group("sec")) * 1_000_000_000 + int(m.group("usec")) * 1000,
                source="guest",
                name=m.group("name"),
                args=args,
                cpu=int(m.group("cpu")),
            )
        )
    return events
