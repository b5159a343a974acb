# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Build the guest initramfs.

Debian armhf packages (guest/rootfs/packages and what they depend on) are
unpacked, documentation is left out, guest/rootfs/files and the init are
laid on top, the in-guest tools (guest/tools/*.c) are cross-compiled, the
kernel's modules are added, and root gets an SSH key generated for this
build directory.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .artifacts import Artifacts, drop_record
from .context import BuildContext, digest_paths
from .cpio import Entry, entries_from_tree, write_initramfs
from .kernel import CROSS
from .runner import BuildError, run, step

SKIP_PREFIXES = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bug",
    "usr/share/bash-completion",
    "usr/share/gcc",
    "usr/share/gdb",
    "usr/share/common-licenses",
    "usr/include",
)
SOURCE_DATE = 1764000000  # fixed timestamp for reproducible images


def _ssh_key(key: Path) -> str:
    """Create (once) the key root logs in with; return the public key line."""
    pub = key.with_name(key.name + ".pub")
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.parent.chmod(0o700)
        priv = Ed25519PrivateKey.generate()
        data = priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        key.write_bytes(data)
        key.chmod(0o600)
        line = priv.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        pub.write_text(line.decode() + " tangolab\n")
    return pub.read_text()


def _packages(recipe: Path) -> list[str]:
    return [w for line in recipe.read_text().splitlines() for w in line.split("#", 1)[0].split()]


def _unpack(debs: list[Path], dest: Path, log: Path) -> None:
    for deb in debs:
        run(["dpkg-deb", "-x", deb, dest], log=log, title=f"unpack {deb.name}")
    for rel in SKIP_PREFIXES:
        shutil.rmtree(dest / rel, ignore_errors=True)
    # merged /usr: trixie packages ship only under usr/
    for d in ("bin", "sbin", "lib"):
        if not (dest / d).exists() and not (dest / d).is_symlink():
            (dest / "usr" / d).mkdir(parents=True, exist_ok=True)
            (dest / d).symlink_to(f"usr/{d}")


def _inside(root: Path, rel: str) -> Path:
    """root/rel with symlinked directories of the image resolved inside root."""
    p = root
    for part in Path(rel).parts:
        p = p / part
        if p.is_symlink():
            target = Path(str(p.readlink()))
            p = (p.parent / target) if not target.is_absolute() else root / target.relative_to("/")
    return p


def _build_tools(ctx: BuildContext, dest: Path, log: Path) -> list[str]:
    tools = sorted((ctx.repo / "guest" / "tools").glob("*.c"))
    cc = f"{CROSS}gcc"
    if tools and not shutil.which(cc):
        raise BuildError(f"{cc} not found: install gcc-arm-linux-gnueabihf")
    built = []
    for src in tools:
        out = dest / src.stem
        run(
            [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-static", "-o", out, src],
            log=log,
            title=f"compile {src.name}",
        )
        built.append(src.stem)
    return built


def build_rootfs(ctx: BuildContext, kernel_info: dict[str, Any]) -> dict[str, Any]:
    art = Artifacts.in_dir(ctx.build)
    image = art.initrd
    out = image.parent
    log = ctx.logs / "rootfs.log"
    recipe = ctx.repo / "guest" / "rootfs"
    modules = Path(kernel_info["modules"])
    pubkey = _ssh_key(art.ssh_key)
    digest = digest_paths(
        [recipe, ctx.repo / "guest" / "tools", modules],
        extra=pubkey + str(kernel_info.get("release")),
    )
    stamp = ctx.read_stamp("rootfs")
    info: dict[str, Any] = {
        "initramfs": str(image),
        "ssh_key": str(art.ssh_key),
        "kernel_release": kernel_info.get("release"),
    }
    if stamp and stamp.get("digest") == digest and image.exists():
        step("root file system: up to date")
        info.update(stamp.get("info", {}))
        return info

    drop_record(ctx.build, "rootfs")

    repo, suite_note = ctx.upstreams.userland_repo()
    packages = _packages(recipe / "packages")
    step(f"root file system: {', '.join(packages)} from {suite_note}")
    debs = repo.download_closure(packages)
    staging = out / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _unpack(debs, staging, log)

    for d in ("proc", "sys", "dev", "tmp", "run", "root", "mnt", "etc", "var/log"):
        (staging / d).mkdir(parents=True, exist_ok=True)
    shutil.copytree(recipe / "files", staging, dirs_exist_ok=True, symlinks=True)
    shutil.copyfile(recipe / "init", staging / "init")
    (staging / "init").chmod(0o755)
    ssh_dir = staging / "root" / ".ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey)
    (staging / "root").chmod(0o700)
    ssh_dir.chmod(0o700)
    (ssh_dir / "authorized_keys").chmod(0o600)
    (staging / "etc" / "shadow").chmod(0o600)
    (staging / "tmp").chmod(0o1777)

    bindir = _inside(staging, "usr/bin")
    tools = _build_tools(ctx, bindir, log)
    mod_src = modules / "lib" / "modules"
    if mod_src.is_dir():
        shutil.copytree(mod_src, _inside(staging, "lib/modules"), dirs_exist_ok=True, symlinks=True)
        for release in _inside(staging, "lib/modules").iterdir():
            link = release / "build"  # points into the build host's tree
            if link.is_symlink():
                link.unlink()

    entries = entries_from_tree(staging)
    entries.insert(0, Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    entries.insert(0, Entry("dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3)))
    entries.insert(0, Entry("dev", stat.S_IFDIR | 0o755))
    entries = _dedupe(entries)
    write_initramfs(image, entries, SOURCE_DATE)
    versions = sorted(d.name for d in debs)
    extra = {
        "userland": suite_note,
        "packages": versions,
        "tools": tools,
        "size": image.stat().st_size,
    }
    info.update(extra)
    ctx.write_stamp("rootfs", {"digest": digest, "info": extra})
    step(f"root file system: {image} ({image.stat().st_size // 1024} KiB)")
    return info


def _dedupe(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.name not in seen:
            seen.add(e.name)
            out.append(e)
    return out
