# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A private apt configuration for fetching Debian sources and packages.

Nothing here touches the system's apt state: the sources file, the package
lists, the archive cache and the (empty) dpkg status live under the build
cache. The mirror is taken from the system's own apt sources (or from
TANGOLAB_DEBIAN_MIRROR), never written into this code.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .runner import BuildError, capture, run, step

SYSTEM_SOURCES = [Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d")]
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
#: Age (s) after which the package indexes are fetched again.
INDEX_MAX_AGE = 24 * 3600
DEBIAN_CODENAMES = {
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "sid",
    "unstable",
    "stable",
    "testing",
    "oldstable",
}


@dataclass(frozen=True)
class Mirror:
    uri: str
    keyring: Path | None
    system_suite: str | None


def _deb822_entries(text: str) -> list[dict[str, str]]:
    entries = []
    for para in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in para.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields:
            entries.append(fields)
    return entries


def _one_line_entries(text: str) -> list[dict[str, str]]:
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"(deb|deb-src)\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
        if not m:
            continue
        opts = m.group(2) or ""
        signed = re.search(r"signed-by=(\S+?)[\s\]]", opts + " ")
        entry = {
            "types": m.group(1),
            "uris": m.group(3),
            "suites": m.group(4),
            "components": m.group(5),
        }
        if signed:
            entry["signed-by"] = signed.group(1)
        entries.append(entry)
    return entries


def find_system_mirror() -> Mirror:
    """The Debian archive URI from the system's apt sources."""
    override = os.environ.get("TANGOLAB_DEBIAN_MIRROR")
    if override:
        return Mirror(
            override.rstrip("/"), DEFAULT_KEYRING if DEFAULT_KEYRING.exists() else None, None
        )
    files: list[Path] = []
    for p in SYSTEM_SOURCES:
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in (".list", ".sources"))
        elif p.is_file():
            files.append(p)
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        entries = _deb822_entries(text) if f.suffix == ".sources" else _one_line_entries(text)
        for e in entries:
            if e.get("enabled", "yes").lower() == "no" or "deb" not in e.get("types", "").split():
                continue
            suites = e.get("suites", "").split()
            main_suites = [s for s in suites if s in DEBIAN_CODENAMES]
            if not main_suites or "main" not in e.get("components", "").split():
                continue
            uri = e.get("uris", "").split()[0].rstrip("/")
            keyring = Path(e["signed-by"]) if "signed-by" in e else None
            if keyring is None and DEFAULT_KEYRING.exists():
                keyring = DEFAULT_KEYRING
            return Mirror(uri, keyring, main_suites[0])
    raise BuildError(
        "no Debian archive found in the system's apt sources "
        "(/etc/apt/sources.list*); set TANGOLAB_DEBIAN_MIRROR to a Debian mirror URI"
    )


