# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The private apt configuration (tangolab.build.apt): the system's sources in
both formats, index queries and version picking. apt-get and apt-cache are
replaced by scripts that print what the real ones print."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tangolab.build import apt
from tangolab.build.apt import (
    AptRepo,
    Mirror,
    _deb822_entries,
    _one_line_entries,
    find_system_mirror,
    pick_series,
    strip_epoch,
    version_key,
)
from tangolab.errors import BuildError
from tangolab.pytest_plugin import skip_or_fail

DEB822 = """\
# Debian main
Types: deb deb-src
URIs: http://deb.example.invalid/debian/
Suites: trixie trixie-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.invalid/debian-security
Suites: trixie-security
Components: main
Enabled: no
Description: a folded
 field continues here
"""

ONE_LINE = """\
deb http://ftp.example.invalid/debian bookworm main # trailing comment
# deb http://commented.invalid/debian bookworm main
deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://arch.invalid/debian trixie main non-free
deb-src http://src.invalid/debian trixie main
not a sources line
"""


def test_deb822_paragraphs() -> None:
    first, second = _deb822_entries(DEB822)
    assert first["types"] == "deb deb-src"
    assert first["uris"] == "http://deb.example.invalid/debian/"
    assert first["suites"] == "trixie trixie-updates"
    assert first["signed-by"] == "/usr/share/keyrings/debian-archive-keyring.gpg"
    assert second["enabled"] == "no"
    assert second["description"] == "a folded field continues here"


def test_one_line_sources() -> None:
    entries = _one_line_entries(ONE_LINE)
    assert entries == [
        {"types": "deb", "uris": "http://ftp.example.invalid/debian", "suites": "bookworm",
         "components": "main"},
        {"types": "deb", "uris": "http://arch.invalid/debian", "suites": "trixie",
         "components": "main non-free", "signed-by": "/etc/apt/keyrings/x.gpg"},
        {"types": "deb-src", "uris": "http://src.invalid/debian", "suites": "trixie",
         "components": "main"},
    ]  # fmt: skip


def _sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text)
    monkeypatch.setattr(apt, "SYSTEM_SOURCES", [tmp_path / "sources.list", d])
    monkeypatch.setattr(apt, "DEFAULT_KEYRING", tmp_path / "no-keyring.gpg")
    monkeypatch.delenv("TANGOLAB_DEBIAN_MIRROR", raising=False)


def test_mirror_from_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _sources(tmp_path, monkeypatch, {"debian.sources": DEB822, "ignored.txt": ONE_LINE})
    assert find_system_mirror() == Mirror(
        "http://deb.example.invalid/debian",
        Path("/usr/share/keyrings/debian-archive-keyring.gpg"),
        "trixie",
    )


def test_mirror_from_one_line_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _sources(tmp_path, monkeypatch, {"a.list": "deb http://ppa.invalid/x noble main\n",
                                     "b.list": ONE_LINE})  # fmt: skip
    assert find_system_mirror() == Mirror("http://ftp.example.invalid/debian", None, "bookworm")


def test_mirror_override_and_none_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_main = DEB822.replace("Components: main contrib", "Components: contrib")
    _sources(tmp_path, monkeypatch, {"x.sources": no_main})
    with pytest.raises(BuildError, match="TANGOLAB_DEBIAN_MIRROR"):
        find_system_mirror()
    monkeypatch.setenv("TANGOLAB_DEBIAN_MIRROR", "http://mine.invalid/debian/")
    assert find_system_mirror() == Mirror("http://mine.invalid/debian", None, None)


def _dpkg() -> None:
    if shutil.which("dpkg") is None:
        skip_or_fail("dpkg not found: versions are compared with dpkg --compare-versions")


def test_version_order_and_series() -> None:
    _dpkg()
    versions = ["1:10.0.2+ds-1", "1:10.0.13+ds-1", "1:10.0.13+ds-1~bpo1", "1:10.1.0+ds-1",
                "1:9.2.0+ds-1"]  # fmt: skip
    assert sorted(versions, key=version_key) == [
        "1:9.2.0+ds-1", "1:10.0.2+ds-1", "1:10.0.13+ds-1~bpo1", "1:10.0.13+ds-1", "1:10.1.0+ds-1",
    ]  # fmt: skip
    assert pick_series(versions, "10.0.") == "1:10.0.13+ds-1"
    assert pick_series(versions, "11.") is None
    assert pick_series(["6.12.57-1", "6.12.117-1", "6.1.150-1"], "6.12.") == "6.12.117-1"
    assert strip_epoch("1:10.0.13+ds-1") == "10.0.13+ds-1"
    assert strip_epoch("6.12.1-1") == "6.12.1-1"


