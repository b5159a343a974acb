# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Physical page layout of the tango4 NFC (tangolab.nand.layout).

Expected offsets are worked out by hand from HARDWARE.md:
M | PKT_0 | ECC_0 | ... | N1 | BBM | N2 | ECC_N, the marker at bbm_offset.
"""

from __future__ import annotations

import pytest

from tangolab.errors import TangolabError
from tangolab.nand.layout import (
    EccLayout,
    Field,
    Geometry,
    LayoutError,
    PageLayout,
    Span,
    compute_layout,
)


def spans(f: Field) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in f.spans]


def test_default_layout_matches_hardware_md() -> None:
    lay = compute_layout()
    assert lay.geometry == Geometry(2048, 64, 64, 1024)
    assert lay.ecc.ecc_bytes == 27
    assert spans(lay.metadata) == [(0, 4)]
    assert [spans(p.data) for p in lay.packets] == [[(4, 1028)], [(1055, 2048), (2054, 2085)]]
    assert [spans(p.ecc) for p in lay.packets] == [[(1028, 1055)], [(2085, 2112)]]
    assert (lay.bbm.start, lay.bbm.end) == (2048, 2054)
    assert lay.end == 2112 == lay.geometry.raw_page_size
    assert [p.data_offset for p in lay.packets] == [0, 1024]
    assert lay.geometry.image_size == 1024 * 64 * 2112


@pytest.mark.parametrize(
    "strength,ecc_bytes", [(1, 2), (4, 8), (8, 15), (14, 27), (16, 30), (24, 45), (32, 60)]
)
def test_ecc_bytes(strength: int, ecc_bytes: int) -> None:
    assert EccLayout(strength=strength).ecc_bytes == ecc_bytes


def test_four_steps_split_the_last_packet() -> None:
    lay = compute_layout(Geometry(), EccLayout(step_size=512, strength=4))
    assert [spans(p.data) for p in lay.packets] == [
        [(4, 516)],
        [(524, 1036)],
        [(1044, 1556)],
        [(1564, 2048), (2054, 2082)],
    ]
    assert [spans(p.ecc) for p in lay.packets] == [
        [(516, 524)],
        [(1036, 1044)],
        [(1556, 1564)],
        [(2082, 2090)],
    ]
    assert lay.end == 2090


def test_marker_inside_an_ecc_field() -> None:
    lay = compute_layout(Geometry(), EccLayout(bbm_offset=1040))
    assert spans(lay.packets[0].ecc) == [(1028, 1040), (1046, 1061)]
    assert spans(lay.packets[1].data) == [(1061, 2085)]
    assert spans(lay.packets[1].ecc) == [(2085, 2112)]


def test_marker_on_a_field_boundary_is_not_a_split() -> None:
    lay = compute_layout(Geometry(), EccLayout(bbm_offset=1028))
    assert spans(lay.packets[0].data) == [(4, 1028)]
    assert spans(lay.packets[0].ecc) == [(1034, 1061)]
    assert lay.end == 2112


def test_marker_at_zero_and_no_marker() -> None:
    lay = compute_layout(Geometry(), EccLayout(bbm_offset=0))
    assert spans(lay.metadata) == [(6, 10)]
    lay = compute_layout(Geometry(), EccLayout(bbm_size=0))
    assert spans(lay.packets[1].data) == [(1055, 2079)]
    assert lay.end == 2106


def test_stream_covers_every_byte_once() -> None:
    for ecc in (EccLayout(), EccLayout(step_size=512, strength=4), EccLayout(bbm_offset=1040)):
        lay = compute_layout(Geometry(), ecc)
        covered = [i for s in lay.stream_spans() for i in range(s.start, s.end)]
        assert len(covered) == len(set(covered))
        assert not set(covered) & set(range(lay.bbm.start, lay.bbm.end))
        assert len(covered) == 4 + 2048 + lay.steps * ecc.ecc_bytes


def test_field_read_write_and_codeword() -> None:
    lay = compute_layout()
    raw = bytearray(range(256)) * 8 + bytearray(64)
    value = bytes(i % 251 for i in range(1024))
    lay.packets[1].data.write(raw, value)
    assert lay.packets[1].data.read(raw) == value
    assert raw[2048:2054] == bytearray(64)[:6]  # marker area untouched
    protected, ecc = lay.codeword(raw, 0)
    assert protected == bytes(raw[0:1028]) and ecc == bytes(raw[1028:1055])
    protected, _ = lay.codeword(raw, 1)
    assert protected == value
    with pytest.raises(ValueError, match="1023 bytes given"):
        lay.packets[1].data.write(raw, value[:-1])


@pytest.mark.parametrize(
    "geo,ecc,msg",
    [
        (Geometry(), EccLayout(strength=16), r"does not fit.*2118 > page \+ spare = 2112"),
        (Geometry(), EccLayout(step_size=512, strength=8), "does not fit"),
        (Geometry(), EccLayout(step_size=1000), "does not divide"),
        (Geometry(), EccLayout(step_size=0), "does not divide"),
        (Geometry(), EccLayout(strength=0), "strength 0 not in 1..32"),
        (Geometry(), EccLayout(strength=33), "strength 33 not in 1..32"),
        (Geometry(4096, 256), EccLayout(step_size=4096, strength=32), "longer than BCH"),
        (Geometry(), EccLayout(bbm_offset=2110), "marker area 2110"),
        (Geometry(), EccLayout(metadata_size=256), "metadata size"),
    ],
)
def test_bad_layouts(geo: Geometry, ecc: EccLayout, msg: str) -> None:
    with pytest.raises(LayoutError, match=msg) as info:
        compute_layout(geo, ecc)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TangolabError)


def test_bad_geometry() -> None:
    with pytest.raises(ValueError, match="page_size must be > 0"):
        Geometry(page_size=0)
    with pytest.raises(ValueError, match="oob_size must be >= 0"):
        Geometry(oob_size=-1)


def test_bigger_page() -> None:
    lay = compute_layout(Geometry(4096, 224, 64, 16), EccLayout(strength=28))
    assert isinstance(lay, PageLayout)
    assert lay.steps == 4 and lay.ecc.ecc_bytes == 53
    assert lay.bbm == Span(4096, 4102)
    # 4 + 3 * (1024 + 53) = 3235; packet 3's data is split at 4096
    assert spans(lay.packets[3].data) == [(3235, 4096), (4102, 4265)]
    assert spans(lay.packets[3].ecc) == [(4265, 4318)]
    assert lay.end == 4318
    with pytest.raises(LayoutError, match="ends at 4334 > page"):
        compute_layout(Geometry(4096, 224, 64, 16), EccLayout(strength=30))
