# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Physical layout of a page written by the tango4 NAND flash controller.

From hw-models/HARDWARE.md ("NAND flash controller"): for one page the NFC
emits, in this order,

    M (metadata_size) | PKT_0 data (step_size) | ECC_0 | PKT_1 | ECC_1 | ...
    | PKT_{s-1} | ECC_{s-1}

with ``s = page_size / step_size`` packets and ``ecc_bytes =
ceil(strength * 15 / 8)`` parity bytes each. This byte stream is laid at
physical offsets 0, 1, ... of the chip page (main + spare area), skipping
the ``bbm_size`` bytes of the bad-block marker area at ``bbm_offset``
(default: the page size, i.e. the first spare bytes): whatever field runs
across ``bbm_offset`` is split around the marker. With the defaults (2048 +
64, 1024-byte steps, strength 14, metadata 4, BBM 6) that is

    M 0..4 | PKT_0 4..1028 | ECC_0 1028..1055 | N1 1055..2048 | BBM 2048..2054
    | N2 2054..2085 | ECC_1 2085..2112

Packet 0's BCH codeword covers the metadata followed by PKT_0's data; the
other packets' codewords cover their data. All ranges here are half-open
``[start, end)`` physical byte offsets in the raw page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tangolab.errors import UsageError

#: BCH field order of the tango4 NFC: GF(2^15)
FIELD_ORDER = 15
#: Strengths the NFC accepts (ours, HARDWARE.md "BCH")
MAX_STRENGTH = 32


class LayoutError(UsageError, ValueError):
    """A geometry or ECC layout that the controller cannot use."""


@dataclass(frozen=True)
class Geometry:
    """NAND chip geometry (default: the modelled MT29F1G08ABADA)."""

    page_size: int = 2048
    oob_size: int = 64
    pages_per_block: int = 64
    blocks: int = 1024

    def __post_init__(self) -> None:
        for name in ("page_size", "pages_per_block", "blocks"):
            if getattr(self, name) <= 0:
                raise LayoutError(f"geometry: {name} must be > 0, not {getattr(self, name)}")
        if self.oob_size < 0:
            raise LayoutError(f"geometry: oob_size must be >= 0, not {self.oob_size}")

    @property
    def raw_page_size(self) -> int:
        """Bytes of one page in the chip and in an image: main + spare."""
        return self.page_size + self.oob_size

    @property
    def pages(self) -> int:
        return self.blocks * self.pages_per_block

    @property
    def image_size(self) -> int:
        """Size of a raw image: every page's main + spare, in page order."""
        return self.pages * self.raw_page_size

    def block_of(self, page: int) -> int:
        return page // self.pages_per_block


@dataclass(frozen=True)
class EccLayout:
    """How the NFC is programmed: PKT_0/PKT_N, XFER_CFG metadata, BB_CFG.

    ``bbm_offset`` None means the page size (as the mainline driver sets
    BB_CFG: the marker at the first spare byte).
    """

    step_size: int = 1024
    strength: int = 14
    metadata_size: int = 4
    bbm_offset: int | None = None
    bbm_size: int = 6

    @property
    def ecc_bytes(self) -> int:
        """Parity bytes per packet: ceil(strength * 15 / 8)."""
        return (self.strength * FIELD_ORDER + 7) // 8

    @property
    def max_codeword_data(self) -> int:
        """Longest packet (metadata included) BCH over GF(2^15) protects."""
        return ((1 << FIELD_ORDER) - 1 - FIELD_ORDER * self.strength) // 8


