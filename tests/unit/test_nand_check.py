# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""NAND images, page classification and the data pattern (tangolab.nand).

Synthetic images are built in tmp_path with pages assembled here by hand at
the physical offsets of HARDWARE.md's default layout (2048 + 64, two 1024-
byte packets, strength 14: M 0..4, PKT_0 4..1028, ECC_0 1028..1055, N1
1055..2048, BBM 2048..2054, N2 2054..2085, ECC_1 2085..2112) and ECC from
bchlib directly, so that a wrong layout in the package shows up.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tangolab.nand import pattern
from tangolab.nand.check import PageCodec, PageStatus, check_image
from tangolab.nand.image import ImageError, NandImage, create_image
from tangolab.nand.layout import EccLayout, Geometry, PageLayout, compute_layout
from tangolab.nand.pattern import PatternExpectation, pattern_bytes
from tangolab.pytest_plugin import skip_or_fail

try:
    import bchlib
except ImportError:
    skip_or_fail("bchlib not installed: pip install bchlib", allow_module_level=True)

GEO = Geometry(blocks=4)  # 256 pages of 2048 + 64
SEED = 0x5EED
META = b"\x01\x02\x03\x04"
BCH = bchlib.BCH(14, prim_poly=0x8003)

# (byte, bit) positions that belong to each packet's codeword; the low 6
# bits of each ECC's last byte are pad bits outside the code
P0_BITS = [(o, b) for o in range(0, 1054) for b in range(8)] + [(1054, 7), (1054, 6)]
P1_BITS = (
    [(o, b) for o in range(1055, 2048) for b in range(8)]
    + [(o, b) for o in range(2054, 2111) for b in range(8)]
    + [(2111, 7), (2111, 6)]
)


def hand_page(data: bytes, meta: bytes = META) -> bytes:
    assert len(data) == 2048
    p1 = data[1024:]
    raw = (
        meta
        + data[:1024]
        + BCH.encode(meta + data[:1024])
        + p1[:993]
        + b"\xff" * 6
        + p1[993:]
        + BCH.encode(p1)
    )
    assert len(raw) == 2112
    return bytes(raw)


def flipped(raw: bytes, bits: list[tuple[int, int]]) -> bytes:
    out = bytearray(raw)
    for off, bit in bits:
        out[off] ^= 1 << bit
    return bytes(out)


def pat(page: int) -> bytes:
    return pattern_bytes(SEED, page, 2048)


@pytest.fixture
def layout() -> PageLayout:
    return compute_layout(GEO, EccLayout())


def test_codec_programs_like_the_hand_layout(layout: PageLayout) -> None:
    codec = PageCodec(layout)
    data = pat(3)
    assert codec.encode_page(data, META) == hand_page(data)
    assert codec.encode_page(data) == hand_page(data, b"\xff" * 4)
    with pytest.raises(ValueError, match="2047 bytes"):
        codec.encode_page(data[:-1])


def test_erased_image(tmp_path: Path, layout: PageLayout) -> None:
    path = create_image(tmp_path / "nand.img", layout)
    assert path.stat().st_size == 4 * 64 * 2112
    report = check_image(path, layout)
    summary = report.summary()
    assert summary["pages"] == 256
    assert summary["status"]["erased"] == 256
    assert sum(summary["status"].values()) == 256
    assert report.bad_blocks == []
    doc = json.loads(report.to_json())
    assert doc["pages"] == [] and doc["summary"]["status"]["erased"] == 256
    assert len(json.loads(report.to_json(all_pages=True))["pages"]) == 256


def build_mixed_image(path: Path, layout: PageLayout) -> dict[int, bytes]:
    rng = random.Random(1)
    pages: dict[int, bytes] = {}
    pages[0] = hand_page(pat(0))
    pages[1] = flipped(
        hand_page(pat(1)),
        [
            *[(0, 3), (2, 0), (100, 7), (1030, 1), (1054, 7)],  # M, PKT_0, ECC_0
            *[(1055, 0), (2047, 7), (2054, 0), (2084, 4), (2111, 6)],  # N1, N2, ECC_1
        ],
    )
    pages[2] = flipped(hand_page(pat(2)), rng.sample(P0_BITS, 14) + rng.sample(P1_BITS, 14))
    pages[3] = flipped(hand_page(pat(3)), rng.sample(P1_BITS, 15))
    for k in (15, 16, 17):
        pages[k - 11] = flipped(hand_page(pat(k - 11)), rng.sample(P0_BITS, k))  # 4, 5, 6
    erased = b"\xff" * 2112
    pages[7] = flipped(erased, rng.sample(P0_BITS, 3) + rng.sample(P1_BITS, 2))
    pages[8] = flipped(erased, rng.sample(P0_BITS, 15))
    pages[9] = hand_page(pat(10))  # valid ECC, data of another page
    full = hand_page(pat(11))
    pages[11] = full[:1500] + b"\xff" * (2112 - 1500)
    full = hand_page(pat(12))
    pages[12] = full[:2070] + b"\xff" * (2112 - 2070)
    full = hand_page(pat(13))
    pages[13] = full[:2100] + b"\xff" * 12
    full = hand_page(pat(14))
    pages[14] = full[:2111] + b"\xff"
    pages[64] = erased[:2048] + b"\x00" + erased[2049:]  # marker: block 1 bad
    marked = bytearray(hand_page(pat(130)))
    marked[2048] = 0x00  # not a first page: block 2 stays good
    pages[130] = bytes(marked)
    create_image(path, layout, pages)
    return pages


