# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab debug`: stop the world at a lost transfer and look at it in gdb.

The guest boots with QEMU's gdbstub on a local TCP port and writes the
cell's pages under the chosen policy and latency; the switch box's
pause-on-drop property is on, so the moment bytes in flight are lost the
box sends the QMP event TANGO4_SBOX_DROP (route, bytes, virtual time) and
pauses the VM. gdb-multiarch then attaches to the paused machine with the
guest's vmlinux and prints every CPU's backtrace: the CPU that wrote the
route register is in the DMA driver's tear-down.

With --rr DIR the cell runs as a batch cell under QEMU's record/replay
instead (tangolab.trace.replay: one vCPU): recorded into DIR with a VM
snapshot at its start (the NAND behind a qcow2 overlay), replayed once, and
the two runs' console output, QEMU trace (virtual times included), bytes
dropped and final NAND image compared. --replay DIR replays a recording up
to the loss and opens gdb-multiarch on it, able to run backwards
(tangolab.trace.reverse); with --reverse, gdb runs the walkthrough itself:
backtrace at the loss, `reverse-continue` to a breakpoint on the tear-down,
backtrace there.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from tangolab.errors import TangolabError, UsageError
from tangolab.experiment import CellSpec
from tangolab.experiment.cells import (
    CALLBACK_POLICIES,
    DELAY_PARAM,
    FIRST_BLOCK,
    POLICY_PARAM,
    SBOX,
    WAIT_PARAM,
    with_defaults,
)
from tangolab.experiment.report import fmt_latency
from tangolab.nand.layout import Geometry
from tangolab.paths import build_dir
from tangolab.trace.reverse import BACKTRACE_LIMIT, GDB, TEARDOWN, gdb_path

from .options import latency, seed
from .trace import pages, policies

DROP_EVENT = "TANGO4_SBOX_DROP"


class DebugError(TangolabError):
    """The loss did not happen, or gdb could not look at it."""


def vmlinux_path(build: Path) -> Path:
    path = build / "linux/obj/vmlinux"
    if not path.is_file():
        raise UsageError(f"no {path}: run `tangolab build kernel` (with debug info)")
    return path


