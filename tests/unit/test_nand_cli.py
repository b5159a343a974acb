# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab nand check` and `tangolab nand new` on synthetic images.

Pages are programmed here with tangolab.nand's PageCodec (bchlib) and the
pattern of the guest tool, then damaged the way the models damage them (bit
flips, a program cut short, the wrong data, a bad-block marker).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tangolab.cli import main
from tangolab.nand.check import PageCodec
from tangolab.nand.image import create_image
from tangolab.nand.layout import EccLayout, Geometry, PageLayout, compute_layout
from tangolab.nand.pattern import pattern_bytes
from tangolab.pytest_plugin import skip_or_fail

try:
    import bchlib  # noqa: F401 - the ECC codec needs it
except ImportError:
    skip_or_fail("bchlib not installed: pip install bchlib", allow_module_level=True)

BLOCKS = 2
GEO = Geometry(blocks=BLOCKS)  # 128 pages
SEED = 0x5EED


@pytest.fixture(scope="module")
def layout() -> PageLayout:
    return compute_layout(GEO, EccLayout())


@pytest.fixture(scope="module")
def codec(layout: PageLayout) -> PageCodec:
    return PageCodec(layout)


def programmed(codec: PageCodec, page: int, seed: int = SEED) -> bytes:
    return codec.encode_page(pattern_bytes(seed, page, GEO.page_size))


def flip(raw: bytes, *bits: tuple[int, int]) -> bytes:
    out = bytearray(raw)
    for offset, bit in bits:
        out[offset] ^= 1 << bit
    return bytes(out)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["nand", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(capsys, "check", "--json", *argv)
    assert err == ""
    data: dict[str, object] = json.loads(out)
    return code, data


# --- nand new -------------------------------------------------------------------------


def test_new_writes_an_erased_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "nand.img"
    code, out, err = run(capsys, "new", str(img), "--blocks", "4")
    assert (code, err) == (0, "")
    data = img.read_bytes()
    assert len(data) == 4 * 64 * 2112
    assert data.count(0xFF) == len(data)
    assert "onfi-nand.blocks=4" in out
    code, out, err = run(capsys, "check", str(img))
    assert code == 0 and "erased 256" in out


def test_new_default_is_the_full_chip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "full.img"
    assert run(capsys, "new", str(img))[0] == 0
    assert img.stat().st_size == 138412032  # HARDWARE.md: 1024 * 64 * 2112
    with img.open("rb") as f:
        f.seek(138412032 - 4096)
        assert f.read() == b"\xff" * 4096


def test_new_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "x.img"
    img.write_bytes(b"keep")
    code, out, err = run(capsys, "new", str(img), "--blocks", "1")
    assert out == ""
    assert code == 2 and "exists" in err and "--force" in err
    assert img.read_bytes() == b"keep"
    assert run(capsys, "new", str(img), "--blocks", "1", "--force")[0] == 0
    assert img.stat().st_size == 64 * 2112
    for blocks in ("3", "2048"):
        code, _, err = run(capsys, "new", str(tmp_path / "y.img"), "--blocks", blocks)
        assert code == 2 and "power of 2 from 1 to 1024" in err
    code, _, err = run(capsys, "new", str(tmp_path / "no" / "dir.img"), "--blocks", "1")
    assert code == 2 and "no such directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.img"]  # no temporary left


# --- nand check -----------------------------------------------------------------------


def test_check_good_and_corrected_pages_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: PageCodec
) -> None:
    img = tmp_path / "good.img"
    pages = {p: programmed(codec, p) for p in range(64, 70)}
    pages[66] = flip(pages[66], (10, 1), (500, 7), (2100, 0))  # packet 0 twice, packet 1 once
    create_image(img, codec.layout, pages)
    code, data = check_json(capsys, str(img), "--expect-seed", hex(SEED), "--expect-pages", "64-69")
    assert code == 0
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["status"]["good"] == 5 and summary["status"]["corrected"] == 1
    assert summary["compared"] == 6 and summary["mismatched_pages"] == []
    assert data["ok"] is True and data["failed_pages"] == []
    rows = {r["page"]: r for r in data["pages"]}  # type: ignore[attr-defined]
    assert sorted(rows) == list(range(64, 70))
    assert rows[66]["status"] == "corrected" and rows[66]["packets"] == [2, 1]
    code, out, _ = run(capsys, "check", str(img), "--expect-seed", str(SEED),
                       "--expect-pages", "64-69")  # fmt: skip
    assert code == 0
    assert "corrected" in out and "OK" in out and "6 pages compared, 0 mismatched" in out