def test_page_classification(tmp_path: Path, layout: PageLayout) -> None:
    pages = build_mixed_image(tmp_path / "nand.img", layout)
    expect = PatternExpectation.for_pages(SEED, 2048, [0, 1, 2, 3, 9, 20, 130])
    report = check_image(tmp_path / "nand.img", layout, expected=expect)
    rows = {r.page: r for r in report.rows}
    S = PageStatus

    assert (rows[0].status, rows[0].packets, rows[0].bitflips) == (S.GOOD, [0, 0], 0)
    assert rows[0].metadata == META.hex() and rows[0].match is True
    assert (rows[1].status, rows[1].packets, rows[1].bitflips) == (S.CORRECTED, [5, 5], 10)
    assert rows[1].match is True and rows[1].metadata == META.hex()
    assert (rows[2].status, rows[2].packets, rows[2].bitflips) == (S.CORRECTED, [14, 14], 28)
    assert rows[2].match is True
    assert (rows[3].status, rows[3].packets) == (S.UNCORRECTABLE, [0, -1])
    assert rows[3].match is False and rows[3].mismatched_bytes
    for page in (4, 5, 6):
        assert (rows[page].status, rows[page].packets) == (S.UNCORRECTABLE, [-1, 0]), page
    assert (rows[7].status, rows[7].bitflips) == (S.ERASED_BITFLIPS, 5)
    # 15 zero bits in a packet are too many for an erased page; tail is 0xff
    assert rows[8].status is S.PARTIAL
    last = max(off for off in range(2112) if pages[8][off] != 0xFF)
    assert rows[8].programmed_end == last + 1
    assert (rows[9].status, rows[9].match) == (S.GOOD, False)
    assert rows[9].first_mismatch == 0 and rows[9].mismatched_bytes is not None
    assert rows[9].mismatched_bytes > 2000
    for page, cut in ((11, 1500), (12, 2070), (13, 2100)):
        assert rows[page].status is S.PARTIAL, page
        assert rows[page].programmed_end == len(pages[page][:cut].rstrip(b"\xff")), page
    assert rows[11].packets == [0, -1] and rows[13].packets == [0, -1]
    # only the last ECC byte unprogrammed: its 2 code bits are correctable
    assert rows[14].status is S.CORRECTED and rows[14].packets[0] == 0
    assert 0 < rows[14].packets[1] <= 2
    assert rows[64].status is S.BAD_BLOCK_MARKER and rows[64].bbm_set
    assert rows[65].status is S.ERASED
    assert (rows[130].status, rows[130].bbm_set, rows[130].match) == (S.GOOD, True, True)
    not_ff = sum(1 for b in pat(20) if b != 0xFF)
    assert (rows[20].status, rows[20].match, rows[20].mismatched_bytes) == (S.ERASED, False, not_ff)
    assert rows[10].match is None and rows[10].status is S.ERASED

    assert report.bad_blocks == [1]
    assert report.silent_mismatches == [9]
    assert report.mismatches == [3, 9, 20]
    summary = report.summary()
    assert summary["status"] == {
        "erased": 256 - 16,
        "bad-block-marker": 1,
        "good": 3,
        "corrected": 3,
        "erased-bitflips": 1,
        "partially-programmed": 4,
        "uncorrectable": 4,
    }
    assert summary["bitflips_corrected"] == 10 + 28 + rows[14].bitflips
    assert summary["max_packet_bitflips"] == 14
    assert summary["compared"] == 7
    doc = json.loads(report.to_json())
    assert len(doc["pages"]) == 16
    assert doc["ecc"]["bbm_offset"] == 2048 and doc["geometry"]["blocks"] == 4
    assert {p["page"]: p["status"] for p in doc["pages"]}[3] == "uncorrectable"


def test_image_views(tmp_path: Path, layout: PageLayout) -> None:
    pages = build_mixed_image(tmp_path / "nand.img", layout)
    with NandImage(tmp_path / "nand.img", layout) as img:
        assert img.pages == 256
        v = img.page(0)
        assert v.raw == pages[0] and v.metadata == META and v.data == pat(0)
        assert v.packet_data(1) == pat(0)[1024:]
        assert v.ecc(1) == pages[0][2085:2112]
        assert v.bbm == b"\xff" * 6 and not v.bbm_set and not v.is_erased
        assert v.codeword(0) == (META + pat(0)[:1024], pages[0][1028:1055])
        assert img.page(64).bbm_set and img.page(64).block == 1
        assert [p.page for p in img.iter_pages(250)] == list(range(250, 256))
        with pytest.raises(ImageError, match=r"page 256 not in 0\.\.255"):
            img.raw_page(256)
        with pytest.raises(ImageError, match="page range"):
            list(img.iter_pages(10, 300))


