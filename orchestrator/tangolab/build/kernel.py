# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Build the guest Linux kernel: zImage, the tango4 dtb and modules.

guest/patches (listed in guest/patches/series) are applied to a copy of
the pristine tree and guest/linux/ is laid over it. The configuration is
`allnoconfig` plus guest/config/tango4.config.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from .artifacts import Artifacts, drop_record
from .context import BuildContext, digest_paths
from .overlay import overlay_files, read_series, sync_tree, work_tree_source
from .runner import BuildError, capture, run, step

ARCH = "arm"
CROSS = "arm-linux-gnueabihf-"
DTB = "sigma/tango4-qemu.dtb"
FRAGMENT = "guest/config/tango4.config"
#: Debug information for gdb (`tangolab debug`: backtraces with file:line) in
#: the objects of the drivers under study only: kbuild adds CFLAGS_<obj>.o to
#: that object's flags. The rest of vmlinux has none (CONFIG_DEBUG_INFO is
#: off): gdb names its functions from the symbol table and unwinds through
#: them with the ARM unwind tables (CONFIG_ARM_UNWIND). Reduced DWARF for
#: the whole kernel cost about 9% more compiler time per object and a
#: vmlinux four times larger to link.
DEBUG_OBJECTS = ("tangox-dma", "tango_nand")
DEBUG_FLAGS = "-g"


def make_args(ctx: BuildContext, obj: Path) -> list[str]:
    cc = f"{CROSS}gcc"
    if not shutil.which(cc):
        raise BuildError(f"{cc} not found: install the Debian package gcc-arm-linux-gnueabihf")
    if ctx.ccache_env():
        cc = f"ccache {cc}"
    return [
        "make",
        f"O={obj}",
        f"ARCH={ARCH}",
        f"CROSS_COMPILE={CROSS}",
        f"CC={cc}",
        "KBUILD_BUILD_USER=tangolab",
        "KBUILD_BUILD_HOST=tangolab",
        *(f"CFLAGS_{o}.o={DEBUG_FLAGS}" for o in DEBUG_OBJECTS),
    ]


def check_config(config: Path, fragment: Path) -> list[str]:
    """Options of the fragment that did not end up in .config as asked."""
    have = config.read_text()
    missing = []
    for line in fragment.read_text().splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
        if m and f"{m.group(1)}={m.group(2)}\n" not in have:
            missing.append(line.strip())
    return missing


def build_kernel(ctx: BuildContext) -> dict[str, Any]:
    src = ctx.upstreams.linux(ctx.linux_src)
    art = Artifacts.in_dir(ctx.build)
    out = art.kernel.parent
    work, obj = out / "src", out / "obj"
    log = ctx.logs / "kernel.log"
    guest = ctx.repo / "guest"
    fragment = ctx.repo / FRAGMENT
    mods = out / "modules"
    digest = digest_paths(
        [guest / "linux", guest / "patches", fragment], extra=f"{src.origin}\n{DEBUG_OBJECTS}"
    )
    zimage, dtb = obj / "arch/arm/boot/zImage", obj / "arch/arm/boot/dts" / DTB
    info: dict[str, Any] = {
        **src.record(),
        "zimage": str(art.kernel),
        "dtb": str(art.dtb),
        "modules": str(mods),
    }
    stamp = ctx.read_stamp("kernel")
    if (
        stamp
        and stamp.get("digest") == digest
        and isinstance(stamp.get("info"), dict)
        and {k: stamp["info"].get(k) for k in info} == info
        and art.kernel.exists()
        and art.dtb.exists()
        and ctx.linux_src is None
        and work_tree_source(work) == src.record()
    ):
        step(f"Linux {src.version}: up to date")
        return dict(stamp["info"])

    drop_record(ctx.build, "kernel")
    step(f"Linux {src.version}: preparing the tree ({src.origin})")
    series = read_series(guest / "patches")
    changed = sync_tree(
        src, work, [p for p, _ in series], overlay_files(guest / "linux", set()), log, derived=[obj]
    )
    if changed:
        step(f"Linux: {len(changed)} file(s) changed in the work tree")
    make = make_args(ctx, obj)
    obj.mkdir(parents=True, exist_ok=True)

    # Patches and new files may add Kconfig symbols the fragment asks for.
    kconfigs = sorted((guest / "linux").rglob("Kconfig*"))
    frag_digest = digest_paths([fragment, guest / "patches", *kconfigs], extra=src.origin)
    cstamp = ctx.read_stamp("kernel-config")
    if not (obj / ".config").exists() or not cstamp or cstamp.get("digest") != frag_digest:
        step("Linux: configure (allnoconfig + guest/config/tango4.config)")
        run(
            [*make, "allnoconfig"],
            cwd=work,
            log=log,
            title="make allnoconfig",
            env=ctx.ccache_env(),
        )
        run(
            [work / "scripts/kconfig/merge_config.sh", "-m", "-O", obj, obj / ".config", fragment],
            cwd=work,
            log=log,
            title="merge config fragment",
            env={"ARCH": ARCH, "CROSS_COMPILE": CROSS},
        )
        run([*make, "olddefconfig"], cwd=work, log=log, title="make olddefconfig")
        ctx.write_stamp("kernel-config", {"digest": frag_digest})
    missing = check_config(obj / ".config", fragment)
    if missing:
        step(
            "[yellow]Linux: options of the fragment not set as asked: " + ", ".join(missing) + "[/]"
        )

    step("Linux: build zImage, dtb and modules")
    run(
        [*make, f"-j{ctx.jobs}", "zImage", "modules", DTB],
        cwd=work,
        log=log,
        title="build Linux",
        env=ctx.ccache_env(),
    )
    shutil.rmtree(mods, ignore_errors=True)
    run(
        [*make, f"INSTALL_MOD_PATH={mods}", "INSTALL_MOD_STRIP=1", "modules_install"],
        cwd=work,
        log=log,
        title="install modules",
    )
    release = capture([*make, "-s", "kernelrelease"], cwd=work).strip()
    for f, dest in ((zimage, art.kernel), (dtb, art.dtb)):
        if not f.exists():
            raise BuildError(f"make succeeded but {f} is missing", log=log)
        shutil.copyfile(f, dest)
    info["release"] = release
    ctx.write_stamp("kernel", {"digest": digest, "info": info})
    return info
