# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab debug --rr / --replay: bad input is one error line (a missing
qemu-img, a directory that is not a recording, a recording of another
build, a changed raw image, a path QEMU cannot take), before any QEMU runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tangolab.build.artifacts import Artifacts
from tangolab.cli import main
from tangolab.experiment.cells import CellSpec
from tangolab.nand.layout import Geometry
from tangolab.trace.replay import BASE, RECORDING, RRFILE, build_identity, sha256


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["debug", *argv])
    err = capsys.readouterr().err
    assert code in (1, 2), err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _recording(where: Path, build: dict[str, str]) -> Path:
    where.mkdir()
    for name in (RRFILE, "nand-record.qcow2"):
        (where / name).write_bytes(b"x")
    (where / BASE).write_bytes(b"\xff" * 64)
    meta = {
        "spec": CellSpec(policy="irq", latency_ns=20_000, seed=1, pages=1).to_dict(),
        "base": BASE,
        "blocks": 8,
        "snapshot": "rr-start",
        "snapshot_bytes": 1,
        "build": build,
        "base_sha256": sha256(where / BASE),
    }
    (where / RECORDING).write_text(json.dumps(meta))
    return where


def test_usage(capsys: pytest.CaptureFixture[str], fake_build: Path, tmp_path: Path) -> None:
    assert "give --replay DIR" in _error(capsys, "--reverse")
    assert "give one of them" in _error(capsys, "--rr", "a", "--replay", "b")
    assert "with a comma or a space" in _error(capsys, "--rr", str(tmp_path / "a,b"))
    assert not (tmp_path / "a,b").exists()
    assert "give --rr DIR" in _error(capsys, "--nand", "x.img")


def test_rr_from_a_bad_nand_image(
    capsys: pytest.CaptureFixture[str], fake_build: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rec"
    missing = tmp_path / "missing.img"
    assert f"NAND image {missing}: No such file" in _error(
        capsys, "--rr", str(out), "--nand", str(missing)
    )
    small = tmp_path / "small.img"
    small.write_bytes(b"\xff" * Geometry(blocks=4).image_size)
    assert f"NAND image {small} has 4 blocks: the cell needs at least 8" in _error(
        capsys, "--rr", str(out), "--nand", str(small)
    )
    ours = out / "nand-record.img"
    out.mkdir()
    ours.write_bytes(b"\xff" * Geometry(blocks=8).image_size)
    assert "a recording writes that file" in _error(capsys, "--rr", str(out), "--nand", str(ours))
    assert not (out / RECORDING).exists()


def test_rr_needs_qemu_img(
    capsys: pytest.CaptureFixture[str], fake_build: Path, tmp_path: Path
) -> None:
    Artifacts.in_dir(fake_build).qemu_img.unlink()
    assert _error(capsys, "--rr", str(tmp_path / "rec")) == (
        f"error: missing build artifact {fake_build}/qemu/qemu-img: "
        "run `tangolab build qemu` to make it"
    )


def test_replay_of_what_is_not_a_recording(
    capsys: pytest.CaptureFixture[str], fake_build: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nothing"
    assert f"{missing}: no such directory" in _error(capsys, "--replay", str(missing))
    assert f"{tmp_path} is not a recording (no recording.json)" in _error(
        capsys, "--replay", str(tmp_path)
    )
    (tmp_path / RECORDING).write_text("[1, 2]")
    assert "is not a recording's description" in _error(capsys, "--replay", str(tmp_path))
    ours = build_identity(Artifacts.in_dir(fake_build))
    rec = _recording(tmp_path / "rec", ours)
    (rec / BASE).unlink()
    assert f"the recording's NAND image {rec / BASE} is missing" in _error(
        capsys, "--replay", str(rec)
    )
    (rec / RRFILE).unlink()
    assert "incomplete recording: cell.rr is missing" in _error(capsys, "--replay", str(rec))


def test_replay_of_another_build_or_a_changed_image(
    capsys: pytest.CaptureFixture[str], fake_build: Path, tmp_path: Path
) -> None:
    ours = build_identity(Artifacts.in_dir(fake_build))
    other = _recording(tmp_path / "other", {**ours, "kernel": "0" * 64})
    assert f"{other} was recorded with another build (kernel differ" in _error(
        capsys, "--replay", str(other)
    )
    changed = _recording(tmp_path / "changed", ours)
    (changed / BASE).write_bytes(b"\x00" * 64)
    assert f"{changed / BASE} changed since the recording" in _error(
        capsys, "--replay", str(changed)
    )
