# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A newc cpio writer for initramfs images.

Written here so the image can hold device nodes and root-owned files
without root privileges, with fixed timestamps for reproducible images.
"""

from __future__ import annotations

import gzip
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Writer(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class Entry:
    name: str  # path inside the archive, no leading slash
    mode: int  # full st_mode (type and permissions)
    data: bytes = b""  # file content or symlink target
    rdev: tuple[int, int] = (0, 0)


def _header(e: Entry, ino: int, mtime: int) -> bytes:
    name = e.name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(e.mode) else 1
    fields = [
        ino,
        e.mode,
        0,
        0,
        nlink,
        mtime,
        len(e.data),
        0,
        0,
        e.rdev[0],
        e.rdev[1],
        len(name),
        0,
    ]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields) + name
    return hdr + b"\0" * (-len(hdr) % 4)


def write_cpio(out: _Writer, entries: list[Entry], mtime: int = 0) -> None:
    for ino, e in enumerate(entries, start=1):
        out.write(_header(e, ino, mtime))
        out.write(e.data + b"\0" * (-len(e.data) % 4))
    out.write(_header(Entry("TRAILER!!!", 0), 0, 0))


def entries_from_tree(root: Path, prefix: str = "") -> list[Entry]:
    """Directories, files and symlinks under root (sorted, owned by root)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(root).as_posix()
        if rel != ".":
            st = base.lstat()
            out.append(Entry(f"{prefix}{rel}", stat.S_IFDIR | (st.st_mode & 0o7777)))
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            p = base / name
            relp = p.relative_to(root).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(Entry(f"{prefix}{relp}", stat.S_IFLNK | 0o777, os.readlink(p).encode()))
            elif stat.S_ISREG(st.st_mode):
                out.append(
                    Entry(f"{prefix}{relp}", stat.S_IFREG | (st.st_mode & 0o7777), p.read_bytes())
                )
        dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
    return out


def write_initramfs(path: Path, entries: list[Entry], mtime: int = 0) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=mtime, compresslevel=6) as gz,
    ):
        write_cpio(gz, entries, mtime)
    tmp.replace(path)
