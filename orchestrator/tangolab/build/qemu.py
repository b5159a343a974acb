# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Build qemu-system-arm with the tango4 machine.

hw-models/ is laid over a copy of the pristine QEMU tree, qemu-patches/
(listed in qemu-patches/series) are applied, and only arm-softmmu is
configured, with only the devices listed in
hw-models/configs/devices/arm-softmmu/tango4.mak.
"""

from __future__ import annotations

import shutil
from typing import Any

from .artifacts import Artifacts, drop_record
from .context import BuildContext, digest_paths
from .overlay import overlay_files, read_series, sync_tree, work_tree_source
from .runner import BuildError, run, step

CONFIGURE_ARGS = [
    "--target-list=arm-softmmu",
    "--without-default-devices",
    "--with-devices-arm=tango4",
    "--enable-slirp",
    "--enable-fdt=system",
    "--enable-trace-backends=log",
    "--disable-download",
    "--disable-docs",
    "--disable-install-blobs",
    "--disable-tools",
    "--disable-guest-agent",
    "--disable-gtk",
    "--disable-sdl",
    "--disable-vnc",
    "--disable-opengl",
    "--disable-spice",
    "--disable-xen",
    "--disable-rust",
    "--disable-linux-io-uring",
]


def build_qemu(ctx: BuildContext) -> dict[str, Any]:
    src = ctx.upstreams.qemu(ctx.qemu_src)
    link = Artifacts.in_dir(ctx.build).qemu
    out = link.parent
    work, obj = out / "src", out / "obj"
    binary = obj / link.name
    log = ctx.logs / "qemu.log"
    models, patches = ctx.repo / "hw-models", ctx.repo / "qemu-patches"
    cc = "ccache gcc" if ctx.ccache_env() else "gcc"
    args = [*CONFIGURE_ARGS, f"--cc={cc}"]
    digest = digest_paths([models, patches], extra=f"{src.origin}\n{args}")
    info: dict[str, Any] = {**src.record(), "binary": str(link), "configure": args}
    stamp = ctx.read_stamp("qemu")
    if (
        stamp
        and stamp.get("digest") == digest
        and stamp.get("info") == info
        and binary.exists()
        and ctx.qemu_src is None
        and work_tree_source(work) == src.record()
    ):
        step(f"QEMU {src.version}: up to date")
        return info

    drop_record(ctx.build, "qemu")
    step(f"QEMU {src.version}: preparing the tree ({src.origin})")
    series = read_series(patches)
    changed = sync_tree(
        src,
        work,
        [p for p, _ in series],
        overlay_files(models, {"HARDWARE.md"}),
        log,
        derived=[obj],
    )
    if changed:
        step(f"QEMU: {len(changed)} file(s) changed in the work tree")

    configured = ctx.read_stamp("qemu-configure")
    if not (obj / "build.ninja").exists() or not configured or configured.get("args") != args:
        shutil.rmtree(obj, ignore_errors=True)
        obj.mkdir(parents=True)
        step("QEMU: configure (arm-softmmu, tango4 devices only)")
        run(
            [work / "configure", *args],
            cwd=obj,
            log=log,
            title="configure QEMU",
            env=ctx.ccache_env(),
        )
        ctx.write_stamp("qemu-configure", {"args": args})

    step("QEMU: build")
    run(
        # the machine, and QEMU's C qtest of it (tests/models/test_c_qtest.py)
        ["ninja", "-j", str(ctx.jobs), binary.name, "tests/qtest/tango4-test"],
        cwd=obj,
        log=log,
        title="build QEMU",
        env=ctx.ccache_env(),
        ninja_progress=True,
    )
    if not binary.exists():
        raise BuildError(f"ninja succeeded but {binary} is missing", log=log)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(binary.relative_to(out))
    ctx.write_stamp("qemu", {"digest": digest, "info": info})
    return info