def test_wrong_sizes(tmp_path: Path, layout: PageLayout) -> None:
    path = create_image(tmp_path / "nand.img", layout)
    expected = 4 * 64 * 2112
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(ImageError, match=f"truncated.*{expected - 100} bytes.*expected {expected}"):
        NandImage(path, layout)
    path.write_bytes(data[: 2112 * 10])
    with pytest.raises(ImageError, match=r"truncated NAND image: 21120 bytes \(10 whole pages\)"):
        check_image(path, layout)
    path.write_bytes(data + b"\xff" * 2112)
    with pytest.raises(ImageError, match=f"too large.*expected {expected} = 4 blocks x 64"):
        NandImage(path, layout)
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="truncated"):
        NandImage(path, layout)
    with pytest.raises(ImageError, match="no such NAND image"):
        NandImage(tmp_path / "missing.img", layout)
    with pytest.raises(ImageError, match="not a regular file"):
        NandImage(tmp_path, layout)
    with pytest.raises(ImageError, match="2111 bytes"):
        create_image(tmp_path / "x.img", layout, {0: b"\xff" * 2111})


# Pattern test vectors: (seed, page) -> first 16 bytes. The in-guest C
# implementation must produce exactly these.
PATTERN_VECTORS = [
    (0x00000001, 0, "2120040001060804c5a8cc9d4f995512"),
    (0x00000000, 0, "19460c513e552ee03a8fb97bb5a88301"),
    (0x00000001, 1, "386608513f5326e4ff2775e6fa31d613"),
    (0x12345678, 0, "a55a9887a3245b15c4f4204898acb381"),
    (0x12345678, 1, "bc1c94d69d7175f5fe7b99332d043080"),
    (0x12345678, 65535, "2635f3052d55af09a8115a827f4281cd"),
    (0xFFFFFFFF, 7, "3229bdf99fa8f3cf0fa8e2e63e2e81cf"),
    (0x9E3779B9, 1, "19460c513e552ee03a8fb97bb5a88301"),
    (0x0000002A, 1000, "1327829bc33c65331dc15f0bc30cff9c"),
]


@pytest.mark.parametrize("seed,page,first16", PATTERN_VECTORS)
def test_pattern_vectors(seed: int, page: int, first16: str) -> None:
    assert pattern_bytes(seed, page, 16).hex() == first16


def test_pattern_properties() -> None:
    # Marsaglia's xorshift32 from state 1: 270369, 67634689, 2647435461
    words = pattern_bytes(1, 0, 12)
    assert [int.from_bytes(words[i : i + 4], "little") for i in (0, 4, 8)] == [
        270369,
        67634689,
        2647435461,
    ]
    assert pattern_bytes(7, 3, 2048)[:10] == pattern_bytes(7, 3, 10)
    assert len(pattern_bytes(7, 3, 2047)) == 2047
    assert pattern_bytes(7, 3, 64) != pattern_bytes(7, 4, 64)
    assert pattern_bytes(7, 3, 64) != pattern_bytes(8, 3, 64)
    with pytest.raises(ValueError, match="32-bit"):
        pattern_bytes(1 << 32, 0, 4)
    expect = PatternExpectation.for_pages(7, 2048, [5])
    assert expect(5) == pattern_bytes(7, 5, 2048) and expect(6) is None
    assert PatternExpectation(7, 16)(123) == pattern_bytes(7, 123, 16)


def test_pattern_c_snippet_in_docstring(tmp_path: Path) -> None:
    """The C code documented in tangolab.nand.pattern gives the vectors."""
    if shutil.which("gcc") is None:
        skip_or_fail("gcc not found")
    doc = pattern.__doc__ or ""
    snippet = doc.split("The same in C::", 1)[1].split("Test vectors", 1)[0]
    assert re.search(r"x \^= x << 13;", snippet)
    src = tmp_path / "pat.c"
    src.write_text(
        "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
        "int main(int argc, char **argv)\n{\n"
        "    uint32_t seed = strtoul(argv[1], NULL, 0);\n"
        "    uint32_t page = strtoul(argv[2], NULL, 0);\n"
        "    unsigned len = 16, i;\n    uint8_t buf[16];\n    (void)argc;\n"
        + snippet
        + '\n    for (i = 0; i < len; i++)\n        printf("%02x", buf[i]);\n'
        '    printf("\\n");\n    return 0;\n}\n'
    )
    exe = tmp_path / "pat"
    subprocess.run(["gcc", "-Wall", "-Werror", "-o", str(exe), str(src)], check=True)
    for seed, page, first16 in PATTERN_VECTORS:
        out = subprocess.run([str(exe), hex(seed), str(page)], check=True, capture_output=True)
        assert out.stdout.decode().strip() == first16, (seed, page)
