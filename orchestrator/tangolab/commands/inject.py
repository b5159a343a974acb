# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab inject`: fault injection on a running instance (tangolab.faults).

    tangolab inject [--instance NAME] latency 50us
    tangolab inject bandwidth 10MB/s                 (0 or "unlimited": no limit)
    tangolab inject irq-delay [--channel N|all] 20us
    tangolab inject timing --cs 0 [--tr 25us] [--tprog 300us] [--tbers 3ms]
    tangolab inject flip --cs 0 --page 12 --bits 100.3,200.0
    tangolab inject bad-block --cs 0 BLOCK
    tangolab inject fail-program --cs 0 | fail-erase --cs 0 | power-cut --cs 0
    tangolab inject counters [--json]                read-only counters of every model
    tangolab inject show [--json]                    current fault settings

Values are checked before anything is sent (units first, before connecting;
then chip select and geometry against the instance): a bad value prints one
line, exits with status 2 and leaves the instance as it was.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from tangolab.faults import NUM_CS, NUM_MCHAN, Faults, FaultValueError, parse_bit_list
from tangolab.units import (
    format_bandwidth,
    format_duration,
    parse_bandwidth,
    parse_duration,
    parse_uint,
)

Action = Callable[[Faults, argparse.Namespace], int]


def open_faults(args: argparse.Namespace) -> Faults:
    """The `Faults` of the instance named by --instance (tests replace this)."""
    return Faults.for_instance(args.instance, timeout=args.timeout)


def _value(parse: Callable[[str], int], text: str, what: str) -> int:
    try:
        return parse(text)
    except ValueError as e:
        raise FaultValueError(f"{what}: {e}") from None


def _number(text: str, what: str) -> int:
    try:
        return parse_uint(text, what=what)
    except ValueError as e:
        raise FaultValueError(str(e)) from None


def _cs(args: argparse.Namespace) -> int:
    cs = _number(args.cs, "--cs")
    if cs >= NUM_CS:
        raise FaultValueError(f"--cs {cs}: the NFC has chip selects 0..{NUM_CS - 1}")
    return cs


# --- actions: each parses its values, then acts on the instance ------------------


def _prepare(args: argparse.Namespace) -> Callable[[Faults], str | None]:
    """Parse and check the action's values (no instance needed); returns the
    function that applies them and gives the confirmation line."""
    action = args.inject_action
    if action == "latency":
        ns = _value(parse_duration, args.value, "latency")

        def latency(f: Faults) -> str:
            f.set_route_latency(ns)
            return f"sbox route latency set to {format_duration(ns)}"

        return latency
    if action == "jitter":
        jns = _value(parse_duration, args.value, "jitter")

        def jitter(f: Faults) -> str:
            f.set_route_jitter(args.kind, jns)
            return f"sbox route jitter set to {args.kind} {format_duration(jns)}"

        return jitter
    if action == "seed":
        seed = _number(args.value, "seed")

        def seed_fn(f: Faults) -> str:
            f.set_route_seed(seed)
            return f"sbox latency generator seeded with {seed}"

        return seed_fn
    if action == "bandwidth":
        bps = _value(parse_bandwidth, args.value, "bandwidth")

        def bandwidth(f: Faults) -> str:
            f.set_route_bandwidth(bps)
            return f"sbox bandwidth set to {format_bandwidth(bps)}"

        return bandwidth
    if action == "irq-delay":
        channel: int | str = "all"
        if args.channel != "all":
            channel = _number(args.channel, "--channel")
            if channel >= NUM_MCHAN:
                raise FaultValueError(
                    f"--channel {channel}: memory channels are 0..{NUM_MCHAN - 1} (or all)"
                )
        delay = _value(parse_duration, args.value, "interrupt delay")

        def irq_delay(f: Faults) -> str:
            f.set_irq_delay(channel, delay)
            which = "every memory channel" if channel == "all" else f"memory channel {channel}"
            return f"interrupt delay of {which} set to {format_duration(delay)}"

        return irq_delay
    if action == "timing":
        cs = _cs(args)
        times = {
            name: _value(parse_duration, text, f"--{name.lower()}")
            for name, text in (("tR", args.tr), ("tPROG", args.tprog), ("tBERS", args.tbers))
            if text is not None
        }
        if not times:
            raise FaultValueError("inject timing: give at least one of --tr, --tprog, --tbers")

        def timing(f: Faults) -> str:
            f.set_chip_timing(cs, **times)
            shown = ", ".join(f"{k} {format_duration(v)}" for k, v in times.items())
            return f"nand{cs}: {shown}"

        return timing
    if action == "flip":
        cs = _cs(args)
        page = _number(args.page, "--page")
        bits = parse_bit_list(args.bits)

        def flip(f: Faults) -> str:
            f.flip_bits(cs, page, bits)
            return f"nand{cs}: flipped {len(bits)} bit(s) of page {page}"

        return flip
    if action == "bad-block":
        cs = _cs(args)
        block = _number(args.block, "BLOCK")

        def bad_block(f: Faults) -> str:
            f.mark_bad(cs, block)
            return f"nand{cs}: block {block} marked bad"

        return bad_block
    if action in ("fail-program", "fail-erase", "power-cut"):
        cs = _cs(args)

        def flag(f: Faults) -> str:
            if action == "fail-program":
                f.fail_next_program(cs)
                return f"nand{cs}: the next page program will fail"
            if action == "fail-erase":
                f.fail_next_erase(cs)
                return f"nand{cs}: the next block erase will fail"
            f.power_cut(cs)
            return (
                f"nand{cs}: power cut (now if busy, else halfway through the next "
                "program or erase; off until a system reset)"
            )

        return flag
    if action in ("counters", "show"):

        def report(f: Faults) -> None:
            data = f.counters() if action == "counters" else f.settings()
            _print_table(data, as_json=args.json, title=action)

        return report
    raise AssertionError(f"unknown inject action {action!r}")  # argparse prevents it


