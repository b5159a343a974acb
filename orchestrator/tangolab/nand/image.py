# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Raw NAND images as the `onfi-nand` model backs them.

An image is every page's main + spare bytes (``page_size + oob_size``), in
page order, erased = 0xff; its size is exactly ``blocks * pages_per_block *
(page_size + oob_size)`` (HARDWARE.md "NAND chip"). `NandImage` opens one
read-only, refuses a wrong size with the expected and actual sizes, and
hands out `PageView`s that cut a raw page into metadata, packet data, ECC
and bad-block marker bytes by the `PageLayout`.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tangolab.closing import Closing
from tangolab.errors import TangolabError, UsageError
from tangolab.nand.layout import PageLayout


class ImageError(TangolabError, ValueError):
    """A NAND image that cannot be used (missing, wrong size, bad page)."""


@dataclass(frozen=True)
class PageView:
    """One raw page of an image, cut by the layout (nothing corrected)."""

    page: int
    raw: bytes
    layout: PageLayout

    @property
    def block(self) -> int:
        return self.layout.geometry.block_of(self.page)

    @property
    def page_in_block(self) -> int:
        return self.page % self.layout.geometry.pages_per_block

    @property
    def is_erased(self) -> bool:
        """Every byte of main + spare is 0xff (the NFC's PAGE_IS_EMPTY)."""
        return self.raw.count(0xFF) == len(self.raw)

    @property
    def metadata(self) -> bytes:
        return self.layout.metadata.read(self.raw)

    @property
    def data(self) -> bytes:
        """The page_size data bytes, packets concatenated, uncorrected."""
        return self.layout.data(self.raw)

    @property
    def bbm(self) -> bytes:
        return self.raw[self.layout.bbm.start : self.layout.bbm.end]

    @property
    def bbm_set(self) -> bool:
        """First marker byte not 0xff (HARDWARE.md: a factory bad block has
        byte 0 of the spare area of its first page not 0xff)."""
        return bool(self.layout.bbm.length) and self.raw[self.layout.bbm.start] != 0xFF

    def packet_data(self, index: int) -> bytes:
        return self.layout.packets[index].data.read(self.raw)

    def ecc(self, index: int) -> bytes:
        return self.layout.packets[index].ecc.read(self.raw)

    def codeword(self, index: int) -> tuple[bytes, bytes]:
        """(protected bytes, parity) of a packet, metadata first for packet 0."""
        return self.layout.codeword(self.raw, index)


class NandImage(Closing):
    """A raw NAND image opened read-only (memory-mapped)."""

    def __init__(self, path: str | os.PathLike[str], layout: PageLayout) -> None:
        self.path = Path(path)
        self.layout = layout
        geo = layout.geometry
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise ImageError(f"{self.path}: no such NAND image") from None
        if not self.path.is_file():
            raise ImageError(f"{self.path}: not a regular file")
        if size != geo.image_size:
            raise ImageError(self._size_message(size))
        self._file = self.path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)

    def _size_message(self, size: int) -> str:
        geo = self.layout.geometry
        what = "truncated" if size < geo.image_size else "too large"
        whole, rest = divmod(size, geo.raw_page_size)
        detail = f"{whole} whole pages" + (f" and {rest} bytes" if rest else "")
        return (
            f"{self.path}: {what} NAND image: {size} bytes ({detail}), expected "
            f"{geo.image_size} = {geo.blocks} blocks x {geo.pages_per_block} pages x "
            f"({geo.page_size} + {geo.oob_size}) bytes"
        )

    def close(self) -> None:
        self._map.close()
        self._file.close()

    @property
    def pages(self) -> int:
        return self.layout.geometry.pages

    def raw_page(self, page: int) -> bytes:
        if not 0 <= page < self.pages:
            raise ImageError(f"{self.path}: page {page} not in 0..{self.pages - 1}")
        size = self.layout.geometry.raw_page_size
        return self._map[page * size : (page + 1) * size]

    def page(self, page: int) -> PageView:
        return PageView(page, self.raw_page(page), self.layout)

    def iter_pages(self, start: int = 0, stop: int | None = None) -> Iterator[PageView]:
        """Pages start .. stop-1 (default: to the end)."""
        end = self.pages if stop is None else stop
        if not 0 <= start <= end <= self.pages:
            raise ImageError(f"{self.path}: page range {start}..{end} not within 0..{self.pages}")
        for page in range(start, end):
            yield self.page(page)


def create_image(
    path: str | os.PathLike[str],
    layout: PageLayout,
    pages: Mapping[int, bytes] | None = None,
) -> Path:
    """Write an erased image of the layout's geometry, with the given raw
    pages (page number -> raw main + spare bytes) in place."""
    geo = layout.geometry
    out = Path(path)
    given = pages or {}
    for page, raw in given.items():
        if not 0 <= page < geo.pages:
            raise ImageError(f"page {page} not in 0..{geo.pages - 1}")
        if len(raw) != geo.raw_page_size:
            raise ImageError(f"page {page}: {len(raw)} bytes, a raw page is {geo.raw_page_size}")
    erased_block = b"\xff" * (geo.raw_page_size * geo.pages_per_block)
    with out.open("wb") as f:
        for _ in range(geo.blocks):
            f.write(erased_block)
        for page, raw in sorted(given.items()):
            f.seek(page * geo.raw_page_size)
            f.write(raw)
    return out


def write_erased_image(path: Path, size: int, *, force: bool = False) -> Path:
    """Write `size` bytes of 0xff to `path` (atomically: a temporary file in
    the same directory, renamed), in 1 MiB writes."""
    if path.exists() and not force:
        raise UsageError(f"{path} exists: remove it or use --force")
    if path.exists() and not path.is_file():
        raise UsageError(f"{path} exists and is not a regular file")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such directory")
    chunk = b"\xff" * (1 << 20)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            # reserve the space first: a full disk fails here, not half-way
            with contextlib.suppress(OSError):
                os.posix_fallocate(f.fileno(), 0, size)
            left = size
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n] if n < len(chunk) else chunk)
                left -= n
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
