# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Bad input, clear error, nothing lost (issue 14): NAND images the chip
cannot take are refused in one line before QEMU starts, and stay unchanged."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tangolab.machine import Machine

BLOCK = 64 * 2112


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _boot(build: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TANGOLAB_BUILD=str(build))
    env.pop("TANGOLAB_QEMU", None)
    return subprocess.run(
        [sys.executable, "-m", "tangolab.cli", "boot", *argv, "--run", "true"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("size", "qemu_args", "message"),
    [
        (16 * BLOCK - 100, "", "not a whole number of 135168-byte blocks"),  # truncated
        (16 * BLOCK + 1, "", "not a whole number of 135168-byte blocks"),
        (0, "", "is 0 bytes"),
        (16 * 64 * (4096 + 224), "", "not a raw image of the modelled chip"),  # 4 KiB pages
        (3 * BLOCK, "", "has 3 blocks: the chip takes a power of 2 from 1 to 1024"),
        (2048 * BLOCK, "", "has 2048 blocks"),
        (16 * BLOCK, "-global onfi-nand.blocks=8", "has 16 blocks but onfi-nand.blocks=8"),
        (16 * BLOCK, "-global onfi-nand.blocks=x", "onfi-nand.blocks=x: not a number"),
    ],
)
def test_bad_images_are_refused_in_one_line_and_left_alone(
    fake_build: Path, tmp_path: Path, size: int, qemu_args: str, message: str
) -> None:
    image = tmp_path / "nand.img"
    with open(image, "wb") as f:
        f.write(os.urandom(min(size, 4096)))
        f.truncate(size)
    before = _sha(image)
    extra = ["--qemu-args", qemu_args] if qemu_args else []
    res = _boot(fake_build, "--nand", str(image), *extra)
    assert res.returncode == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if not ln.startswith("tangolab: ")]
    assert len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    assert message in errors[0]
    assert _sha(image) == before and image.stat().st_size == size
    assert list((fake_build / "runs").glob("*/qemu.stderr")) == []  # no QEMU started


def test_a_good_image_sets_the_chip_size(fake_build: Path, tmp_path: Path) -> None:
    image = tmp_path / "nand.img"
    image.write_bytes(b"\xff" * (16 * BLOCK))
    with Machine(build=fake_build, nand=image) as m:
        argv = m.command_line()
    assert "onfi-nand.blocks=16" in argv
    assert _sha(image) == hashlib.sha256(b"\xff" * (16 * BLOCK)).hexdigest()


def test_scratch_nand_is_erased_and_removed(fake_build: Path) -> None:
    with Machine(build=fake_build, scratch_nand=4) as m:
        assert m.nand == m.scratch_image
        assert m.scratch_image.read_bytes() == b"\xff" * (4 * BLOCK)
        assert "onfi-nand.blocks=4" in m.command_line()
    assert not m.scratch_image.exists()


@pytest.mark.parametrize(
    ("size", "argv", "message"),
    [
        (16 * BLOCK - 100, [], "not a whole number of blocks"),
        (16 * 64 * (4096 + 224), [], "not a whole number of blocks"),  # 4 KiB-page chip
        (16 * BLOCK, ["--blocks", "32"], "truncated NAND image"),
        (16 * BLOCK, ["--page-size", "4096", "--oob-size", "224"], ""),
    ],
)
def test_nand_check_leaves_a_bad_image_alone(
    tmp_path: Path, size: int, argv: list[str], message: str
) -> None:
    image = tmp_path / "nand.img"
    with open(image, "wb") as f:
        f.write(os.urandom(4096))
        f.truncate(size)
    before = _sha(image)
    env = dict(os.environ, TANGOLAB_BUILD=str(tmp_path / "build"))
    res = subprocess.run(
        [sys.executable, "-m", "tangolab.cli", "nand", "check", str(image), *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert _sha(image) == before and image.stat().st_size == size
