# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Strict unit parsing (tangolab.units)."""

from __future__ import annotations

import pytest

from tangolab.units import (
    U64_MAX,
    format_bandwidth,
    format_duration,
    format_size,
    parse_bandwidth,
    parse_duration,
    parse_size,
    parse_uint,
)


@pytest.mark.parametrize(
    "text,ns",
    [
        ("0", 0),
        ("0.0", 0),
        ("0us", 0),
        ("250ns", 250),
        ("50us", 50_000),
        ("50 us", 50_000),
        ("50\u00b5s", 50_000),
        ("2ms", 2_000_000),
        ("1.5s", 1_500_000_000),
        (".5ms", 500_000),
        ("0.001us", 1),
        ("+3us", 3_000),
        ("  7ms ", 7_000_000),
        ("18446744073709551615ns", U64_MAX),
    ],
)
def test_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("-1us", "negative"),
        ("-0", "negative"),
        ("50", "needs a unit"),
        ("1.5ns", "whole number of ns"),
        ("0.0001us", "whole number of ns"),
        ("5xs", "unknown unit 'xs'"),
        ("5US", "unknown unit 'US'"),
        ("5 s s", "not a number"),
        ("5  us", "not a number"),
        ("1e3us", "unknown unit"),
        ("inf", "not a number"),
        ("nan", "not a number"),
        ("abc", "not a number"),
        ("1.2.3us", "unknown unit"),
        ("18446744073709551616ns", "too large"),
        ("99999999999999999999s", "too large"),
        ("1" * 50 + "s", "too many digits"),
        ("1.0000000000000000000000000000001s", "whole number"),
    ],
)
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_duration_maximum_and_type() -> None:
    assert parse_duration("1s", maximum=10**9) == 10**9
    with pytest.raises(ValueError, match="too large"):
        parse_duration("1001ms", maximum=10**9)
    with pytest.raises(ValueError, match="expected a string"):
        parse_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text,bps",
    [
        ("0", 0),
        ("unlimited", 0),
        ("1024B/s", 1024),
        ("10MB/s", 10_000_000),
        ("10kB/s", 10_000),
        ("10KB/s", 10_000),
        ("512KiB/s", 524_288),
        ("1GB/s", 1_000_000_000),
        ("1.5MiB/s", 1_572_864),
        ("2GiB/s", 2 << 30),
        ("1TB/s", 10**12),
    ],
)
def test_bandwidths(text: str, bps: int) -> None:
    assert parse_bandwidth(text) == bps


@pytest.mark.parametrize(
    "text,message",
    [
        ("10", "needs a unit"),
        ("10MB", "unknown unit 'MB'"),
        ("10mb/s", "unknown unit"),
        ("10Mbit/s", "unknown unit"),
        ("-1MB/s", "negative"),
        ("1.5B/s", "whole number of B/s"),
        ("100000000000EB/s", "unknown unit"),
        ("20000000000TB/s", "too large"),
        ("fast", "not a number"),
    ],
)
def test_bad_bandwidths(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bandwidth(text)


@pytest.mark.parametrize(
    "text,size",
    [
        ("0", 0),
        ("4096", 4096),
        ("4KiB", 4096),
        ("4K", 4096),
        ("4kB", 4000),
        ("2MiB", 2 << 20),
        ("2M", 2 << 20),
        ("1.5KiB", 1536),
        ("1G", 1 << 30),
        ("132MiB", 138412032),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text,message",
    [("1.5", "whole number of bytes"), ("4k", "unknown unit 'k'"), ("-4K", "negative"),
     ("4 KiBs", "unknown unit"), ("", "empty"), ("16EiB", "unknown unit")],
)  # fmt: skip
def test_bad_sizes(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_size(text)


def test_parse_uint() -> None:
    assert parse_uint("12") == 12
    assert parse_uint("0x1f") == 31
    assert parse_uint("0X1F") == 31
    assert parse_uint(" 7 ") == 7
    for bad in ("", "-1", "1.0", "0x", "12a", "0b101", "1_000"):
        with pytest.raises(ValueError):
            parse_uint(bad)
    with pytest.raises(ValueError, match="page '9': too large"):
        parse_uint("9", what="page", maximum=8)


def test_formatting_round_trips() -> None:
    assert format_duration(0) == "0"
    assert format_duration(50_000) == "50us"
    assert format_duration(1_500_000_000) == "1500ms"
    assert format_duration(2_000_000_000) == "2s"
    assert format_duration(1) == "1ns"
    assert format_bandwidth(0) == "unlimited"
    assert format_bandwidth(10_000_000) == "10MB/s"
    assert format_bandwidth(524_288) == "512KiB/s"
    assert format_bandwidth(1_000) == "1kB/s"
    assert format_bandwidth(1_025) == "1025B/s"
    assert format_size(138412032) == "132MiB"
    assert format_size(1000) == "1000B"
    for ns in (0, 1, 999, 1000, 123_456_789, 10**9, U64_MAX):
        assert parse_duration(format_duration(ns)) == ns
    for bps in (0, 1024, 1_000_000, 3 << 20, 12345):
        assert parse_bandwidth(format_bandwidth(bps)) == bps
    for size in (0, 1, 4096, 138412032, 5 << 30):
        assert parse_size(format_size(size)) == size
    with pytest.raises(ValueError):
        format_duration(-1)
