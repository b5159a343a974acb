# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Options shared by several commands, among them those that boot the tango4
machine: your own QEMU, kernel, device tree or initramfs instead of the build's."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tangolab.build.artifacts import Artifacts, load_artifacts
from tangolab.units import parse_duration

T = TypeVar("T")

#: the longest mean route latency any command takes (1 s)
MAX_LATENCY_NS = 1_000_000_000


def positive_float(text: str) -> float:
    """argparse type: a number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def whole(lo: int = 1, hi: int | None = None, unit: str = "") -> Callable[[str], int]:
    """argparse type: a whole number in lo..hi (`unit` names what is counted
    in the message about the upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}: {text!r}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"at most {hi}{' ' + unit if unit else ''}: {text!r}")
        return value

    return parse


def _seed_value(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise ValueError("not an integer") from None
    if not 0 <= value < 2**32:
        raise ValueError("a seed is 0 .. 2^32-1")
    return value


def _latency_value(text: str) -> int:
    return parse_duration(text, maximum=MAX_LATENCY_NS)


def _argument(parse: Callable[[str], T], what: str = "") -> Callable[[str], T]:
    """An argparse type from a parser that raises ValueError (its message
    after "bad WHAT 'TEXT': " when `what` is given)."""

    def typed(text: str) -> T:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(
                f"bad {what} {text!r}: {e}" if what else str(e)
            ) from None

    typed.__name__ = parse.__name__.strip("_")
    return typed


#: argparse type: a seed, 0 .. 2^32-1 (decimal or 0x)
seed = _argument(_seed_value, "seed")
#: argparse type: a duration such as 20us, at most 1 s, in nanoseconds
latency = _argument(_latency_value)


def fraction(text: str) -> float:
    """argparse type: a fraction of the latency, 0 .. 10."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"a fraction of the latency, 0 .. 10: {text!r}")
    return value


def comma_list(
    parse: Callable[[str], T], what: str, *, unique: bool = False
) -> Callable[[str], list[T]]:
    """argparse type: a comma-separated list, each item through `parse`
    (which raises ValueError)."""

    def parse_list(text: str) -> list[T]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"empty list of {what}")
        if unique and len(set(items)) != len(items):
            raise argparse.ArgumentTypeError(f"a {what} is named twice")
        out = []
        for item in items:
            try:
                out.append(parse(item))
            except ValueError as e:
                raise argparse.ArgumentTypeError(f"bad {what} {item!r}: {e}") from None
        return out

    return parse_list


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A parser for comma_list: one of `choices` (ValueError otherwise)."""

    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(f"choose from {', '.join(choices)}")
        return text

    return check


#: comma_list item parsers
latency_item = _latency_value
seed_item = _seed_value


def add_artifact_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("files to boot (default: the build's)")
    g.add_argument("--qemu", type=Path, metavar="BINARY", help="this qemu-system-arm")
    g.add_argument("--kernel", type=Path, metavar="ZIMAGE", help="this kernel image")
    g.add_argument("--dtb", type=Path, metavar="DTB", help="this device tree blob")
    g.add_argument("--initrd", type=Path, metavar="INITRAMFS", help="this initramfs")


def artifacts_from_args(args: argparse.Namespace, build: Path) -> Artifacts:
    """The build's artifacts with the files given on the command line put in
    (each must exist: `UsageError` otherwise)."""
    return load_artifacts(build).with_files(
        qemu=args.qemu, kernel=args.kernel, dtb=args.dtb, initrd=args.initrd
    )
