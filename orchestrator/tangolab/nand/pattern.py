# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Seeded data pattern of NAND pages, shared bit-exactly with the guest tool.

The in-guest C tool writes pages with this pattern; `tangolab nand check`
compares an image against it. Definition (all arithmetic on unsigned 32-bit
integers, i.e. modulo 2^32):

1. ``state = seed XOR (page * 0x9E3779B9)``, where ``seed`` is a 32-bit
   value and ``page`` the absolute page number in the chip (``block *
   pages_per_block + page_in_block``); the product is taken modulo 2^32.
2. If ``state`` is 0, it becomes ``0x9E3779B9`` (xorshift32 never leaves 0).
3. For each output word: ``state ^= state << 13; state ^= state >> 17;
   state ^= state << 5`` (Marsaglia's xorshift32), then the word is the new
   ``state``. The first word is thus produced from the first update: seed 1,
   page 0 gives 270369 = 0x00042021 first.
4. Words are emitted little-endian (least significant byte first), one
   after the other; a length that is not a multiple of 4 cuts the last word
   (its low bytes are kept).

The same in C::

    uint32_t x = seed ^ (uint32_t)(page * 0x9E3779B9u);
    if (!x)
        x = 0x9E3779B9u;
    for (i = 0; i < len; i++) {
        if (i % 4 == 0) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
        }
        buf[i] = x >> (8 * (i % 4));
    }

Test vectors (first 16 bytes) are in tests/unit/test_nand_check.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

GOLDEN = 0x9E3779B9
MASK32 = 0xFFFFFFFF


def pattern_bytes(seed: int, page: int, length: int) -> bytes:
    """`length` bytes of the pattern of (`seed`, `page`)."""
    if not 0 <= seed <= MASK32:
        raise ValueError(f"pattern seed {seed:#x} is not a 32-bit unsigned value")
    if page < 0 or length < 0:
        raise ValueError(f"pattern page {page} and length {length} must be >= 0")
    x = (seed ^ (page * GOLDEN)) & MASK32
    if not x:
        x = GOLDEN
    words = []
    for _ in range((length + 3) // 4):
        x ^= (x << 13) & MASK32
        x ^= x >> 17
        x ^= (x << 5) & MASK32
        words.append(x)
    out = b"".join(w.to_bytes(4, "little") for w in words)
    return out[:length]


@dataclass(frozen=True)
class PatternExpectation:
    """Expected page data: the pattern of `seed` on the given pages (all
    pages if None), other pages have no expectation."""

    seed: int
    length: int
    pages: frozenset[int] | None = field(default=None)

    @classmethod
    def for_pages(cls, seed: int, length: int, pages: Iterable[int]) -> PatternExpectation:
        return cls(seed, length, frozenset(pages))

    def __call__(self, page: int) -> bytes | None:
        if self.pages is not None and page not in self.pages:
            return None
        return pattern_bytes(self.seed, page, self.length)
