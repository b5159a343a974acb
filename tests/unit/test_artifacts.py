# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The one artifact model (tangolab.build.artifacts) and the records of builds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tangolab.build.artifacts import (
    ARTIFACTS_FILE,
    NAMES,
    Artifacts,
    MissingArtifact,
    build_command,
    drop_record,
    load_artifacts,
    read_record,
    update_record,
)
from tangolab.errors import MissingArtifactError, TangolabError, UsageError
from tangolab.machine import Machine


def test_layout(tmp_path: Path) -> None:
    art = Artifacts.in_dir(tmp_path)
    assert art.paths() == {
        "qemu": tmp_path / "qemu" / "qemu-system-arm",
        "qemu_img": tmp_path / "qemu" / "qemu-img",
        "kernel": tmp_path / "linux" / "zImage",
        "dtb": tmp_path / "linux" / "tango4-qemu.dtb",
        "initrd": tmp_path / "rootfs" / "initramfs.cpio.gz",
        "ssh_key": tmp_path / "rootfs" / "ssh" / "id_ed25519",
    }
    assert tuple(art.paths()) == NAMES
    assert [build_command(n) for n in NAMES] == [
        "tangolab build qemu", "tangolab build qemu", "tangolab build kernel",
        "tangolab build kernel",
        "tangolab build rootfs", "tangolab build rootfs",
    ]  # fmt: skip
    assert art.qemu_asan == tmp_path / "qemu-asan" / "qemu-system-arm"
    assert build_command("qemu_asan") == "tangolab build qemu --sanitize"
    assert "qemu_asan" not in NAMES  # made on request only: not checked, not in info
    assert MissingArtifact is MissingArtifactError
    assert issubclass(MissingArtifactError, TangolabError)


def test_check_names_the_first_missing_file(fake_build: Path) -> None:
    art = Artifacts.in_dir(fake_build)
    art.check()
    art.dtb.unlink()
    art.check("qemu", "kernel")
    with pytest.raises(MissingArtifactError) as e:
        art.check()
    assert e.value.path == art.dtb
    assert str(e.value) == (
        f"missing build artifact {art.dtb}: run `tangolab build kernel` to make it"
    )
    art.qemu.chmod(0o644)
    with pytest.raises(TangolabError, match="is not executable"):
        art.check("qemu")


def test_with_files(fake_build: Path, tmp_path: Path) -> None:
    art = replace(Artifacts.in_dir(fake_build), versions={"kernel": {"version": "6.12.1"}})
    assert art.with_files() is art
    mine = tmp_path / "my-zImage"
    mine.write_bytes(b"mine")
    own = art.with_files(kernel=mine)
    assert own.kernel == mine and own.dtb == art.dtb and own.versions == {}
    with pytest.raises(UsageError, match=r"^initrd file .*nope: no such file$"):
        art.with_files(initrd=tmp_path / "nope")


def test_machine_boots_the_files_it_is_given(fake_build: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-zImage"
    mine.write_bytes(b"mine")
    m = Machine(Artifacts.in_dir(fake_build).with_files(kernel=mine), build=fake_build)
    argv = m.command_line()
    assert argv[argv.index("-kernel") + 1] == str(mine)
    assert argv[argv.index("-dtb") + 1] == str(fake_build / "linux" / "tango4-qemu.dtb")
    other = tmp_path / "qemu"
    m = Machine(build=fake_build, qemu=other)
    assert m.command_line()[0] == str(other)


def test_records(tmp_path: Path) -> None:
    assert read_record(tmp_path) == {}
    update_record(tmp_path, "qemu", {"version": "10.0.13", "origin": "o", "binary": "b"})
    update_record(tmp_path, "kernel", {"version": "6.12.1", "release": "6.12.1-x", "tree": "t"})
    assert load_artifacts(tmp_path).versions == {
        "qemu": {"version": "10.0.13", "origin": "o"},
        "kernel": {"version": "6.12.1", "release": "6.12.1-x", "tree": "t"},
    }
    drop_record(tmp_path, "qemu")
    drop_record(tmp_path, "rootfs")
    assert set(read_record(tmp_path)) == {"kernel"}
    assert not (tmp_path / (ARTIFACTS_FILE + ".tmp")).exists()


def test_a_broken_record_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ARTIFACTS_FILE).write_text("{broken")
    with pytest.raises(TangolabError, match="cannot read"):
        load_artifacts(tmp_path)
    (tmp_path / ARTIFACTS_FILE).write_text(json.dumps([1, 2]))
    with pytest.raises(TangolabError, match="is not a JSON object"):
        read_record(tmp_path)
