# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Export the guest kernel changes as a `git format-patch` series.

Each line of guest/patches/series becomes one commit on top of the pinned
pristine Linux tree: the patch mail is applied with `git am` and the new
files listed after it (from guest/linux/) are added to the same commit. The
series is then written with `git format-patch` and checked with the
kernel's checkpatch.pl --strict. Applying every patch to a clean tree is
part of the export, so a successful export proves the series applies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .build import make_context
from .build.overlay import read_series
from .build.runner import BuildError, capture, run, step
from .errors import UsageError

#: In an output directory, the list of the files an export wrote there.
OUT_RECORD = ".tangolab-patches.json"

IDENT = ["-c", "user.name=tangolab", "-c", "user.email=tangolab@users.noreply.invalid"]


@dataclass
class ExportResult:
    patches: list[Path]
    checkpatch: dict[str, str]  # patch name -> checkpatch summary line
    clean: bool


def _git(repo: Path, *args: str, log: Path) -> None:
    run(["git", *IDENT, *args], cwd=repo, log=log, title=f"git {args[0]}")


def _base_repo(pristine: Path, cache: Path, version: str, log: Path) -> Path:
    repo = cache / "export" / f"linux-{version}"
    if not (repo / ".git").exists():
        step(f"export: making a git tree of Linux {version} (once)")
        shutil.rmtree(repo, ignore_errors=True)
        repo.parent.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", "--reflink=auto", pristine, repo], log=log, title="copy the Linux tree")
        _git(repo, "init", "-q", log=log)
        _git(repo, "add", "-f", "-A", log=log)
        _git(repo, "commit", "-q", "-m", f"Linux {version}", log=log)
        _git(repo, "tag", "-f", "tangolab-base", log=log)
    if (repo / ".git" / "rebase-apply").exists():
        _git(repo, "am", "--abort", log=log)
    _git(repo, "checkout", "-q", "-f", "-B", "tangolab", "tangolab-base", log=log)
    _git(repo, "clean", "-q", "-f", "-d", "-x", log=log)
    return repo


def prepare_out(out: Path) -> None:
    """Make `out` ready for a new series, deleting nothing of anybody else's.

    A missing directory is created; an empty one is used. In a directory a
    previous export wrote to, the files that export wrote (and only those)
    are removed. Any other non-empty directory is refused (UsageError).
    """
    record = out / OUT_RECORD
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and not record.is_file() and any(out.iterdir()):
        raise UsageError(
            f"--out {out}: directory not empty and not written by `tangolab "
            "patches export`; give a new or empty directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = json.loads(record.read_text()) if record.is_file() else []
    except ValueError:
        raise UsageError(f"{record}: not a record of an export; remove it by hand") from None
    for name in written if isinstance(written, list) else []:
        if isinstance(name, str) and "/" not in name and name not in ("", ".", ".."):
            (out / name).unlink(missing_ok=True)
    record.write_text("[]\n")


def export(out: Path, check: bool = True) -> ExportResult:
    """Export the series into `out` (see `prepare_out`), checked unless not `check`."""
    prepare_out(out)
    ctx = make_context()
    log = ctx.logs / "export.log"
    src = ctx.upstreams.linux(ctx.linux_src)
    guest = ctx.repo / "guest"
    series = read_series(guest / "patches")
    if not series:
        raise BuildError("guest/patches/series lists no patches")
    repo = _base_repo(src.path, ctx.cache, src.version, log)
    for patch, files in series:
        step(f"export: {patch.name}")
        _git(repo, "am", "-q", "--keep-cr", str(patch), log=log)
        if files:
            for rel in files:
                srcf = guest / "linux" / rel
                if not srcf.is_file():
                    raise BuildError(f"series: {patch.name} lists {rel}, missing in guest/linux")
                dst = repo / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(srcf, dst)
            _git(repo, "add", "-f", *files, log=log)
            _git(repo, "commit", "-q", "--amend", "--no-edit", log=log)
    printed = capture(
        ["git", *IDENT, "format-patch", "-o", out, "tangolab-base..tangolab"], cwd=repo
    )
    names = [Path(line).name for line in printed.splitlines() if line.strip()]
    (out / OUT_RECORD).write_text(json.dumps(names) + "\n")
    patches = [out / n for n in names]
    results: dict[str, str] = {}
    clean = True
    if check:
        for p in patches:
            argv = ["perl", "scripts/checkpatch.pl", "--strict", str(p)]
            try:
                res = subprocess.run(argv, cwd=repo, capture_output=True, text=True, check=False)
            except OSError as e:
                raise BuildError(f"cannot run perl: {e.strerror}", command=argv) from None
            summary = next(
                (line for line in res.stdout.splitlines() if line.startswith("total:")),
                res.stdout.strip()[-200:],
            )
            results[p.name] = summary
            if res.returncode != 0:
                clean = False
                with open(log, "a") as f:
                    f.write(f"\ncheckpatch {p.name}:\n{res.stdout}")
    return ExportResult(patches, results, clean)
