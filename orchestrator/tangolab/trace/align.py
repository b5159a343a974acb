# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Put the guest's trace clock on QEMU's virtual-time axis.

Under -icount both sides count virtual time: QEMU's events carry
QEMU_CLOCK_VIRTUAL ns, the guest's trace clock (sched_clock, from the
timer QEMU drives off the same clock) runs at the same rate from another
zero. The NAND driver's tango_nand_cmd event follows its FLASH_CMD
register write by a few instructions, and QEMU's tango4_nfc_cmd records
the same write: each pair of them measures the offset. The offset used is
the median over all pairs (robust to a pair the guest's timestamp caught
late, e.g. behind an interrupt), and the spread of the pairs says how good
it is: a few microseconds at most (the guest clock is read in us).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from .parse import Event, TraceError

#: FLASH_CMD values of the NAND driver (tango_nand_cmd cmd=) and the NFC's names
GUEST_CMDS = {1: "read", 2: "write"}


@dataclass(frozen=True)
class Alignment:
    offset_ns: int  # add to a guest timestamp to get QEMU virtual time
    pairs: int  # marker pairs used
    spread_ns: int  # max - min of the pairs' offsets

    def to_dict(self) -> dict[str, int]:
        return {"offset_ns": self.offset_ns, "pairs": self.pairs, "spread_ns": self.spread_ns}


def marker_pairs(guest: list[Event], qemu: list[Event]) -> list[tuple[Event, Event]]:
    """Guest tango_nand_cmd and QEMU tango4_nfc_cmd events of the same command.

    Both sides list the commands in the same order; a guest command the
    controller refused has no QEMU event, so each guest marker takes the
    next QEMU marker of the same page and kind, if there is one before the
    next guest marker's own."""
    g = [e for e in guest if e.name == "tango_nand_cmd" and e.num("cmd") in GUEST_CMDS]
    q = [e for e in qemu if e.name == "tango4_nfc_cmd"]
    pairs = []
    j = 0
    for ge in g:
        key = (ge.num("page"), GUEST_CMDS[ge.num("cmd")])
        for k in range(j, len(q)):
            if (q[k].num("page"), q[k].text("cmd")) == key:
                pairs.append((ge, q[k]))
                j = k + 1
                break
    return pairs


def align(guest: list[Event], qemu: list[Event]) -> Alignment:
    pairs = marker_pairs(guest, qemu)
    if not pairs:
        raise TraceError(
            "no NAND command seen on both sides (guest tango_nand_cmd, QEMU tango4_nfc_cmd): "
            "cannot align the clocks"
        )
    offsets = [q.ts_ns - g.ts_ns for g, q in pairs]
    return Alignment(
        offset_ns=int(statistics.median(offsets)),
        pairs=len(pairs),
        spread_ns=max(offsets) - min(offsets),
    )


def shifted(events: list[Event], a: Alignment) -> list[Event]:
    """Guest events moved onto QEMU's time axis."""
    return [replace(e, ts_ns=e.ts_ns + a.offset_ns) for e in events]
