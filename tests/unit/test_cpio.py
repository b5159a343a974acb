# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The initramfs writer (tangolab.build.cpio): archives read back by an
independent parser and by the cpio tool."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

from cpio_reader import read_newc

from tangolab.build.cpio import Entry, entries_from_tree, write_cpio, write_initramfs
from tangolab.pytest_plugin import skip_or_fail

ENTRIES = [
    Entry("dev", stat.S_IFDIR | 0o755),
    Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
    Entry("init", stat.S_IFREG | 0o755, b"#!/bin/sh\nexec sh\n"),
    Entry("etc/odd-size", stat.S_IFREG | 0o644, b"12345"),
    Entry("bin", stat.S_IFLNK | 0o777, b"usr/bin"),
    Entry("empty", stat.S_IFREG | 0o600),
]


def test_newc_round_trip() -> None:
    buf = io.BytesIO()
    write_cpio(buf, ENTRIES, mtime=1234)
    data = buf.getvalue()
    assert len(data) % 4 == 0
    members = read_newc(data)
    assert [(m.name, m.mode, m.data, m.rdev) for m in members] == [
        (e.name, e.mode, e.data, e.rdev) for e in ENTRIES
    ]
    assert {m.mtime for m in members} == {1234}
    assert {(m.uid, m.gid) for m in members} == {(0, 0)}
    assert len({m.ino for m in members}) == len(members)
    assert [m.nlink for m in members] == [2, 1, 1, 1, 1, 1]


def test_initramfs_is_reproducible_and_the_cpio_tool_reads_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a.cpio.gz", tmp_path / "b.cpio.gz"
    write_initramfs(a, ENTRIES, mtime=1764000000)
    write_initramfs(b, ENTRIES, mtime=1764000000)
    assert a.read_bytes() == b.read_bytes()
    assert not (tmp_path / "a.cpio.gz.tmp").exists()
    if shutil.which("cpio") is None:
        skip_or_fail("cpio not found (Debian package cpio)")
    listing = subprocess.run(["cpio", "-t", "--quiet"], input=gzip.decompress(a.read_bytes()),
                             capture_output=True, check=True)  # fmt: skip
    assert listing.stdout.decode().split() == [e.name for e in ENTRIES]
    out = tmp_path / "x"
    out.mkdir()
    regular = [e for e in ENTRIES if not stat.S_ISCHR(e.mode)]
    archive = io.BytesIO()
    write_cpio(archive, regular)
    subprocess.run(["cpio", "-i", "-d", "--quiet", "--no-absolute-filenames"], cwd=out,
                   input=archive.getvalue(), check=True)  # fmt: skip
    assert (out / "init").read_bytes() == b"#!/bin/sh\nexec sh\n"
    assert (out / "init").stat().st_mode & 0o777 == 0o755
    assert (out / "etc" / "odd-size").read_bytes() == b"12345"
    assert os.readlink(out / "bin") == "usr/bin"
    assert (out / "empty").read_bytes() == b""


def test_entries_from_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "sh").write_bytes(b"ELF")
    (root / "usr" / "bin" / "sh").chmod(0o755)
    (root / "bin").symlink_to("usr/bin")  # a symlinked directory is a link, not descended
    (root / "etc").mkdir()
    (root / "etc" / "shadow").write_text("root::")
    (root / "etc" / "shadow").chmod(0o600)
    got = {e.name: e for e in entries_from_tree(root)}
    assert sorted(got) == ["bin", "etc", "etc/shadow", "usr", "usr/bin", "usr/bin/sh"]
    assert got["bin"].mode == stat.S_IFLNK | 0o777 and got["bin"].data == b"usr/bin"
    assert got["usr/bin/sh"].mode == stat.S_IFREG | 0o755 and got["usr/bin/sh"].data == b"ELF"
    assert got["etc/shadow"].mode == stat.S_IFREG | 0o600
    assert stat.S_ISDIR(got["usr"].mode)
    names = [e.name for e in entries_from_tree(root)]
    assert names.index("usr") < names.index("usr/bin") < names.index("usr/bin/sh")
