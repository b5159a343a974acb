# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""artifacts.json: what the build produced, from which exact upstreams."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACTS_FILE = "artifacts.json"

# Which build command makes each artifact, for error messages.
MAKES = {"qemu": "tangolab build qemu", "kernel": "tangolab build kernel",
         "dtb": "tangolab build kernel", "initrd": "tangolab build rootfs",
         "ssh_key": "tangolab build rootfs"}


class MissingArtifact(Exception):
    """An artifact is not built; str() says which file and how to make it."""


@dataclass(frozen=True)
class Artifacts:
    qemu: Path
    kernel: Path
    dtb: Path
    initrd: Path
    ssh_key: Path
    versions: dict[str, Any] = field(default_factory=dict)

    def check(self, *names: str) -> None:
        """Raise MissingArtifact for the first named artifact that is absent."""
        for name in names or tuple(MAKES):
            path = getattr(self, name)
            if not Path(path).exists():
                raise MissingArtifact(f"{name} is missing ({path}): run `{MAKES[name]}`")


def default_paths(build_dir: Path) -> dict[str, Path]:
    return {"qemu": build_dir / "qemu" / "qemu-system-arm",
            "kernel": build_dir / "linux" / "zImage",
            "dtb": build_dir / "linux" / "tango4-qemu.dtb",
            "initrd": build_dir / "rootfs" / "initramfs.cpio.gz",
            "ssh_key": build_dir / "rootfs" / "ssh" / "id_ed25519"}


def read_record(build_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((build_dir / ARTIFACTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_record(build_dir: Path, part: str, info: dict[str, Any]) -> None:
    data = read_record(build_dir)
    data[part] = info
    build_dir.mkdir(parents=True, exist_ok=True)
    tmp = build_dir / (ARTIFACTS_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(build_dir / ARTIFACTS_FILE)


def load_artifacts(build_dir: Path) -> Artifacts:
    """Artifacts of build_dir (paths are the defaults; versions from the record)."""
    rec = read_record(build_dir)
    versions = {k: {kk: v.get(kk) for kk in ("version", "origin", "release", "userland")
                    if kk in v}
                for k, v in rec.items() if isinstance(v, dict)}
    return Artifacts(versions=versions, **default_paths(build_dir))
