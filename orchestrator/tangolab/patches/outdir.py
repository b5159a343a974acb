# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The output directory of an export, and the record of what it wrote."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import UsageError

#: In an output directory, the list of the files an export wrote there.
OUT_RECORD = ".tangolab-patches.json"
#: The subdirectory the local patches are written to.
LOCAL_DIR = "local"


def _ours(name: object) -> bool:
    """A name an export may have written: `file` or `local/file`."""
    if not isinstance(name, str):
        return False
    parts = name.split("/")
    if len(parts) == 2 and parts[0] != LOCAL_DIR:
        return False
    return len(parts) <= 2 and all(p not in ("", ".", "..") for p in parts)


def check_out(out: Path) -> list[object]:
    """What a previous export wrote to `out` (nothing for a missing or empty
    directory), or a UsageError for a directory an export may not use."""
    record = out / OUT_RECORD
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and not record.is_file() and any(out.iterdir()):
        raise UsageError(
            f"--out {out}: directory not empty and not written by `tangolab "
            "patches export`; give a new or empty directory"
        )
    try:
        written = json.loads(record.read_text()) if record.is_file() else []
    except ValueError:
        raise UsageError(f"{record}: not a record of an export; remove it by hand") from None
    return written if isinstance(written, list) else []


def prepare_out(out: Path) -> None:
    """Make `out` ready for a new series, deleting nothing of anybody else's.

    A missing directory is created; an empty one is used. In a directory a
    previous export wrote to, the files that export wrote (and only those)
    are removed, and its `local/` subdirectory when that leaves it empty.
    Any other non-empty directory is refused (UsageError, see `check_out`).
    """
    written = check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    local_ok = not (out / LOCAL_DIR).is_symlink()
    for name in written:
        if isinstance(name, str) and _ours(name) and (local_ok or "/" not in name):
            (out / name).unlink(missing_ok=True)
    local = out / LOCAL_DIR
    if local.is_dir() and not local.is_symlink() and not any(local.iterdir()):
        local.rmdir()
    (out / OUT_RECORD).write_text("[]\n")


def record_written(out: Path, files: Iterable[Path]) -> None:
    """Note the files of `out` an export wrote (the next export replaces them)."""
    names = [f.relative_to(out).as_posix() for f in files]
    (out / OUT_RECORD).write_text(json.dumps(names) + "\n")
