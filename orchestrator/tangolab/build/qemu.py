# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Build qemu-system-arm with the tango4 machine, and qemu-img.

hw-models/ is laid over a copy of the pristine QEMU tree, qemu-patches/
(listed in qemu-patches/series) are applied, and only arm-softmmu is
configured, with only the devices listed in
hw-models/configs/devices/arm-softmmu/tango4.mak.

With `sanitize`, the same tree is built with AddressSanitizer and UBSan
(QEMU's --enable-asan --enable-ubsan) in a directory of its own
(`Artifacts.qemu_asan`, build/qemu-asan/), with its own stamps and record
("qemu-asan"): the normal build is untouched. Only the normal build makes
qemu-img (`Artifacts.qemu_img`, for the qcow2 overlay a record/replay with
reverse debugging needs: tangolab.trace.replay).
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
    # Only the optional features named here (the others, found or not on the
    # host, are not built): user networking for the guest's SSH, the device
    # tree library, the log trace backend. TCG, the QMP/migration core, the
    # record/replay core and the qcow2/raw block drivers are always built.
    "--without-default-features",
    "--enable-slirp",
    "--enable-fdt=system",
    "--enable-trace-backends=log",
    "--disable-download",
    "--disable-install-blobs",
    "--enable-tools",  # qemu-img, for the record/replay overlay (only it is built)
    "--disable-guest-agent",
]
#: what `sanitize` adds: ASan and UBSan (QEMU builds these with -O2 -g as usual)
SANITIZE_ARGS = ["--enable-asan", "--enable-ubsan"]


def record_name(sanitize: bool) -> str:
    """The build's name in artifacts.json, its stamps and its log."""
    return "qemu-asan" if sanitize else "qemu"


def build_qemu(ctx: BuildContext, *, sanitize: bool = False) -> dict[str, Any]:
    src = ctx.upstreams.qemu(ctx.qemu_src)
    artifacts = Artifacts.in_dir(ctx.build)
    link = artifacts.qemu_asan if sanitize else artifacts.qemu
    tools = [] if sanitize else [artifacts.qemu_img]
    name = record_name(sanitize)
    out = link.parent
    work, obj = out / "src", out / "obj"
    binary = obj / link.name
    log = ctx.logs / f"{name}.log"
    models, patches = ctx.repo / "hw-models", ctx.repo / "qemu-patches"
    cc = "ccache gcc" if ctx.ccache_env() else "gcc"
    args = [*CONFIGURE_ARGS, *(SANITIZE_ARGS if sanitize else []), f"--cc={cc}"]
    digest = digest_paths([models, patches], extra=f"{src.origin}\n{args}")
    info: dict[str, Any] = {**src.record(), "binary": str(link), "configure": args}
    stamp = ctx.read_stamp(name)
    what = " (ASan + UBSan)" if sanitize else ""
    if (
        stamp
        and stamp.get("digest") == digest
        and stamp.get("info") == info
        and binary.exists()
        and all(t.exists() for t in tools)
        and ctx.qemu_src is None
        and work_tree_source(work) == src.record()
    ):
        step(f"QEMU {src.version}{what}: up to date")
        return info

    drop_record(ctx.build, name)
    step(f"QEMU {src.version}{what}: preparing the tree ({src.origin})")
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

    configured = ctx.read_stamp(f"{name}-configure")
    if not (obj / "build.ninja").exists() or not configured or configured.get("args") != args:
        shutil.rmtree(obj, ignore_errors=True)
        obj.mkdir(parents=True)
        flavour = ", ASan + UBSan" if sanitize else ""
        step(f"QEMU: configure (arm-softmmu, tango4 devices only{flavour})")
        run(
            [work / "configure", *args],
            cwd=obj,
            log=log,
            title="configure QEMU",
            env=ctx.ccache_env(),
        )
        ctx.write_stamp(f"{name}-configure", {"args": args})

    step(f"QEMU{what}: build")
    tool_names = [t.name for t in tools]
    run(
        # the machine, qemu-img (not sanitized), and QEMU's C qtest of the machine
        # (tests/models/test_c_qtest.py)
        ["ninja", "-j", str(ctx.jobs), binary.name, *tool_names, "tests/qtest/tango4-test"],
        cwd=obj,
        log=log,
        title="build QEMU",
        env=ctx.ccache_env(),
        ninja_progress=True,
    )
    for made in (link, *tools):
        if not (obj / made.name).exists():
            raise BuildError(f"ninja succeeded but {obj / made.name} is missing", log=log)
        if made.is_symlink() or made.exists():
            made.unlink()
        made.symlink_to((obj / made.name).relative_to(out))
    ctx.write_stamp(name, {"digest": digest, "info": info})
    return info
