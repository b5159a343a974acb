# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""What every build step needs: where things are, and stamps of inputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sources import Upstreams


@dataclass
class BuildContext:
    repo: Path
    build: Path
    cache: Path
    qemu_src: Path | None = None
    linux_src: Path | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    _upstreams: Upstreams | None = None
    # QEMU's and the kernel's builds run in threads: one Upstreams for both
    # (it serialises the apt index updates), made once
    _upstreams_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    @property
    def logs(self) -> Path:
        d = self.build / "logs"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def upstreams(self) -> Upstreams:
        with self._upstreams_lock:
            if self._upstreams is None:
                self._upstreams = Upstreams(self.cache, self.logs / "fetch.log")
            return self._upstreams

    def ccache_env(self) -> dict[str, str]:
        if not shutil.which("ccache"):
            return {}
        ccache = os.environ.get("TANGOLAB_CCACHE")
        ccache_dir = Path(ccache).expanduser().absolute() if ccache else self.cache / "ccache"
        return {
            "CCACHE_DIR": str(ccache_dir),
            "CCACHE_BASEDIR": str(self.build),
            "CCACHE_NOHASHDIR": "1",
            "CCACHE_MAXSIZE": "5G",
        }

    def stamp_path(self, name: str) -> Path:
        return self.build / "stamps" / f"{name}.json"

    def read_stamp(self, name: str) -> dict[str, Any] | None:
        p = self.stamp_path(name)
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_stamp(self, name: str, data: dict[str, Any]) -> None:
        p = self.stamp_path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def digest_paths(paths: list[Path], extra: str = "") -> str:
    """A content hash of files (recursively for directories) and a string."""
    h = hashlib.sha256(extra.encode())
    for p in paths:
        files = (
            sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
            if p.is_dir()
            else ([p] if p.is_file() else [])
        )
        for f in files:
            rel = f.relative_to(p).as_posix() if p.is_dir() else ""
            h.update(f"{p.name}/{rel}".encode() + b"\0")
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()