SHOWSRC = """\
Package: qemu
Binary: qemu-system, qemu-utils
Version: 1:10.0.2+ds-2
Format: 3.0 (quilt)

Package: qemu
Version: 1:10.0.13+ds-1
Files:
 abc 123 qemu_10.0.13+ds.orig.tar.xz
"""

SIMULATE = """\
NOTE: This is only a simulation!
Inst libc6 (2.41-12 Debian:13.1/stable [armhf])
Inst busybox (1:1.37.0-6+b3 Debian:13.1/stable [armhf])
Conf libc6 (2.41-12 Debian:13.1/stable [armhf])
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AptRepo:
    """An AptRepo whose apt-get and apt-cache are scripts printing canned answers."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (tmp_path / "showsrc.txt").write_text(SHOWSRC)
    (tmp_path / "simulate.txt").write_text(SIMULATE)
    scripts = {
        "apt-cache": f'echo "$*" >> {tmp_path}/calls\ncat {tmp_path}/showsrc.txt\n',
        "apt-get": (
            f'echo "$*" >> {tmp_path}/calls\n'
            f'case "$*" in\n'
            f'  *" -s install "*) cat {tmp_path}/simulate.txt ;;\n'
            f'  *" update") [ -e {tmp_path}/offline ] && echo "E: Failed to fetch x" ; true ;;\n'
            f"esac\n"
        ),
    }
    for name, body in scripts.items():
        (bindir / name).write_text("#!/bin/sh\n" + body)
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    mirror = Mirror("http://deb.example.invalid/debian", Path("/k.gpg"), "trixie")
    return AptRepo(tmp_path / "apt", mirror, "trixie", "armhf", sources=True,
                   log=tmp_path / "fetch.log")  # fmt: skip


def test_private_configuration(repo: AptRepo) -> None:
    assert (repo.root / "sources.list").read_text() == (
        "deb [arch=armhf signed-by=/k.gpg] http://deb.example.invalid/debian trixie main\n"
        "deb-src [signed-by=/k.gpg] http://deb.example.invalid/debian trixie main\n"
    )
    opts = repo.options()
    assert f"Dir::State::status={repo.root / 'state' / 'status'}" in opts
    assert "APT::Install-Recommends=false" in opts
    assert (repo.root / "state" / "status").read_text() == ""


def test_source_versions_from_the_index(repo: AptRepo) -> None:
    _dpkg()
    assert repo.source_versions("qemu") == ["1:10.0.2+ds-2", "1:10.0.13+ds-1"]
    assert "showsrc qemu" in (repo.root.parent / "calls").read_text()


def test_download_closure_finds_every_simulated_package(repo: AptRepo) -> None:
    for name in ("libc6_2.41-12_armhf.deb", "busybox_1%3a1.37.0-6+b3_armhf.deb"):
        (repo.archives / name).write_bytes(b"!<arch>\n")
    debs = repo.download_closure(["busybox"])
    assert [d.name for d in debs] == ["libc6_2.41-12_armhf.deb",
                                      "busybox_1%3a1.37.0-6+b3_armhf.deb"]  # fmt: skip
    (repo.archives / "libc6_2.41-12_armhf.deb").unlink()
    with pytest.raises(BuildError, match=r"apt did not download every package: libc6 2\.41-12"):
        repo.download_closure(["busybox"])


def test_index_is_fetched_again_after_a_day(
    repo: AptRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = tmp_path / "calls"
    repo.update()
    repo.update()
    assert calls.read_text().count(" update") == 1
    stamp = repo.root / "updated"
    old = time.time() - apt.INDEX_MAX_AGE - 60
    os.utime(stamp, (old, old))
    repo.update()
    assert calls.read_text().count(" update") == 2
    # offline with a stale index: the old one is used, saying so
    os.utime(stamp, (old, old))
    (tmp_path / "offline").touch()
    repo.update()
    assert "apt could not fetch the trixie armhf index; using the index of" in (
        capsys.readouterr().err
    )
    # offline with no index at all: an error
    stamp.unlink()
    with pytest.raises(BuildError, match="apt could not fetch the trixie armhf index"):
        repo.update()