def gdb_backtraces(vmlinux: Path, port: int, timeout: float = 120.0) -> str:
    """Every CPU's backtrace of the stopped guest, from gdb in batch mode."""
    argv = [
        gdb_path(), "-q", "-batch", "-nx",
        "-ex", "set pagination off",
        "-ex", "set confirm off",
        "-ex", f"set backtrace limit {BACKTRACE_LIMIT}",
        "-ex", f"target remote 127.0.0.1:{port}",
        "-ex", "info threads",
        "-ex", "thread apply all bt",
        str(vmlinux),
    ]  # fmt: skip
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        got = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        tail = "".join(f"\n  | {line}" for line in got.splitlines()[-12:])
        raise DebugError(
            f"{GDB} did not finish in {timeout:.0f} s; its last lines:{tail}"
        ) from None
    if res.returncode != 0 or "Thread" not in res.stdout:
        raise DebugError(f"{GDB} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


def wait_for_drop(m: Any, timeout: float) -> dict[str, Any] | None:
    """The TANGO4_SBOX_DROP event's data, or None if the guest's write
    ended (its summary line) or `timeout` passed without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in m.qmp_events(wait=1.0):
            if ev.get("event") == DROP_EVENT:
                data: dict[str, Any] = ev.get("data", {})
                return data
        if "summary:" in m.console_log.read_text(errors="replace").split("tangolab-debug:")[-1]:
            return None
    return None


def cmd_rr(spec: CellSpec, out: Path, nand: Path | None, con: Console) -> int:
    from tangolab.trace.replay import record_and_replay, same

    con.print(
        f"recording {spec.pages} page(s) under {spec.policy} at {fmt_latency(spec.latency_ns)} "
        f"(seed {spec.seed}, one vCPU) into {out}/cell.rr, then replaying it ..."
    )
    t0 = time.monotonic()
    rec, rep = record_and_replay(spec, out, nand)
    con.print(
        f"bytes dropped: record {rec.bytes_dropped}, replay {rep.bytes_dropped}; "
        f"QEMU trace events: {len(rec.events)}, {len(rep.events)} "
        f"({time.monotonic() - t0:.0f} s)"
    )
    diff = same(rec, rep)
    for what, ok in diff.items():
        con.print(f"  {what}: {'identical' if ok else '[red]DIFFERENT[/]'}")
    if not all(diff.values()):
        raise DebugError(f"the replay differs from the record (see {out})")
    if rec.bytes_dropped:
        con.print(f"debug it backwards: tangolab debug --replay {out} [--reverse]")
    return 0


def cmd_replay(args: argparse.Namespace, con: Console) -> int:
    from tangolab.ssh import free_port
    from tangolab.trace.replay import Recording, boot_artifacts, replay_to_loss
    from tangolab.trace.reverse import interactive, reverse_to

    build = build_dir()
    rec = Recording.load(Path(args.replay), boot_artifacts())
    vmlinux = vmlinux_path(build)
    if args.reverse:
        gdb_path()  # before the replay starts
    port = free_port()
    spec = rec.spec
    con.print(
        f"replaying {rec.dir} ({spec.pages} page(s) under {spec.policy} at "
        f"{fmt_latency(spec.latency_ns)}, seed {spec.seed}) to the loss, gdbstub on "
        f"127.0.0.1:{port} ..."
    )
    with replay_to_loss(rec, port, args.timeout) as (m, drop):
        icount = m.qmp("query-replay").get("icount")
        con.print(
            f"[bold red]{DROP_EVENT}[/]: {drop['bytes']} bytes in flight from sbox port "
            f"{drop['src']} to port {drop['dst']} lost ({drop['reason']}) at virtual time "
            f"{drop['vtime-ns']} ns, instruction {icount}; replay paused"
        )
        if not args.reverse:
            con.print(
                f"{GDB} on {vmlinux}, breakpoint on {args.breakpoint}: `reverse-continue` "
                "goes back to it, `reverse-stepi` one instruction back; each replays the "
                "recording from its start (seconds). Reverse steps count instructions and "
                "taking an interrupt counts none: `reverse-stepi` from an interrupt vector "
                "lands one instruction before the point where the interrupt was taken."
            )
            return interactive(vmlinux, port, args.breakpoint)
        con.print(f"{GDB}: backtrace, break {args.breakpoint}, reverse-continue, backtrace ...")
        t0 = time.monotonic()
        rev = reverse_to(vmlinux, port, args.breakpoint)
        took = time.monotonic() - t0
    con.print(f"at the loss (instruction {rev.loss.icount}):")
    print(rev.loss.backtrace, flush=True)
    if not rev.hit:
        raise DebugError(
            f"reverse-continue found no call of {args.breakpoint} before the loss: it ran back "
            f"to the start of the recording (instruction {rev.stop.icount})"
        )
    con.print(
        f"reverse-continue ({took:.0f} s) stopped at {args.breakpoint}, instruction "
        f"{rev.stop.icount}, {rev.loss.icount - rev.stop.icount} instructions before the loss:"
    )
    print(rev.stop.backtrace, flush=True)
    return 0


def cmd_debug(args: argparse.Namespace) -> int:
    from tangolab.machine import Machine
    from tangolab.ssh import free_port

    con = Console(highlight=False)
    if len(args.policy) != 1:
        raise UsageError("tangolab debug takes one policy")
    if args.rr is not None and args.replay is not None:
        raise UsageError("--rr records, --replay replays: give one of them")
    if args.reverse and args.replay is None:
        raise UsageError("--reverse runs gdb on a replay: give --replay DIR")
    if args.nand is not None and args.rr is None:
        raise UsageError("--nand is the image a recording starts from: give --rr DIR")
    if args.replay is not None:
        return cmd_replay(args, con)
    if args.rr is not None:
        spec = with_defaults(
            CellSpec(
                policy=args.policy[0], latency_ns=args.latency, seed=args.seed, pages=args.pages
            ),
            0.5,
        )
        return cmd_rr(spec, Path(args.rr), args.nand, con)
    vmlinux = vmlinux_path(build_dir())
    spec = with_defaults(
        CellSpec(policy=args.policy[0], latency_ns=args.latency, seed=args.seed, pages=args.pages),
        0.5,
    )
    port = free_port()
    start = FIRST_BLOCK * Geometry(blocks=8).pages_per_block
    m = Machine(
        name=f"debug-{spec.policy}-{time.monotonic_ns() % 10**9}",
        scratch_nand=spec.blocks,
        icount=spec.icount,
        append="loglevel=1",
        extra_args=["-gdb", f"tcp:127.0.0.1:{port}"],
        boot_timeout=300.0,
    )
    with m:
        wait = int(spec.policy in CALLBACK_POLICIES)
        m.run(
            f"echo {spec.delay_us} > {DELAY_PARAM} && echo {wait} > {WAIT_PARAM} && "
            f"echo {spec.policy} > {POLICY_PARAM}",
            timeout=30,
            check=True,
        )
        for prop, value in (
            ("seed", spec.seed),
            ("jitter", spec.jitter),
            ("jitter-ns", spec.jitter_ns),
            ("latency-ns", spec.latency_ns),
            ("pause-on-drop", True),
        ):
            m.qom_set(SBOX, prop, value)
        m.qmp_events()  # forget the boot's
        con.print(
            f"writing {spec.pages} page(s) under {spec.policy} at "
            f"{fmt_latency(spec.latency_ns)} (seed {spec.seed}), pause-on-drop on, "
            f"gdbstub on 127.0.0.1:{port} ..."
        )
        m.console.sendline(
            "echo tangolab-debug: && tangonand write --dev /dev/mtd0 "
            f"--seed {spec.seed} --start-page {start} --pages {spec.pages} --quiet"
        )
        drop = wait_for_drop(m, args.timeout)
        if drop is None:
            raise DebugError(
                f"no bytes were lost: {spec.policy} at {fmt_latency(spec.latency_ns)} wrote "
                f"the page(s) whole (try the irq policy or a longer latency)"
            )
        status = m.qmp("query-status")
        con.print(
            f"[bold red]{DROP_EVENT}[/]: {drop['bytes']} bytes in flight from sbox port "
            f"{drop['src']} to port {drop['dst']} lost ({drop['reason']}) at virtual time "
            f"{drop['vtime-ns']} ns; VM {status.get('status')}"
        )
        con.print(f"gdb-multiarch on {vmlinux}:")
        print(gdb_backtraces(vmlinux, port), flush=True)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "debug", help="pause the guest when sbox bytes are lost; gdb backtraces of every CPU"
    )
    p.add_argument("--policy", type=policies, default=["irq"], help="tear-down policy (irq)")
    p.add_argument("--latency", type=latency, default=20_000, help="mean route latency (20us)")
    p.add_argument("--pages", type=pages, default=4, help="pages to write at most (4)")
    p.add_argument("--seed", type=seed, default=1, help="latency draws and page pattern (1)")
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the loss (300)"
    )
    p.add_argument(
        "--rr",
        metavar="DIR",
        help="record the cell with QEMU record/replay into DIR and replay it (compared)",
    )
    p.add_argument(
        "--nand",
        type=Path,
        metavar="IMG",
        help="with --rr: the raw NAND image the cell starts from (only read; default erased)",
    )
    p.add_argument(
        "--replay",
        metavar="DIR",
        help="replay the recording in DIR to the loss and open gdb, able to reverse",
    )
    p.add_argument(
        "--reverse",
        action="store_true",
        help="with --replay: gdb runs reverse-continue to --break itself, prints both backtraces",
    )
    p.add_argument(
        "--break",
        dest="breakpoint",
        default=TEARDOWN,
        metavar="FUNC",
        help=f"the breakpoint for --replay ({TEARDOWN}, the DMA driver's tear-down)",
    )
    p.set_defaults(func=cmd_debug)
