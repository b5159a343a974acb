# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A reader of newc cpio archives for the tests, written from the format's
description (cpio(5)), independent of tangolab.build.cpio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    name: str
    ino: int
    mode: int
    uid: int
    gid: int
    nlink: int
    mtime: int
    rdev: tuple[int, int]
    data: bytes


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def read_newc(archive: bytes) -> list[Member]:
    """The members of a newc archive, up to the TRAILER!!! entry (which must be there)."""
    out = []
    pos = 0
    while True:
        header = archive[pos : pos + 110]
        if len(header) < 110 or header[:6] != b"070701":
            raise ValueError(f"no newc header at offset {pos}")
        f = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        ino, mode, uid, gid, nlink, mtime, size, _, _, rmaj, rmin, namesize, check = f
        if check != 0:
            raise ValueError(f"check field {check} in a newc header")
        name_end = pos + 110 + namesize
        if archive[name_end - 1] != 0:
            raise ValueError("name not NUL-terminated")
        name = archive[pos + 110 : name_end - 1].decode()
        data_start = _pad4(name_end)
        data = archive[data_start : data_start + size]
        pos = _pad4(data_start + size)
        if name == "TRAILER!!!":
            return out
        out.append(Member(name, ino, mode, uid, gid, nlink, mtime, (rmaj, rmin), data))
