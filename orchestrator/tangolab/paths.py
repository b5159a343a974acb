# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Where tangolab finds its checkout, its build tree and its download cache."""

from __future__ import annotations

import os
from pathlib import Path

from tangolab.errors import TangolabError


def _is_repo(path: Path) -> bool:
    return (path / "orchestrator" / "tangolab").is_dir()


def repo_root() -> Path:
    """The git checkout that contains ``orchestrator/``.

    The package normally runs from the checkout (``pip install -e``); when it
    was installed elsewhere, the current directory and its parents are tried.
    """
    here = Path(__file__).resolve().parent.parent.parent
    if _is_repo(here):
        return here
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if _is_repo(candidate):
            return candidate
    raise TangolabError(
        "cannot find the tangolab checkout (a directory containing orchestrator/tangolab): "
        "run from inside it, or set TANGOLAB_BUILD"
    )


def build_dir() -> Path:
    """$TANGOLAB_BUILD, or ``<repo>/build``."""
    env = os.environ.get("TANGOLAB_BUILD")
    if env:
        return Path(env).expanduser().absolute()
    return repo_root() / "build"


def cache_dir() -> Path:
    """$TANGOLAB_CACHE, or ``~/.cache/tangolab``."""
    env = os.environ.get("TANGOLAB_CACHE")
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "tangolab"


def runs_dir(build: Path | None = None) -> Path:
    """Directory holding one run directory per (named) machine instance."""
    return (build if build is not None else build_dir()) / "runs"