@pytest.mark.parametrize(
    "damage,status",
    [
        ("uncorrectable", "uncorrectable"),
        ("partial", "partially-programmed"),
        ("other-seed", "good"),
    ],
)
def test_check_failures_exit_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    codec: PageCodec,
    damage: str,
    status: str,
) -> None:
    img = tmp_path / "bad.img"
    pages = {p: programmed(codec, p) for p in range(0, 4)}
    if damage == "uncorrectable":
        pages[2] = flip(pages[2], *[(8 + 3 * i, 2) for i in range(15)])  # 15 > strength 14
    elif damage == "partial":
        pages[2] = pages[2][:700] + b"\xff" * (GEO.raw_page_size - 700)
    else:
        pages[2] = programmed(codec, 2, seed=SEED + 1)
    create_image(img, codec.layout, pages)
    code, data = check_json(capsys, str(img), "--expect-seed", str(SEED), "--expect-pages", "0-3")
    assert code == 1
    assert data["failed_pages"] == [2] and data["ok"] is False
    rows = {r["page"]: r for r in data["pages"]}  # type: ignore[attr-defined]
    assert rows[2]["status"] == status and rows[2]["match"] is False
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["silent_mismatches"] == ([2] if damage == "other-seed" else [])
    code, out, _ = run(capsys, "check", str(img), "--expect-seed", str(SEED),
                       "--expect-pages", "0-3", "--only-problems")  # fmt: skip
    assert code == 1
    assert "FAILED: 1 page(s): 2" in out
    table_pages = [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert table_pages == ["2"]


def test_check_status_alone_decides_without_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: PageCodec
) -> None:
    img = tmp_path / "silent.img"
    create_image(img, codec.layout, {5: programmed(codec, 5, seed=1)})
    assert run(capsys, "check", str(img))[0] == 0  # decodes fine: no expectation, no failure
    assert run(capsys, "check", str(img), "--expect-seed", "2", "--expect-pages", "5")[0] == 1


def test_erased_pages_expected_to_hold_data_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: PageCodec
) -> None:
    img = tmp_path / "lost.img"
    create_image(img, codec.layout, {p: programmed(codec, p) for p in (0, 1, 3)})
    code, data = check_json(capsys, str(img), "--expect-seed", str(SEED), "--expect-pages", "0-3")
    assert code == 1 and data["failed_pages"] == [2]


def test_bad_block_marker_and_erased_bitflips_are_not_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: PageCodec
) -> None:
    img = tmp_path / "bbm.img"
    erased = b"\xff" * GEO.raw_page_size
    pages = {64: erased[:2048] + b"\x00" + erased[2049:], 10: flip(erased, (7, 0), (1500, 3))}
    create_image(img, codec.layout, pages)
    code, data = check_json(capsys, str(img), "--only-problems")
    assert code == 0
    assert [(r["page"], r["status"]) for r in data["pages"]] == [  # type: ignore[attr-defined]
        (10, "erased-bitflips"),
        (64, "bad-block-marker"),
    ]
    code, out, _ = run(capsys, "check", str(img))
    assert code == 0 and "bad blocks: 1" in out


def test_listing_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: PageCodec
) -> None:
    img = tmp_path / "list.img"
    create_image(img, codec.layout, {3: programmed(codec, 3)})
    _, data = check_json(capsys, str(img))
    assert [r["page"] for r in data["pages"]] == [3]  # type: ignore[attr-defined]
    _, data = check_json(capsys, str(img), "--all")
    assert len(data["pages"]) == GEO.pages  # type: ignore[arg-type]
    _, data = check_json(capsys, str(img), "--only-problems")
    assert data["pages"] == []


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--expect-pages", "0-3"], "--expect-pages needs --expect-seed"),
        (["--expect-seed", "1", "--expect-pages", "0-128"], "pages 0..127 only"),
        (["--expect-seed", "1", "--expect-pages", "5-3"], "ends before it starts"),
        (["--expect-seed", "1", "--expect-pages", "a-b"], "expected A-B"),
        (["--blocks", "4"], "expected 540672"),
        (["--strength", "33"], "strength 33 not in 1..32"),
        (["--step", "1000"], "does not divide"),
        (["--only-problems", "--all"], "exclude each other"),
    ],
)
def test_check_usage_errors_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    layout: PageLayout,
    argv: list[str],
    message: str,
) -> None:
    img = create_image(tmp_path / "u.img", layout)
    code, out, err = run(capsys, "check", str(img), *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_check_malformed_images_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: PageLayout
) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "missing.img"))
    assert code == 2 and "no such NAND image" in err
    img = create_image(tmp_path / "t.img", layout)
    with img.open("r+b") as f:
        f.truncate(GEO.image_size - 100)
    code, _, err = run(capsys, "check", str(img))
    assert code == 2 and "not a whole number of blocks" in err
    code, _, err = run(capsys, "check", str(img), "--blocks", "2")
    assert code == 2 and "truncated NAND image" in err
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code == 2 and "not a regular file" in err


