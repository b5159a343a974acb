# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Strict parsing (and printing) of values with units.

    parse_duration("50us")     -> 50000         (int nanoseconds)
    parse_duration("1.5s")     -> 1500000000
    parse_bandwidth("10MB/s")  -> 10000000      (int bytes per second; 0 = unlimited)
    parse_bandwidth("512KiB/s") -> 524288
    parse_size("4KiB")         -> 4096          (int bytes)

Numbers are decimal, optionally with a fraction ("1.5ms"); the result must
be a whole number of the base unit ("1.5ns" is refused). A unit is
required except for 0 (and for sizes, where a bare number is bytes). Units
are case-sensitive where case matters (``MB`` is not ``mB``). Negative
values, junk, unknown units and values beyond 64 bits raise `ValueError`
with a message that says what was expected.
"""

from __future__ import annotations

import re
from fractions import Fraction

#: Largest value any of these parsers returns: QEMU's properties are uint64.
U64_MAX = (1 << 64) - 1

DURATION_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
}

_DECIMAL_PREFIXES: dict[str, int] = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9,
                                     "T": 10**12}  # fmt: skip
_BINARY_PREFIXES: dict[str, int] = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}

BANDWIDTH_UNITS: dict[str, int] = {
    **{f"{p}B/s": f for p, f in _DECIMAL_PREFIXES.items()},
    **{f"{p}B/s": f for p, f in _BINARY_PREFIXES.items()},
}

SIZE_UNITS: dict[str, int] = {
    **{f"{p}B": f for p, f in _DECIMAL_PREFIXES.items()},
    **{f"{p}B": f for p, f in _BINARY_PREFIXES.items()},
    # QEMU's own size suffixes (binary)
    "K": 1 << 10,
    "M": 1 << 20,
    "G": 1 << 30,
    "T": 1 << 40,
}

_MAX_DIGITS = 40
_NUMBER_UNIT = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s?(?P<unit>\S*)")


def _parse(
    text: object,
    units: dict[str, int],
    what: str,
    example: str,
    *,
    bare: int | None,
    maximum: int,
) -> int:
    """The value of `text` in the base unit. `bare` is the factor of a number
    without a unit (None: only 0 may go without one)."""
    if not isinstance(text, str):
        raise ValueError(f"{what}: expected a string like {example!r}, got {type(text).__name__}")
    s = text.strip()
    unit_list = ", ".join(u for u in units if u.isascii())
    if not s:
        raise ValueError(f"{what}: empty value; expected a number with a unit, like {example!r}")
    if s.startswith("-"):
        raise ValueError(f"{what} {text!r}: must not be negative")
    if s.startswith("+"):
        s = s[1:]
    m = _NUMBER_UNIT.fullmatch(s)
    if m is None:
        raise ValueError(
            f"{what} {text!r}: not a number with a unit; expected something like {example!r} "
            f"(units: {unit_list})"
        )
    if len(m["num"]) > _MAX_DIGITS:
        raise ValueError(f"{what} {text!r}: too many digits")
    number = Fraction(m["num"])  # exact, unlike float
    unit = m["unit"]
    if not unit:
        if number == 0:
            return 0
        if bare is None:
            raise ValueError(
                f"{what} {text!r}: needs a unit, e.g. {example!r} (units: {unit_list})"
            )
        factor = bare
    elif unit in units:
        factor = units[unit]
    else:
        raise ValueError(f"{what} {text!r}: unknown unit {unit!r} (units: {unit_list})")
    value = number * factor
    if value.denominator != 1:
        base = min(units, key=lambda u: units[u]) if bare is None else "bytes"
        raise ValueError(f"{what} {text!r}: not a whole number of {base}")
    result = value.numerator
    if result > maximum:
        raise ValueError(f"{what} {text!r}: too large (at most {maximum})")
    return result


def parse_duration(text: str, *, maximum: int = U64_MAX) -> int:
    """A duration ("250ns", "50us", "2ms", "1.5s", "0") in nanoseconds."""
    return _parse(text, DURATION_UNITS, "duration", "50us", bare=None, maximum=maximum)


def parse_bandwidth(text: str, *, maximum: int = U64_MAX) -> int:
    """A bandwidth ("10MB/s", "512KiB/s", "1GB/s"; "0" or "unlimited" = 0)
    in bytes per second. kB/s, MB/s ... are powers of 1000, KiB/s, MiB/s ...
    powers of 1024."""
    if isinstance(text, str) and text.strip() == "unlimited":
        return 0
    return _parse(text, BANDWIDTH_UNITS, "bandwidth", "10MB/s", bare=None, maximum=maximum)


def parse_size(text: str, *, maximum: int = U64_MAX) -> int:
    """A size in bytes: a bare number is bytes; kB, MB ... are powers of 1000,
    KiB, MiB ... and QEMU's K, M, G, T powers of 1024."""
    return _parse(text, SIZE_UNITS, "size", "64KiB", bare=1, maximum=maximum)


def parse_uint(text: str, *, what: str = "number", maximum: int = U64_MAX) -> int:
    """A non-negative integer, decimal or 0x hexadecimal."""
    if not isinstance(text, str):
        raise ValueError(f"{what}: expected a string, got {type(text).__name__}")
    s = text.strip()
    if s.startswith("-"):
        raise ValueError(f"{what} {text!r}: must not be negative")
    if re.fullmatch(r"[0-9]+", s):
        value = int(s, 10)
    elif re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
        value = int(s, 16)
    else:
        raise ValueError(f"{what} {text!r}: not a decimal or 0x hexadecimal integer")
    if value > maximum:
        raise ValueError(f"{what} {text!r}: too large (at most {maximum})")
    return value


def _format(value: int, units: list[tuple[str, int]]) -> str:
    """The largest unit that shows `value` exactly."""
    if value < 0:
        raise ValueError(f"cannot format negative value {value}")
    if value == 0:
        return "0"
    for name, factor in units:
        if value % factor == 0:
            return f"{value // factor}{name}"
    raise AssertionError("the base unit divides every integer")  # pragma: no cover


def format_duration(ns: int) -> str:
    """50000 -> '50us' (the largest unit that is exact)."""
    return _format(ns, [("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)])


def format_bandwidth(bps: int) -> str:
    """0 -> 'unlimited', 10000000 -> '10MB/s', 524288 -> '512KiB/s'."""
    if bps == 0:
        return "unlimited"
    return _format(
        bps,
        [("GiB/s", 1 << 30), ("GB/s", 10**9), ("MiB/s", 1 << 20), ("MB/s", 10**6),
         ("KiB/s", 1 << 10), ("kB/s", 10**3), ("B/s", 1)],
    )  # fmt: skip


def format_size(size: int) -> str:
    """138412032 -> '132MiB'... the largest binary unit that is exact, else bytes."""
    return _format(size, [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)])
