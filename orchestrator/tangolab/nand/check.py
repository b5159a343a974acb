# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Offline check of a raw NAND image, page by page (`tangolab nand check`).

The BCH decoding uses Python ``bchlib`` (a wrapper of Linux lib/bch.c), an
implementation independent of the QEMU model's hw/block/nand_bch.c. Each
page gets one status, tested in this order:

``erased``
    every byte of main + spare is 0xff.
``bad-block-marker``
    first page of a block whose marker byte (physical offset ``bbm_offset``)
    is not 0xff: the block is bad (listed in ``bad_blocks``). Its packets
    are still decoded for the record.
``good`` / ``corrected``
    every packet decodes, with 0 / N > 0 corrected bits in total.
``erased-bitflips``
    some packet fails, but each packet's codeword (metadata included for
    packet 0, ECC bytes included) has at most ``strength`` bits at 0: an
    erased page with bit flips, as Linux's ``nand_check_erased_ecc_chunk``
    would accept it; ``bitflips`` counts those 0 bits.
``partially-programmed`` (our definition)
    some packet fails, not erased-with-bitflips, and the stream of the page
    (all fields in NFC order, the marker area left out) ends with at least
    one 0xff byte: a program that stopped early (power cut) leaves the tail
    erased. ``programmed_end`` is the physical offset just after the last
    byte that is not 0xff. (A completely programmed page cannot end in 0xff
    when ``15 * strength`` is not a multiple of 8: the last ECC byte's pad
    bits are 0; otherwise an uncorrectable page ending in 0xff by chance,
    1 in 256, is reported here too.)
``uncorrectable``
    some packet fails, none of the above.

With an expectation (`pattern.PatternExpectation` or any callable page ->
data or None) each page's data (corrected if every packet decoded, 0xff if
erased) is compared with the expected page_size bytes: ``match`` is true
only for a decodable page with exactly the expected data. A page that
decodes cleanly (good / corrected) but holds other data is a *silent*
mismatch, the failure the DMA tear-down race produces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from tangolab.errors import TangolabError
from tangolab.nand.image import NandImage, PageView
from tangolab.nand.layout import FIELD_ORDER, PageLayout

Expectation = Callable[[int], bytes | None]


class PageStatus(StrEnum):
    ERASED = "erased"
    BAD_BLOCK_MARKER = "bad-block-marker"
    GOOD = "good"
    CORRECTED = "corrected"
    ERASED_BITFLIPS = "erased-bitflips"
    PARTIAL = "partially-programmed"
    UNCORRECTABLE = "uncorrectable"


#: statuses whose data is trustworthy (compared with the expectation)
DECODED = frozenset(
    {PageStatus.ERASED, PageStatus.GOOD, PageStatus.CORRECTED, PageStatus.ERASED_BITFLIPS}
)


class PageCodec:
    """BCH encode/decode of whole pages by the layout, with bchlib."""

    def __init__(self, layout: PageLayout) -> None:
        try:
            import bchlib
        except ImportError:
            raise TangolabError("NAND image checks need bchlib: pip install bchlib") from None
        self.layout = layout
        self.bch = bchlib.BCH(layout.ecc.strength, prim_poly=0x8003)
        if self.bch.m != FIELD_ORDER or self.bch.ecc_bytes != layout.ecc.ecc_bytes:
            raise TangolabError(
                f"bchlib gave m={self.bch.m}, {self.bch.ecc_bytes} ECC bytes for strength "
                f"{layout.ecc.strength}; expected m={FIELD_ORDER}, {layout.ecc.ecc_bytes}"
            )

    def encode_page(self, data: bytes, metadata: bytes | None = None) -> bytes:
        """The raw page (main + spare) the NFC programs for `data`
        (page_size bytes) and `metadata` (default all 0xff, as the Linux
        driver writes): marker area and unused spare bytes 0xff."""
        lay = self.layout
        meta = b"\xff" * lay.ecc.metadata_size if metadata is None else metadata
        if len(data) != lay.geometry.page_size:
            raise ValueError(f"page data is {len(data)} bytes, not {lay.geometry.page_size}")
        if len(meta) != lay.ecc.metadata_size:
            raise ValueError(f"metadata is {len(meta)} bytes, not {lay.ecc.metadata_size}")
        raw = bytearray(b"\xff" * lay.geometry.raw_page_size)
        lay.metadata.write(raw, meta)
        for p in lay.packets:
            chunk = data[p.data_offset : p.data_offset + p.data.length]
            p.data.write(raw, chunk)
            protected = meta + chunk if p.index == 0 else chunk
            p.ecc.write(raw, bytes(self.bch.encode(protected)))
        return bytes(raw)

    def decode_packet(self, view: PageView, index: int) -> tuple[int, bytes, bytes]:
        """(corrected bits or -1, corrected protected bytes, corrected ECC)."""
        data, ecc = view.codeword(index)
        d, e = bytearray(data), bytearray(ecc)
        nerr = self.bch.decode(d, e)
        if nerr > 0:
            self.bch.correct(d, e)
        return (nerr if nerr >= 0 else -1), bytes(d), bytes(e)


@dataclass
class PageRow:
    page: int
    block: int
    status: PageStatus
    #: corrected bits in total (erased-bitflips: bits at 0); 0 otherwise
    bitflips: int = 0
    #: per packet: corrected bits, or -1 if it failed to decode
    packets: list[int] = field(default_factory=list)
    bbm_set: bool = False
    metadata: str = ""
    programmed_end: int | None = None
    #: None: no expectation for this page
    match: bool | None = None
    mismatched_bytes: int | None = None
    first_mismatch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        return d