class AptRepo:
    """One private apt setup: a suite, architectures, and what to index."""

    def __init__(
        self, root: Path, mirror: Mirror, suite: str, arch: str, sources: bool, log: Path
    ) -> None:
        self.root = root
        self.mirror = mirror
        self.suite = suite
        self.arch = arch
        self.sources = sources
        self.log = log
        self.archives = root / "archives"
        for d in (root / "lists" / "partial", self.archives / "partial", root / "state"):
            d.mkdir(parents=True, exist_ok=True)
        (root / "state" / "status").touch()
        signed = f" signed-by={mirror.keyring}" if mirror.keyring else ""
        lines = [f"deb [arch={arch}{signed}] {mirror.uri} {suite} main"]
        if sources:
            lines.append(
                f"deb-src [{signed.strip()}] {mirror.uri} {suite} main"
                if signed
                else f"deb-src {mirror.uri} {suite} main"
            )
        (root / "sources.list").write_text("\n".join(lines) + "\n")

    def options(self) -> list[str]:
        r = self.root
        opts = {
            "Dir::Etc::SourceList": r / "sources.list",
            "Dir::Etc::SourceParts": "/dev/null",
            "Dir::Etc::Preferences": "/dev/null",
            "Dir::Etc::PreferencesParts": "/dev/null",
            "Dir::State::Lists": r / "lists",
            "Dir::State::status": r / "state" / "status",
            "Dir::Cache": r / "cache",
            "Dir::Cache::Archives": self.archives,
            "APT::Architecture": self.arch,
            "APT::Architectures::": self.arch,
            "APT::Install-Recommends": "false",
            "APT::Get::Assume-Yes": "true",
            "APT::Sandbox::User": "root",
            "Debug::NoLocking": "1",
        }
        out = []
        for k, v in opts.items():
            out += ["-o", f"{k}={v}"]
        return out

    def update(self) -> None:
        """Fetch the indexes, unless they were fetched less than INDEX_MAX_AGE ago.

        A new Debian point release thus reaches the build within a day. When
        a refresh fails but older indexes exist, those are used (with a note).
        """
        stamp = self.root / "updated"
        if stamp.exists() and time.time() - stamp.stat().st_mtime < INDEX_MAX_AGE:
            return
        step(
            f"fetching the Debian {self.suite} {self.arch} "
            f"{'source' if self.sources else 'package'} indexes"
        )
        try:
            run(
                ["apt-get", *self.options(), "update"],
                log=self.log,
                title=f"apt update ({self.suite}/{self.arch})",
            )
            out = self.log.read_text(errors="replace")
            last = out[out.rfind("$ apt-get") :]
            if re.search(r"^(E|W): Failed to fetch", last, re.M):
                raise BuildError(
                    f"apt could not fetch the {self.suite} {self.arch} index",
                    log=self.log,
                    tail="\n".join(last.splitlines()[-8:]),
                )
        except BuildError as e:
            if not stamp.exists():
                raise
            when = time.strftime("%Y-%m-%d", time.localtime(stamp.stat().st_mtime))
            step(f"[yellow]{e.message}; using the index of {when}[/]")
            return
        stamp.touch()

    def source_versions(self, package: str) -> list[str]:
        out = capture(["apt-cache", *self.options(), "showsrc", package])
        return sorted(set(re.findall(r"^Version: (\S+)", out, re.M)), key=version_key)

    def binary_versions(self, package: str) -> list[str]:
        out = capture(["apt-cache", *self.options(), "show", package])
        return sorted(set(re.findall(r"^Version: (\S+)", out, re.M)), key=version_key)

    def download_source(self, package: str, version: str, dest: Path) -> Path:
        """Download a source package into dest; return its .dsc."""
        dest.mkdir(parents=True, exist_ok=True)
        dsc = dest / f"{package}_{strip_epoch(version)}.dsc"
        if not dsc.exists():
            step(f"downloading source package {package} {version}")
            run(
                ["apt-get", *self.options(), "source", "--download-only", f"{package}={version}"],
                cwd=dest,
                log=self.log,
                title=f"download source {package} {version}",
            )
        return dsc

    def download_binary(self, package: str, version: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        found = list(dest.glob(f"{package}_*{strip_epoch(version).split(':')[-1]}*.deb"))
        if not found:
            step(f"downloading {package} {version}")
            run(
                ["apt-get", *self.options(), "download", f"{package}={version}"],
                cwd=dest,
                log=self.log,
                title=f"download {package} {version}",
            )
            found = list(dest.glob(f"{package}_*.deb"))
        if not found:
            raise BuildError(f"apt did not leave {package} {version} in {dest}", log=self.log)
        return found[0]

    def download_closure(self, packages: list[str]) -> list[Path]:
        """Download packages and everything they depend on (no recommends)."""
        run(
            ["apt-get", *self.options(), "--download-only", "install", *packages],
            log=self.log,
            title=f"download {self.arch} packages",
        )
        out = capture(["apt-get", *self.options(), "-s", "install", *packages])
        debs = []
        missing = []
        for name, version in re.findall(r"^Inst (\S+) \((\S+) ", out, re.M):
            name = name.split(":", 1)[0]
            found = sorted(self.archives.glob(f"{name}_{version.replace(':', '%3a')}_*.deb"))
            if found:
                debs.append(found[0])
            else:
                missing.append(f"{name} {version}")
        if missing or not debs:
            raise BuildError(
                "apt did not download every package: " + ", ".join(missing), log=self.log
            )
        return debs


def strip_epoch(version: str) -> str:
    return version.split(":", 1)[-1]


def _compare(a: str, b: str) -> int:
    if a == b:
        return 0
    lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode
    return -1 if lt == 0 else 1


version_key = functools.cmp_to_key(_compare)


def pick_series(versions: list[str], series: str) -> str | None:
    """The newest version whose upstream part starts with series (e.g. '10.0.')."""
    matching = [v for v in versions if strip_epoch(v).startswith(series)]
    return max(matching, key=version_key) if matching else None
