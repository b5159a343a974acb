# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The build's artifacts: where each one is, which build target makes it, and
artifacts.json, the record of what the completed builds produced and from
which exact upstreams.

This is the one description of the artifacts: the build steps write them
where `Artifacts.in_dir` says, and `Machine`, `tangolab info`, the pytest
plugin and the benchmarks read them from there.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import MissingArtifactError, TangolabError, UsageError

ARTIFACTS_FILE = "artifacts.json"

#: artifact -> (path inside the build directory, build target that makes it)
LAYOUT: dict[str, tuple[str, str]] = {
    "qemu": ("qemu/qemu-system-arm", "qemu"),
    "qemu_img": ("qemu/qemu-img", "qemu"),
    "kernel": ("linux/zImage", "kernel"),
    "dtb": ("linux/tango4-qemu.dtb", "kernel"),
    "initrd": ("rootfs/initramfs.cpio.gz", "rootfs"),
    "ssh_key": ("rootfs/ssh/id_ed25519", "rootfs"),
    "qemu_asan": ("qemu-asan/qemu-system-arm", "qemu --sanitize"),
}
#: Artifacts made only on request (QEMU with ASan and UBSan, for the tests).
OPTIONAL = ("qemu_asan",)
#: The artifacts `tangolab build all` makes.
NAMES = tuple(name for name in LAYOUT if name not in OPTIONAL)
#: The artifacts a boot needs (the SSH key only with SSH).
BOOT = ("qemu", "kernel", "dtb", "initrd")
#: Keys of a build target's record that `tangolab info` reports as its version.
VERSION_KEYS = ("version", "origin", "tree", "release", "userland")

#: The name tests/system/conftest.py imports; the class is `MissingArtifactError`.
MissingArtifact = MissingArtifactError


def build_command(name: str) -> str:
    """The command that makes artifact `name`."""
    return f"tangolab build {LAYOUT[name][1]}"


@dataclass(frozen=True)
class Artifacts:
    """The files a tango4 boot uses, and the versions they were built from.

    `qemu_asan` is the optional sanitized QEMU (`tangolab build qemu
    --sanitize`); `paths` and `check` cover `NAMES` only.

    `versions` maps each build target (qemu, kernel, rootfs) whose build
    completed to its record's version fields; it is empty for files that did
    not come from a recorded build.
    """

    qemu: Path
    qemu_img: Path
    kernel: Path
    dtb: Path
    initrd: Path
    ssh_key: Path
    qemu_asan: Path
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def in_dir(cls, build: Path) -> Artifacts:
        """The artifact paths of a build directory (nothing is read)."""
        return cls(
            qemu=build / LAYOUT["qemu"][0],
            qemu_img=build / LAYOUT["qemu_img"][0],
            kernel=build / LAYOUT["kernel"][0],
            dtb=build / LAYOUT["dtb"][0],
            initrd=build / LAYOUT["initrd"][0],
            ssh_key=build / LAYOUT["ssh_key"][0],
            qemu_asan=build / LAYOUT["qemu_asan"][0],
        )

    def paths(self) -> dict[str, Path]:
        """Artifact name -> path, in `NAMES` order."""
        return {
            "qemu": self.qemu,
            "qemu_img": self.qemu_img,
            "kernel": self.kernel,
            "dtb": self.dtb,
            "initrd": self.initrd,
            "ssh_key": self.ssh_key,
        }

    def with_files(
        self,
        *,
        qemu: Path | None = None,
        kernel: Path | None = None,
        dtb: Path | None = None,
        initrd: Path | None = None,
    ) -> Artifacts:
        """These artifacts with some files replaced by the user's own.

        A replaced file must exist (`UsageError` otherwise); the versions of
        the build no longer describe the files, so they are dropped.
        """
        given = {"qemu": qemu, "kernel": kernel, "dtb": dtb, "initrd": initrd}
        own = {name: Path(p).expanduser().absolute() for name, p in given.items() if p}
        for name, path in own.items():
            if not path.is_file():
                raise UsageError(f"{name} file {path}: no such file")
        if not own:
            return self
        return replace(self, versions={}, **own)

    def check(self, *names: str) -> None:
        """Raise MissingArtifactError for the first named artifact that is
        absent (all of them if none is named); QEMU must be executable."""
        paths = self.paths()
        for name in names or NAMES:
            path = paths[name]
            if not path.is_file():
                raise MissingArtifactError(path, build_command(name))
            if name in ("qemu", "qemu_img") and not os.access(path, os.X_OK):
                raise TangolabError(f"{path} is not executable")


def read_record(build_dir: Path) -> dict[str, Any]:
    """artifacts.json: build target -> record of its last completed build."""
    try:
        data = json.loads((build_dir / ARTIFACTS_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise TangolabError(f"cannot read {build_dir / ARTIFACTS_FILE}: {e}") from None
    if not isinstance(data, dict):
        raise TangolabError(f"{build_dir / ARTIFACTS_FILE} is not a JSON object")
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _write_record(build_dir: Path, data: dict[str, Any]) -> None:
    build_dir.mkdir(parents=True, exist_ok=True)
    tmp = build_dir / (ARTIFACTS_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(build_dir / ARTIFACTS_FILE)


#: the parts build side by side (threads): one change of the record at a time
_record_lock = threading.Lock()


def update_record(build_dir: Path, part: str, info: dict[str, Any]) -> None:
    """Record a completed build of `part`."""
    with _record_lock:
        data = read_record(build_dir)
        data[part] = info
        _write_record(build_dir, data)


def drop_record(build_dir: Path, part: str) -> None:
    """Forget `part`'s record: a build of it starts, its files will change."""
    with _record_lock:
        data = read_record(build_dir)
        if part in data:
            del data[part]
            _write_record(build_dir, data)


def load_artifacts(build_dir: Path) -> Artifacts:
    """The artifacts of build_dir, with the versions of its completed builds."""
    versions = {
        part: {k: rec[k] for k in VERSION_KEYS if k in rec}
        for part, rec in read_record(build_dir).items()
    }
    return replace(Artifacts.in_dir(build_dir), versions=versions)
