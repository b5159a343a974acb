# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Pristine upstream trees: QEMU 10.0.x and Linux 6.12.y from Debian trixie.

QEMU comes from Debian's source package `qemu` (dpkg-source applies
Debian's patches, which the +ds tarball needs to build); Linux from the
binary package `linux-source-6.12`. Both are unpacked once into the cache
and never modified. A user may point the build at their own trees instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .apt import AptRepo, Mirror, find_system_mirror, pick_series, strip_epoch
from .runner import BuildError, run, step

QEMU_SERIES = "10.0."
LINUX_SERIES = "6.12."
LINUX_PACKAGE = "linux-source-6.12"
DEBIAN_SUITE = "trixie"


@dataclass(frozen=True)
class SourceTree:
    path: Path
    version: str  # upstream version, e.g. 10.0.13 or 6.12.117
    origin: str  # where it came from, for `tangolab info`

    def record(self) -> dict[str, str]:
        """What a work tree made from this tree records about it."""
        return {"tree": str(self.path), "version": self.version, "origin": self.origin}


class Upstreams:
    """Access to the pinned upstreams through a private apt configuration."""

    def __init__(self, cache: Path, log: Path, suite: str = DEBIAN_SUITE) -> None:
        self.cache = cache
        self.log = log
        self.suite = suite
        self._mirror: Mirror | None = None
        self._src_repo: AptRepo | None = None
        # QEMU's and the kernel's builds fetch side by side: one index update
        self._lock = threading.RLock()

    @property
    def mirror(self) -> Mirror:
        with self._lock:
            if self._mirror is None:
                self._mirror = find_system_mirror()
            return self._mirror

    def source_repo(self) -> AptRepo:
        with self._lock:
            return self._source_repo()

    def _source_repo(self) -> AptRepo:
        if self._src_repo is None:
            repo = AptRepo(
                self.cache / "apt" / f"{self.suite}-src",
                self.mirror,
                self.suite,
                "amd64",
                sources=True,
                log=self.log,
            )
            repo.update()
            self._src_repo = repo
        return self._src_repo

    def userland_repo(self) -> tuple[AptRepo, str]:
        """The armhf repository for the guest userland, and a note on it.

        The trixie armhf index is used when the mirror serves a consistent
        one; if it cannot be fetched, the system's own suite is used and the
        note says so (it ends up in artifacts.json).
        """
        repo = AptRepo(
            self.cache / "apt" / f"{self.suite}-armhf",
            self.mirror,
            self.suite,
            "armhf",
            sources=False,
            log=self.log,
        )
        try:
            repo.update()
            return repo, f"Debian {self.suite} armhf"
        except BuildError as err:
            fallback = self.mirror.system_suite
            if not fallback or fallback == self.suite:
                raise
            step(f"[yellow]{self.suite} armhf index unavailable, using {fallback} armhf[/]")
            repo = AptRepo(
                self.cache / "apt" / f"{fallback}-armhf",
                self.mirror,
                fallback,
                "armhf",
                sources=False,
                log=self.log,
            )
            repo.update()
            reason = err.message
            return repo, f"Debian {fallback} armhf ({self.suite} armhf index unavailable: {reason})"

    def qemu(self, user_tree: Path | None) -> SourceTree:
        if user_tree:
            return user_source_tree(user_tree, "QEMU", "VERSION", lambda t: t.strip())
        repo = self.source_repo()
        version = pick_series(repo.source_versions("qemu"), QEMU_SERIES)
        if not version:
            raise BuildError(f"no qemu {QEMU_SERIES}x source package in Debian {self.suite}")
        dest = self.cache / "src" / f"qemu-{strip_epoch(version)}"
        if not (dest / "VERSION").exists():
            dl = self.cache / "downloads" / "qemu"
            dsc = repo.download_source("qemu", version, dl)
            step(f"unpacking QEMU {version} (Debian patches applied)")
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            dest.parent.mkdir(parents=True, exist_ok=True)
            run(
                ["dpkg-source", "--no-check", "-x", dsc, tmp],
                log=self.log,
                title="dpkg-source -x qemu",
            )
            tmp.rename(dest)
        upstream = (dest / "VERSION").read_text().strip()
        return SourceTree(dest, upstream, f"Debian {self.suite} source package qemu {version}")

    def linux(self, user_tree: Path | None) -> SourceTree:
        if user_tree:
            return user_source_tree(user_tree, "Linux", "Makefile", kernel_version)
        repo = self.source_repo()
        version = pick_series(repo.binary_versions(LINUX_PACKAGE), LINUX_SERIES)
        if not version:
            raise BuildError(f"no {LINUX_PACKAGE} {LINUX_SERIES}y package in Debian {self.suite}")
        dest = self.cache / "src" / f"linux-{strip_epoch(version)}"
        if not (dest / "Makefile").exists():
            deb = repo.download_binary(LINUX_PACKAGE, version, self.cache / "downloads" / "linux")
            step(f"unpacking {LINUX_PACKAGE} {version}")
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            _unpack_linux_source(deb, tmp, self.log)
            tmp.rename(dest)
        upstream = kernel_version((dest / "Makefile").read_text())
        return SourceTree(dest, upstream, f"Debian {self.suite} package {LINUX_PACKAGE} {version}")


def _unpack_linux_source(deb: Path, dest: Path, log: Path) -> None:
    tarball = f"./usr/src/{LINUX_PACKAGE}.tar.xz"
    with open(log, "ab") as logf:
        fsys = subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=logf
        )
        assert fsys.stdout is not None
        inner = subprocess.Popen(
            ["tar", "-xO", tarball], stdin=fsys.stdout, stdout=subprocess.PIPE, stderr=logf
        )
        fsys.stdout.close()
        assert inner.stdout is not None
        untar = subprocess.run(
            ["tar", "-xJ", "--strip-components=1", "-C", str(dest)],
            stdin=inner.stdout,
            stderr=logf,
            check=False,
        )
        inner.stdout.close()
        rcs = (fsys.wait(), inner.wait(), untar.returncode)
    if any(rcs):
        raise BuildError(f"unpacking {deb.name} failed (exit statuses {rcs})", log=log)


def kernel_version(makefile: str) -> str:
    fields = dict(
        re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION) = ?(.*)$", makefile, re.M)
    )
    missing = [k for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL") if k not in fields]
    if missing:
        raise BuildError(f"its Makefile sets no {missing[0]}")
    fields.setdefault("EXTRAVERSION", "")
    return "{VERSION}.{PATCHLEVEL}.{SUBLEVEL}{EXTRAVERSION}".format(**fields).strip()


def user_source_tree(path: Path, what: str, marker: str, parse: Callable[[str], str]) -> SourceTree:
    """A user's own source tree (--qemu-src, --linux-src); UsageError if it is none."""
    path = path.expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"{what} source tree {path}: no such directory")
    f = path / marker
    if not f.is_file():
        raise UsageError(f"{path} is not a {what} source tree: it has no {marker}")
    try:
        version = parse(f.read_text(errors="replace"))
    except BuildError as e:
        raise UsageError(f"{path} is not a {what} source tree: {e.message}") from None
    return SourceTree(path, version, f"user tree {path}")