def _print_table(data: dict[str, dict[str, Any]], *, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    table = Table(title=f"tango4 {title}", show_lines=False)
    table.add_column("device")
    table.add_column("property")
    table.add_column("value", justify="right")
    for device, props in data.items():
        for i, (prop, value) in enumerate(props.items()):
            shown = json.dumps(value) if isinstance(value, bool | str) else str(value)
            table.add_row(device if i == 0 else "", prop, shown)
    Console(highlight=False, soft_wrap=True).print(table)


def cmd_inject(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise FaultValueError(f"--timeout must be positive, not {args.timeout:g}")
    apply = _prepare(args)  # bad values fail here, before connecting
    with open_faults(args) as faults:
        message = apply(faults)
    if message:
        print(message)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "inject",
        help="inject faults into a running instance (latency, bit flips, power cuts, ...)",
        description="Fault injection on a running instance through its QMP socket. "
        "Durations take ns/us/ms/s, bandwidths B/s, kB/s, MB/s, KiB/s, MiB/s, ...",
    )

    def common(q: argparse.ArgumentParser, *, top: bool) -> None:
        # accepted before and after the action; the action's copy must not
        # overwrite the value given before it
        q.add_argument(
            "--instance",
            "-i",
            metavar="NAME",
            default=None if top else argparse.SUPPRESS,
            help="instance (default: the only one running)",
        )
        q.add_argument(
            "--timeout",
            type=float,
            metavar="S",
            default=30.0 if top else argparse.SUPPRESS,
            help="QMP time-out (30 s)",
        )

    common(p, top=True)
    p.set_defaults(func=cmd_inject)
    actions = p.add_subparsers(dest="inject_action", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        common(q, top=False)
        return q

    q = action("latency", "latency of every sbox route")
    q.add_argument("value", metavar="DURATION", help="e.g. 50us (0..1s)")
    q = action("jitter", "how each burst's latency is drawn around the mean")
    q.add_argument("kind", choices=("none", "uniform", "exponential"))
    q.add_argument("value", metavar="DURATION", help="half-width or mean extra delay, e.g. 10us")
    q = action("seed", "seed of the latency generator (same seed, same draws)")
    q.add_argument("value", metavar="SEED", help="0 .. 2^64-1")
    q = action("bandwidth", "bandwidth of the sbox")
    q.add_argument("value", metavar="RATE", help="e.g. 10MB/s; 0 or unlimited: no limit")
    q = action("irq-delay", "delay of memory channel interrupts")
    q.add_argument(
        "--channel", default="all", metavar="N", help="channel 0..3 or all (default all)"
    )
    q.add_argument("value", metavar="DURATION", help="e.g. 20us (0..1s)")
    q = action("timing", "NAND chip busy times")
    q.add_argument("--cs", required=True, metavar="CS", help="chip select 0..3")
    q.add_argument("--tr", metavar="DURATION", help="page read (tR)")
    q.add_argument("--tprog", metavar="DURATION", help="page program (tPROG)")
    q.add_argument("--tbers", metavar="DURATION", help="block erase (tBERS)")
    q = action("flip", "flip stored bits of a NAND page")
    q.add_argument("--cs", required=True, metavar="CS", help="chip select 0..3")
    q.add_argument("--page", required=True, metavar="PAGE", help="page number in the chip")
    q.add_argument(
        "--bits",
        required=True,
        metavar="OFF.BIT,...",
        help="physical offsets in main + spare (0..2111) and bits (0..7)",
    )
    q = action("bad-block", "mark a NAND block bad")
    q.add_argument("--cs", required=True, metavar="CS", help="chip select 0..3")
    q.add_argument("block", metavar="BLOCK", help="block number in the chip")
    for name, text in (
        ("fail-program", "the next page program of the chip fails"),
        ("fail-erase", "the next block erase of the chip fails"),
        ("power-cut", "cut the chip's power (now, or during its next program/erase)"),
    ):
        q = action(name, text)
        q.add_argument("--cs", required=True, metavar="CS", help="chip select 0..3")
    for name, text in (
        ("counters", "read-only counters of the sbox, memory channels, NFC and chips"),
        ("show", "current fault settings"),
    ):
        q = action(name, text)
        q.add_argument("--json", action="store_true", help="machine-readable output")