# --- the guest tool's pattern (guest/tools/tangonand.c) ------------------------------

TANGONAND_C = Path(__file__).resolve().parents[2] / "guest" / "tools" / "tangonand.c"
WARNINGS = ["-O2", "-Wall", "-Wextra", "-Werror"]


@pytest.fixture(scope="module")
def tangonand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tangonand built for the host (it only needs the Linux uapi headers)."""
    if shutil.which("gcc") is None:
        skip_or_fail("gcc not found: cannot build guest/tools/tangonand.c for the host")
    exe = tmp_path_factory.mktemp("tangonand") / "tangonand"
    subprocess.run(["gcc", *WARNINGS, "-o", str(exe), str(TANGONAND_C)], check=True)
    return exe


def tool(exe: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=30)


# the vectors of tests/unit/test_nand_check.py (pattern.py's definition)
VECTORS = [
    (0x00000001, 0, "2120040001060804c5a8cc9d4f995512"),
    (0x00000000, 0, "19460c513e552ee03a8fb97bb5a88301"),
    (0x12345678, 65535, "2635f3052d55af09a8115a827f4281cd"),
    (0xFFFFFFFF, 7, "3229bdf99fa8f3cf0fa8e2e63e2e81cf"),
    (0x9E3779B9, 1, "19460c513e552ee03a8fb97bb5a88301"),
]


@pytest.mark.parametrize("seed,page,first16", VECTORS)
def test_tangonand_pattern_vectors(tangonand: Path, seed: int, page: int, first16: str) -> None:
    assert pattern_bytes(seed, page, 16).hex() == first16
    res = tool(tangonand, "pattern", "--seed", hex(seed), "--page", str(page))
    assert res.returncode == 0, res.stderr
    assert res.stdout == first16 + "\n"


def test_tangonand_pattern_matches_pattern_py(tangonand: Path) -> None:
    rng = random.Random(20260)
    cases = [(0, 0, 2048), (5, 0xFFFFFFFF, 2048), (0xDEADBEEF, 4095, 7), (1, 1, 1), (3, 3, 0)]
    cases += [(rng.getrandbits(32), rng.randrange(1 << 32), 2048) for _ in range(12)]
    for seed, page, length in cases:
        res = tool(tangonand, "pattern", "--seed", str(seed), "--page", str(page),
                   "--len", str(length))  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == pattern_bytes(seed, page, length).hex(), (seed, page, length)


@pytest.mark.parametrize(
    "argv,message",
    [
        ([], "usage"),
        (["frob"], "unknown command 'frob'"),
        (["pattern", "--seed", "1"], "needs --seed and --page"),
        (["pattern", "--seed", "0x100000000", "--page", "0"], "larger than 4294967295"),
        (["pattern", "--seed", "-1", "--page", "0"], "not a non-negative number"),
        (["pattern", "--seed", "1x", "--page", "0"], "not a number"),
        (["write", "--dev", "/dev/null", "--start-page", "0", "--pages", "1"],
         "needs --dev, --seed"),
        (["verify", "--dev", "/dev/null", "--seed", "1", "--start-page", "0", "--pages", "0"],
         "at least 1"),
        (["read", "--dev", "/dev/null", "--start-page", "0", "--pages", "1", "--bogus"],
         "bad option"),
        (["read", "--dev", "/dev/null", "--start-page", "0", "--pages", "1"],
         "/dev/null is not an MTD device"),
        (["read", "--dev", "/nonexistent/mtd", "--start-page", "0", "--pages", "1"],
         "cannot open /nonexistent/mtd"),
    ],
)  # fmt: skip
def test_tangonand_usage_errors_exit_2(tangonand: Path, argv: list[str], message: str) -> None:
    res = tool(tangonand, *argv)
    assert res.returncode == 2
    assert message in res.stderr, res.stderr
    assert "summary:" not in res.stdout


def test_tangonand_cross_compiles_like_the_rootfs_step(tmp_path: Path) -> None:
    cc = "arm-linux-gnueabihf-gcc"
    if shutil.which(cc) is None:
        skip_or_fail(f"{cc} not found")
    exe = tmp_path / "tangonand"
    res = subprocess.run([cc, *WARNINGS, "-static", "-o", str(exe), str(TANGONAND_C)],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert exe.read_bytes()[:4] == b"\x7fELF"
