# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab build`: QEMU, the guest kernel and the guest root file system.

Each part is cached by the content of its inputs: nothing is rebuilt when
its inputs did not change, and a change to one file rebuilds only what
depends on it (ninja and make see only the files whose content changed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..paths import build_dir, cache_dir, repo_root
from .artifacts import update_record
from .context import BuildContext
from .kernel import build_kernel
from .qemu import build_qemu
from .rootfs import build_rootfs
from .runner import BuildError, console, step

TARGETS = ("qemu", "kernel", "rootfs", "all")

__all__ = ["TARGETS", "BuildError", "build", "make_context"]


def make_context(qemu_src: Path | None = None, linux_src: Path | None = None,
                 jobs: int | None = None) -> BuildContext:
    env_q = os.environ.get("TANGOLAB_QEMU_SRC")
    env_l = os.environ.get("TANGOLAB_LINUX_SRC")
    return BuildContext(repo=repo_root(), build=build_dir(), cache=cache_dir(),
                        qemu_src=qemu_src or (Path(env_q) if env_q else None),
                        linux_src=linux_src or (Path(env_l) if env_l else None),
                        jobs=jobs or os.cpu_count() or 1)


def build(targets: Sequence[str], ctx: BuildContext | None = None) -> dict[str, Any]:
    """Build the named parts ('all' = everything) and return their records."""
    ctx = ctx or make_context()
    wanted = set(targets) if targets else {"all"}
    unknown = wanted - set(TARGETS)
    if unknown:
        raise BuildError(f"unknown build target {sorted(unknown)[0]!r}: "
                         f"choose from {', '.join(TARGETS)}")
    if "all" in wanted:
        wanted = {"qemu", "kernel", "rootfs"}
    done: dict[str, Any] = {}
    timings: dict[str, float] = {}
    for part in ("qemu", "kernel", "rootfs"):
        if part not in wanted:
            continue
        t0 = time.monotonic()
        if part == "qemu":
            info = build_qemu(ctx)
        elif part == "kernel":
            info = build_kernel(ctx)
        else:
            kinfo = done.get("kernel") or build_kernel(ctx)
            info = build_rootfs(ctx, kinfo)
        timings[part] = time.monotonic() - t0
        done[part] = info
        update_record(ctx.build, part, info)
    summary = ", ".join(f"{k} {v:.0f}s" for k, v in timings.items())
    step(f"build done ({summary}); artifacts in {ctx.build}")
    console.print(f"[dim]timings: {summary}[/]")
    return done


def main(args: object) -> int:
    """Entry point for `tangolab build`; args is the CLI's namespace.

    Uses args.targets (list of names), and optionally args.qemu_src,
    args.linux_src (paths) and args.jobs.
    """
    targets = list(getattr(args, "targets", None) or ["all"])
    qsrc, lsrc = getattr(args, "qemu_src", None), getattr(args, "linux_src", None)
    ctx = make_context(Path(qsrc) if qsrc else None, Path(lsrc) if lsrc else None,
                       getattr(args, "jobs", None))
    build(targets, ctx)
    return 0
