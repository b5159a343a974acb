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

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .build import make_context
from .build.overlay import read_series
from .build.runner import BuildError, run, step

IDENT = ["-c", "user.name=tangolab", "-c", "user.email=tangolab@users.noreply.invalid"]


@dataclass
class ExportResult:
    patches: list[Path]
    checkpatch: dict[str, str]   # patch name -> checkpatch summary line
    clean: bool


def _git(repo: Path, *args: str, log: Path) -> None:
    run(["git", *IDENT, *args], cwd=repo, log=log, title=f"git {args[0]}")


def _base_repo(pristine: Path, cache: Path, version: str, log: Path) -> Path:
    repo = cache / "export" / f"linux-{version}"
    if not (repo / ".git").exists():
        step(f"export: making a git tree of Linux {version} (once)")
        shutil.rmtree(repo, ignore_errors=True)
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(pristine), str(repo)], check=True)
        _git(repo, "init", "-q", log=log)
        _git(repo, "add", "-f", "-A", log=log)
        _git(repo, "commit", "-q", "-m", f"Linux {version}", log=log)
        _git(repo, "tag", "-f", "tangolab-base", log=log)
    if (repo / ".git" / "rebase-apply").exists():
        _git(repo, "am", "--abort", log=log)
    _git(repo, "checkout", "-q", "-f", "-B", "tangolab", "tangolab-base", log=log)
    _git(repo, "clean", "-q", "-f", "-d", "-x", log=log)
    return repo


def export(out: Path, check: bool = True) -> ExportResult:
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
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _git(repo, "format-patch", "-q", "-o", str(out), "tangolab-base..tangolab", log=log)
    patches = sorted(out.glob("*.patch"))
    results: dict[str, str] = {}
    clean = True
    if check:
        for p in patches:
            res = subprocess.run(["perl", "scripts/checkpatch.pl", "--strict", str(p)],
                                 cwd=repo, capture_output=True, text=True, check=False)
            summary = next((line for line in res.stdout.splitlines()
                            if line.startswith("total:")), res.stdout.strip()[-200:])
            results[p.name] = summary
            if res.returncode != 0:
                clean = False
                with open(log, "a") as f:
                    f.write(f"\ncheckpatch {p.name}:\n{res.stdout}")
    return ExportResult(patches, results, clean)
