# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Reverse debugging of a replayed loss with gdb-multiarch.

The replay stops at the loss (`tangolab.trace.replay.replay_to_loss`);
gdb attaches to QEMU's gdbstub, which offers reverse execution in replay
mode. `reverse-continue` makes QEMU load the recording's start snapshot,
replay up to one instruction before the current one while noting every
breakpoint hit, then load the snapshot again and replay up to the last
hit: with a breakpoint on the DMA driver's tear-down it stops at the
`tangox_dma_unroute` call whose ROUTE store lost the bytes. Each reverse
command therefore costs one or two replays from the start of the
recording (a few seconds for a short cell).

`monitor info replay` (QEMU's HMP command through gdb) gives the
instruction count at each stop.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .parse import TraceError

GDB = "gdb-multiarch"
#: frames per backtrace at most: without DWARF (the kernel has it only in
#: the two drivers) gdb unwinds by prologue analysis, which can go round a
#: loop of frames for ever (seen: `thread apply all bt` never ending)
BACKTRACE_LIMIT = 64
#: the DMA driver's tear-down of a route
TEARDOWN = "tangox_dma_unroute"
#: the DMA driver's interrupt handler
IRQ_HANDLER = "tangox_dma_irq"

_ICOUNT = re.compile(r"instruction count = (\d+)")
_FRAME = re.compile(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?([\w.$]+) \(", re.M)
_MARK = "@@tangolab-"


def gdb_path() -> str:
    gdb = shutil.which(GDB)
    if gdb is None:
        raise TraceError(f"{GDB} not found: install the Debian package {GDB}")
    return gdb


@dataclass(frozen=True)
class Stop:
    """Where the guest's CPU is: its instruction count and backtrace."""

    icount: int
    backtrace: str  # gdb's `bt` output

    @property
    def frames(self) -> list[str]:
        """The functions of the backtrace, innermost first (inlined ones included)."""
        return [m.group(2) for m in _FRAME.finditer(self.backtrace)]


@dataclass(frozen=True)
class Reverse:
    """The scripted walkthrough: the loss, then reverse-continue to `breakpoint`."""

    loss: Stop
    stop: Stop
    breakpoint: str
    hit: bool  # reverse-continue stopped at the breakpoint (not at the recording's start)
    transcript: str  # everything gdb printed


def _section(out: str, name: str) -> str:
    start = out.find(f"{_MARK}{name}\n")
    if start < 0:
        raise TraceError(f"{GDB} stopped before {name!r}:\n{out}")
    start += len(_MARK) + len(name) + 1
    end = out.find(_MARK, start)
    return out[start:] if end < 0 else out[start:end]


def _stop(text: str, what: str) -> Stop:
    m = _ICOUNT.search(text)
    if m is None:
        raise TraceError(f"{GDB}: no instruction count from `monitor info replay` {what}")
    bt = "\n".join(line for line in text.splitlines() if line.startswith(("#", "Backtrace")))
    return Stop(int(m.group(1)), bt)


def parse_reverse(out: str, breakpoint: str) -> Reverse:
    """The walkthrough's result from gdb's output (TraceError if gdb did not get through)."""
    setup = _section(out, "break")
    if "Breakpoint 1 at" not in setup:
        raise TraceError(f"{GDB} could not set a breakpoint on {breakpoint}: {setup.strip()}")
    back = _section(out, "reverse")
    hit = re.search(r"^Breakpoint 1, ", back, re.M) is not None
    return Reverse(
        loss=_stop(_section(out, "loss"), "at the loss"),
        stop=_stop(_section(out, "stop"), "after reverse-continue"),
        breakpoint=breakpoint,
        hit=hit,
        transcript=out,
    )


def reverse_to(vmlinux: Path, port: int, breakpoint: str, timeout: float = 900.0) -> Reverse:
    """From the paused loss: backtrace, `break BREAKPOINT`, `reverse-continue`, backtrace."""
    commands = [
        "set pagination off",
        "set confirm off",
        f"set backtrace limit {BACKTRACE_LIMIT}",
        f"target remote 127.0.0.1:{port}",
        f"echo {_MARK}loss\\n",
        "monitor info replay",
        "bt",
        f"echo {_MARK}break\\n",
        f"break {breakpoint}",
        f"echo {_MARK}reverse\\n",
        "reverse-continue",
        f"echo {_MARK}stop\\n",
        "monitor info replay",
        "bt",
        f"echo {_MARK}end\\n",
    ]
    argv = [gdb_path(), "-q", "-batch", "-nx"]
    for c in commands:
        argv += ["-ex", c]
    argv.append(str(vmlinux))
    try:
        res = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise TraceError(f"{GDB} did not finish the reverse execution in {timeout:.0f} s") from None
    return parse_reverse(res.stdout, breakpoint)


def interactive(vmlinux: Path, port: int, breakpoint: str) -> int:
    """gdb on the terminal, attached to the paused replay, a breakpoint set.

    Ctrl-C belongs to gdb (it interrupts the guest) while gdb runs: this
    process catches it and does nothing (a caught signal, unlike an ignored
    one, is back to its default in gdb).
    """
    argv = [
        gdb_path(), "-q", "-nx",
        "-ex", f"target remote 127.0.0.1:{port}",
        "-ex", f"break {breakpoint}",
        str(vmlinux),
    ]  # fmt: skip
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        return subprocess.run(argv, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
