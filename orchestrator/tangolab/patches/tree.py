# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The git trees of an export: a pristine base and a work clone of it.

The base is a bare repository holding one commit, the pristine Linux (or
QEMU) tree, tagged `tangolab-base`; it is made once per version in the cache and
never changed after. Each build directory works in its own clone of it
(`git clone --shared`: the objects stay in the base), so two checkouts of
tangolab can export at the same time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

from ..build.runner import run, step

BASE_TAG = "tangolab-base"


def tool_env() -> dict[str, str]:
    """PATH with the directory of this Python first: dtschema and yamllint
    for the bindings, ply and GitPython for checkpatch's SPDX check, in the
    virtual environment tangolab runs from."""
    path = os.environ.get("PATH", "")
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{path}"}


def git(repo: Path, *args: str, log: Path, ident: tuple[str, str] | None = None) -> None:
    """Run git in `repo` (as `ident` = (name, mail) for commits and sign-offs)."""
    name, mail = ident or ("tangolab", "tangolab@users.noreply.invalid")
    cfg = ["-c", f"user.name={name}", "-c", f"user.email={mail}"]
    run(["git", *cfg, *args], cwd=repo, log=log, title=f"git {args[0]}")


def base_repo(pristine: Path, cache: Path, name: str, log: Path) -> Path:
    """The bare repository of the pristine tree `name` (e.g. linux-6.12.117),
    made once, under a lock."""
    base = cache / "export" / f"{name}.git"
    base.parent.mkdir(parents=True, exist_ok=True)
    with open(base.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "refs" / "tags" / BASE_TAG).is_file():
            step(f"export: making a git repository of {name} (once)")
            tmp = base.with_name(base.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            run(["git", "init", "-q", "--bare", tmp], log=log, title="git init")
            both = ["--git-dir", str(tmp), "--work-tree", str(pristine)]
            git(pristine, *both, "add", "-f", "-A", log=log)
            git(pristine, *both, "commit", "-q", "-m", name, log=log)
            git(pristine, *both, "tag", BASE_TAG, log=log)
            shutil.rmtree(base, ignore_errors=True)
            tmp.rename(base)
    return base


def work_clone(base: Path, work: Path, log: Path) -> Path:
    """`work`, a clone of `base` checked out at the base commit on branch
    `tangolab`, with every file that is not the base's removed."""
    alternates = work / ".git" / "objects" / "info" / "alternates"
    if not alternates.is_file() or base.resolve() / "objects" != Path(
        alternates.read_text().strip()
    ):
        shutil.rmtree(work, ignore_errors=True)
        work.parent.mkdir(parents=True, exist_ok=True)
        step(f"export: checking out a work tree in {work} (once)")
        run(
            ["git", "clone", "-q", "--shared", "--no-checkout", os.fspath(base), work],
            log=log,
            title="git clone",
        )
    if (work / ".git" / "rebase-apply").exists():
        git(work, "am", "--abort", log=log)
    git(work, "checkout", "-q", "-f", "-B", "tangolab", BASE_TAG, log=log)
    git(work, "clean", "-q", "-f", "-d", "-x", log=log)
    return work
