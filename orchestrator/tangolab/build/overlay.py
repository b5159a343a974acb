# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Keep a work tree equal to pristine upstream + our patches + our files.

The work tree is copied from the pristine tree once (again when the
pristine tree changes: it records which one it was made from). On every build the
wanted content of each file we own (files touched by a patch, files of the
overlay) is computed away from the work tree, and only files whose content
differs are written, so a change to one model file makes ninja or make
rebuild only what depends on it. Files we owned before and no longer do are
restored from the pristine tree (or removed if pristine has none).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .runner import BuildError, run
from .sources import SourceTree

MANIFEST = ".tangolab-owned.json"
SOURCE_RECORD = ".tangolab-source.json"
_PATCH_PATH = re.compile(r"^\+\+\+ b/(\S+)|^--- a/(\S+)", re.M)


#: A comment line of a series file that starts its local section.
LOCAL_MARKER = re.compile(r"^#\s*local\b")


@dataclass(frozen=True)
class SeriesEntry:
    """One line of a series file: a patch mail, the overlay files that belong
    to its commit, and whether it comes after the `# local` marker."""

    patch: Path
    files: list[str]
    local: bool


def read_series_entries(patch_dir: Path) -> list[SeriesEntry]:
    """Parse a series file: one patch per line, optionally followed by the
    overlay files that belong to that patch's commit (used on export).

    `#` starts a comment. A comment line beginning with `# local` starts the
    local section: the patches after it are built like the others but are
    not part of the series posted upstream (`tangolab patches export`).
    """
    series = patch_dir / "series"
    if not series.exists():
        return []
    out: list[SeriesEntry] = []
    local_at = 0
    seen: set[str] = set()
    for lineno, raw in enumerate(series.read_text().splitlines(), 1):
        if LOCAL_MARKER.match(raw.strip()):
            if local_at:
                raise BuildError(
                    f"{series}:{lineno}: a second `# local` marker (the first is on line "
                    f"{local_at}); the local section runs to the end of the file"
                )
            local_at = lineno
            continue
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, *files = line.split()
        patch = patch_dir / name
        if "/" in name:
            raise BuildError(f"{series}:{lineno}: {name}: a patch is named by its file name")
        if not patch.is_file():
            raise BuildError(f"{series}:{lineno}: no patch {name}")
        if name in seen:
            raise BuildError(f"{series}:{lineno}: {name} is listed twice")
        seen.add(name)
        out.append(SeriesEntry(patch, files, bool(local_at)))
    return out


def read_series(patch_dir: Path) -> list[tuple[Path, list[str]]]:
    """Every patch of a series file (local ones too) with its overlay files,
    in order: what a build applies (see `read_series_entries`)."""
    return [(e.patch, e.files) for e in read_series_entries(patch_dir)]


def patched_paths(patch: Path) -> set[str]:
    paths = set()
    for m in _PATCH_PATH.finditer(patch.read_text(errors="replace")):
        p = m.group(1) or m.group(2)
        if p and p != "/dev/null":
            paths.add(p)
    return paths


def overlay_files(overlay: Path, exclude: set[str]) -> dict[str, Path]:
    files = {}
    for f in sorted(overlay.rglob("*")):
        rel = f.relative_to(overlay).as_posix()
        if f.is_file() and rel not in exclude and "__pycache__" not in rel:
            files[rel] = f
    return files


def wanted_content(
    pristine: Path, patches: list[Path], overlay: dict[str, Path], log: Path
) -> dict[str, bytes]:
    """Apply patches to copies of just the files they touch; add overlay files.

    A patch may change an overlay file (the local test layer of a driver):
    it applies to the overlay's version of that file."""
    want: dict[str, bytes] = {}
    touched: set[str] = set()
    for p in patches:
        touched |= patched_paths(p)
    with tempfile.TemporaryDirectory(prefix="tangolab-patch-") as tmp:
        t = Path(tmp)
        for rel in touched:
            src = overlay.get(rel, pristine / rel)
            if src.is_file():
                (t / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, t / rel)
        for p in patches:
            argv = [
                "patch",
                "-p1",
                "--batch",
                "--forward",
                "--no-backup-if-mismatch",
                "-d",
                str(t),
                "-i",
                str(p),
            ]
            try:
                res = subprocess.run(argv, capture_output=True, text=True, check=False)
            except OSError as e:
                raise BuildError(
                    f"cannot run patch: {e.strerror} (install the Debian package patch)",
                    command=argv,
                ) from None
            with open(log, "a") as logf:
                logf.write(f"\n$ patch -p1 -i {p}\n{res.stdout}{res.stderr}")
            if res.returncode != 0:
                raise BuildError(
                    f"patch {p.name} does not apply to {pristine}",
                    log=log,
                    tail=(res.stdout + res.stderr).strip()[-2000:],
                )
        for rel in touched:
            f = t / rel
            if f.is_file():
                want[rel] = f.read_bytes()
    for rel, src in overlay.items():
        if rel not in want:
            want[rel] = src.read_bytes()
    return want


def work_tree_source(work: Path) -> dict[str, str] | None:
    """What a work tree records about the pristine tree it was copied from."""
    try:
        data = json.loads((work / SOURCE_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sync_tree(
    source: SourceTree,
    work: Path,
    patches: list[Path],
    overlay: dict[str, Path],
    log: Path,
    *,
    derived: Sequence[Path] = (),
) -> list[str]:
    """Bring work up to date; return the files that were (re)written.

    The work tree records the pristine tree (path, version, origin) it was
    copied from. When that is not `source` (another --linux-src, a new Debian
    point release), the work tree is made again from `source`, and the
    `derived` directories (the object trees built from it) are removed:
    a copied tree keeps its files' old times, which make and ninja would
    take for "older than the objects".
    """
    if work_tree_source(work) != source.record() or not (work / MANIFEST).exists():
        for d in (work, *derived):
            if d.exists() or d.is_symlink():
                shutil.rmtree(d)
        work.parent.mkdir(parents=True, exist_ok=True)
        tmp = work.with_name(work.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        run(
            ["cp", "-a", "--reflink=auto", f"{source.path}/.", tmp],
            log=log,
            title=f"copy {source.path}",
        )
        (tmp / MANIFEST).write_text("[]")
        (tmp / SOURCE_RECORD).write_text(json.dumps(source.record(), indent=2) + "\n")
        tmp.rename(work)
    pristine = source.path
    before = set(json.loads((work / MANIFEST).read_text()))
    want = wanted_content(pristine, patches, overlay, log)
    changed = []
    for rel in sorted(before - want.keys()):
        dst, src = work / rel, pristine / rel
        if src.is_file():
            shutil.copyfile(src, dst)  # a fresh mtime, so it is rebuilt
        elif dst.exists():
            dst.unlink()
        changed.append(rel)
    for rel, data in sorted(want.items()):
        dst = work / rel
        if dst.is_file() and dst.read_bytes() == data:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        changed.append(rel)
    (work / MANIFEST).write_text(json.dumps(sorted(want)))
    return changed