@dataclass
class CheckReport:
    image: str
    layout: PageLayout
    rows: list[PageRow]
    bad_blocks: list[int]

    def count(self, status: PageStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)

    @property
    def mismatches(self) -> list[int]:
        return [r.page for r in self.rows if r.match is False]

    @property
    def silent_mismatches(self) -> list[int]:
        """Pages that decode without error but hold unexpected data."""
        return [
            r.page
            for r in self.rows
            if r.match is False and r.status in (PageStatus.GOOD, PageStatus.CORRECTED)
        ]

    def summary(self) -> dict[str, Any]:
        compared = [r for r in self.rows if r.match is not None]
        return {
            "pages": len(self.rows),
            "status": {str(s): self.count(s) for s in PageStatus},
            "bitflips_corrected": sum(
                r.bitflips for r in self.rows if r.status is PageStatus.CORRECTED
            ),
            "max_packet_bitflips": max((max(r.packets, default=0) for r in self.rows), default=0),
            "bad_blocks": list(self.bad_blocks),
            "compared": len(compared),
            "mismatched_pages": self.mismatches,
            "silent_mismatches": self.silent_mismatches,
        }

    def to_dict(self, all_pages: bool = False) -> dict[str, Any]:
        """Summary plus rows (only pages not erased unless `all_pages`)."""
        geo, ecc = self.layout.geometry, self.layout.ecc
        return {
            "image": self.image,
            "geometry": asdict(geo),
            "ecc": {**asdict(ecc), "bbm_offset": self.layout.bbm.start},
            "summary": self.summary(),
            "pages": [
                r.to_dict() for r in self.rows if all_pages or r.status is not PageStatus.ERASED
            ],
        }

    def to_json(self, all_pages: bool = False, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(all_pages), indent=indent)


def _zero_bits(buf: bytes) -> int:
    return 8 * len(buf) - int.from_bytes(buf, "big").bit_count()


def _stream_tail(view: PageView) -> tuple[int, int | None]:
    """(0xff bytes at the end of the stream, physical offset just after the
    last byte that is not 0xff, None if there is none)."""
    tail = 0
    for span in reversed(view.layout.stream_spans()):
        chunk = view.raw[span.start : span.end]
        stripped = chunk.rstrip(b"\xff")
        tail += len(chunk) - len(stripped)
        if stripped:
            return tail, span.start + len(stripped)
    return tail, None


def classify_page(view: PageView, codec: PageCodec, expected: bytes | None = None) -> PageRow:
    """One page's row of the report."""
    lay = view.layout
    row = PageRow(page=view.page, block=view.block, status=PageStatus.ERASED)
    row.bbm_set = view.bbm_set
    data: bytes | None
    if view.is_erased:
        data = b"\xff" * lay.geometry.page_size
    else:
        row.metadata = view.metadata.hex()
        results = [codec.decode_packet(view, p.index) for p in lay.packets]
        row.packets = [r[0] for r in results]
        meta = lay.ecc.metadata_size
        if all(n >= 0 for n in row.packets):
            row.bitflips = sum(row.packets)
            row.status = PageStatus.CORRECTED if row.bitflips else PageStatus.GOOD
            row.metadata = results[0][1][:meta].hex()
            data = results[0][1][meta:] + b"".join(r[1] for r in results[1:])
        else:
            zeros = [_zero_bits(b"".join(view.codeword(p.index))) for p in lay.packets]
            tail, programmed_end = _stream_tail(view)
            data = None
            if all(z <= lay.ecc.strength for z in zeros):
                row.status = PageStatus.ERASED_BITFLIPS
                row.bitflips = sum(zeros)
                data = b"\xff" * lay.geometry.page_size
            elif tail >= 1:
                row.status = PageStatus.PARTIAL
                row.programmed_end = programmed_end
            else:
                row.status = PageStatus.UNCORRECTABLE
        if row.bbm_set and view.page_in_block == 0:
            row.status = PageStatus.BAD_BLOCK_MARKER
            data = None
    if expected is not None:
        if len(expected) != lay.geometry.page_size:
            raise ValueError(
                f"expected data for page {view.page} is {len(expected)} bytes, "
                f"not {lay.geometry.page_size}"
            )
        got = data if data is not None else view.data
        diffs: list[int] = []
        if got != expected:
            diffs = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
        row.mismatched_bytes = len(diffs)
        row.first_mismatch = diffs[0] if diffs else None
        row.match = data is not None and not diffs
    return row


def check_image(
    image: NandImage | str | os.PathLike[str],
    layout: PageLayout | None = None,
    expected: Expectation | None = None,
    start: int = 0,
    stop: int | None = None,
) -> CheckReport:
    """Classify pages start .. stop-1 of an image (an open `NandImage`, or a
    path opened with `layout`)."""
    if isinstance(image, NandImage):
        img, own = image, False
    else:
        if layout is None:
            raise ValueError("check_image: a path needs a layout")
        img, own = NandImage(image, layout), True
    try:
        codec = PageCodec(img.layout)
        rows = [
            classify_page(view, codec, expected(view.page) if expected else None)
            for view in img.iter_pages(start, stop)
        ]
    finally:
        if own:
            img.close()
    bad = sorted({r.block for r in rows if r.status is PageStatus.BAD_BLOCK_MARKER})
    return CheckReport(image=str(img.path), layout=img.layout, rows=rows, bad_blocks=bad)