@dataclass(frozen=True)
class Span:
    """Half-open range of physical byte offsets in the raw page."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Field:
    """One field of the stream (M, a packet's data, an ECC) and the one or
    two physical spans holding it (two when the BBM area splits it)."""

    name: str
    spans: tuple[Span, ...]

    @property
    def length(self) -> int:
        return sum(s.length for s in self.spans)

    @property
    def start(self) -> int:
        return self.spans[0].start if self.spans else 0

    @property
    def end(self) -> int:
        return self.spans[-1].end if self.spans else 0

    def read(self, raw: bytes | bytearray | memoryview) -> bytes:
        return b"".join(bytes(raw[s.start : s.end]) for s in self.spans)

    def write(self, raw: bytearray, value: bytes) -> None:
        if len(value) != self.length:
            raise ValueError(f"{self.name}: {len(value)} bytes given, the field has {self.length}")
        pos = 0
        for s in self.spans:
            raw[s.start : s.end] = value[pos : pos + s.length]
            pos += s.length


@dataclass(frozen=True)
class Packet:
    """One ECC step: its data (without the metadata) and its parity."""

    index: int
    data: Field
    ecc: Field
    #: offset of this packet's data in the page's data buffer
    data_offset: int


@dataclass(frozen=True)
class PageLayout:
    """Result of `compute_layout`: where everything is in a raw page."""

    geometry: Geometry
    ecc: EccLayout
    metadata: Field
    packets: tuple[Packet, ...]
    bbm: Span
    #: physical offset just after the last stream byte
    end: int

    @property
    def steps(self) -> int:
        return len(self.packets)

    def fields(self) -> Iterator[Field]:
        """The stream's fields in the order the NFC emits them."""
        yield self.metadata
        for p in self.packets:
            yield p.data
            yield p.ecc

    def stream_spans(self) -> list[Span]:
        """Physical spans of the whole stream in order (BBM area excluded)."""
        return [s for f in self.fields() for s in f.spans]

    def codeword(self, raw: bytes | bytearray | memoryview, index: int) -> tuple[bytes, bytes]:
        """(protected bytes, parity) of packet `index`; packet 0's protected
        bytes are the metadata followed by its data."""
        p = self.packets[index]
        data = p.data.read(raw)
        if index == 0:
            data = self.metadata.read(raw) + data
        return data, p.ecc.read(raw)

    def data(self, raw: bytes | bytearray | memoryview) -> bytes:
        """The page's data buffer (page_size bytes), uncorrected."""
        return b"".join(p.data.read(raw) for p in self.packets)


def _split(start: int, length: int, bbm: Span) -> tuple[tuple[Span, ...], int]:
    """Place `length` stream bytes from physical `start`, skipping `bbm`.
    Returns the spans and the next free physical offset."""
    if bbm.length and start == bbm.start:
        start = bbm.end
    end = start + length
    if bbm.length and start < bbm.start < end:
        return (Span(start, bbm.start), Span(bbm.end, end + bbm.length)), end + bbm.length
    return ((Span(start, end),) if length else ()), end


def compute_layout(geometry: Geometry | None = None, ecc: EccLayout | None = None) -> PageLayout:
    """Physical layout of a page; `LayoutError` (a ValueError) if the
    controller cannot use these parameters or the stream does not fit."""
    geo = geometry if geometry is not None else Geometry()
    lay = ecc if ecc is not None else EccLayout()
    if lay.step_size <= 0 or geo.page_size % lay.step_size:
        raise LayoutError(
            f"ECC step size {lay.step_size} does not divide the page size {geo.page_size}"
        )
    if not 1 <= lay.strength <= MAX_STRENGTH:
        raise LayoutError(f"ECC strength {lay.strength} not in 1..{MAX_STRENGTH}")
    if not 0 <= lay.metadata_size <= 255:
        raise LayoutError(f"metadata size {lay.metadata_size} not in 0..255")
    if lay.step_size + lay.metadata_size > lay.max_codeword_data:
        raise LayoutError(
            f"packet 0 of {lay.step_size + lay.metadata_size} bytes is longer than BCH "
            f"over GF(2^15) with strength {lay.strength} protects "
            f"({lay.max_codeword_data} bytes)"
        )
    bbm_offset = geo.page_size if lay.bbm_offset is None else lay.bbm_offset
    if lay.bbm_size < 0 or bbm_offset < 0 or bbm_offset + lay.bbm_size > geo.raw_page_size:
        raise LayoutError(
            f"bad-block marker area {bbm_offset}+{lay.bbm_size} is not inside the "
            f"{geo.raw_page_size}-byte page"
        )
    bbm = Span(bbm_offset, bbm_offset + lay.bbm_size)

    steps = geo.page_size // lay.step_size
    meta_spans, pos = _split(0, lay.metadata_size, bbm)
    packets = []
    for i in range(steps):
        data_spans, pos = _split(pos, lay.step_size, bbm)
        ecc_spans, pos = _split(pos, lay.ecc_bytes, bbm)
        packets.append(
            Packet(
                index=i,
                data=Field(f"PKT_{i}", data_spans),
                ecc=Field(f"ECC_{i}", ecc_spans),
                data_offset=i * lay.step_size,
            )
        )
    if pos > geo.raw_page_size:
        need = lay.metadata_size + geo.page_size + steps * lay.ecc_bytes
        raise LayoutError(
            f"layout does not fit: metadata {lay.metadata_size} + data {geo.page_size} + "
            f"{steps} x {lay.ecc_bytes} ECC bytes = {need} bytes, plus the {lay.bbm_size}-byte "
            f"marker area, ends at {pos} > page + spare = {geo.raw_page_size}"
        )
    return PageLayout(
        geometry=geo,
        ecc=lay,
        metadata=Field("M", meta_spans),
        packets=tuple(packets),
        bbm=bbm,
        end=pos,
    )
