# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab build`: QEMU, the guest kernel and the guest root file system.

Each part is cached by the content of its inputs: nothing is rebuilt when
its inputs did not change, and a change to one file rebuilds only what
depends on it (ninja and make see only the files whose content changed).

QEMU and the kernel build side by side, each fetching its sources and then
compiling with --jobs jobs: the serial phases of one (fetch and unpack,
configure, links, modpost) leave the cores to the other. The root file
system follows the kernel (it holds the kernel's modules). When one build
fails, the other is stopped and the first failure is the error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..paths import build_dir, cache_dir, repo_root
from .artifacts import update_record
from .context import BuildContext
from .kernel import build_kernel
from .qemu import build_qemu
from .qemu import record_name as qemu_record_name
from .rootfs import build_rootfs
from .runner import BuildError, shared_display, step, stop_all
from .sources import kernel_version, user_source_tree

TARGETS = ("qemu", "kernel", "rootfs", "all")
PARTS = ("qemu", "kernel", "rootfs")

__all__ = ["PARTS", "TARGETS", "BuildError", "build", "make_context"]


def make_context(
    qemu_src: Path | None = None, linux_src: Path | None = None, jobs: int | None = None
) -> BuildContext:
    """The context of a build; the source trees default to $TANGOLAB_QEMU_SRC and
    $TANGOLAB_LINUX_SRC (checked here, before anything is built)."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    env_q = os.environ.get("TANGOLAB_QEMU_SRC")
    env_l = os.environ.get("TANGOLAB_LINUX_SRC")
    ctx = BuildContext(
        repo=repo_root(),
        build=build_dir(),
        cache=cache_dir(),
        qemu_src=qemu_src or (Path(env_q) if env_q else None),
        linux_src=linux_src or (Path(env_l) if env_l else None),
        jobs=jobs or os.cpu_count() or 1,
    )
    if ctx.qemu_src is not None:
        user_source_tree(ctx.qemu_src, "QEMU", "VERSION", lambda t: t.strip())
    if ctx.linux_src is not None:
        user_source_tree(ctx.linux_src, "Linux", "Makefile", kernel_version)
    return ctx


def build(
    targets: Sequence[str], ctx: BuildContext | None = None, *, sanitize: bool = False
) -> dict[str, Any]:
    """Build the named parts ('all' = everything) and return their records.

    Each part's record goes to artifacts.json when its build completes. With
    `sanitize`, QEMU is built with ASan and UBSan in its own directory (record
    "qemu-asan") instead of the normal QEMU, which is left as it is.
    """
    wanted = set(targets) if targets else {"all"}
    unknown = wanted - set(TARGETS)
    if unknown:
        raise UsageError(
            f"unknown build target {sorted(unknown)[0]!r}: choose from {', '.join(TARGETS)}"
        )
    ctx = ctx or make_context()
    if "all" in wanted:
        wanted = set(PARTS)
    if "rootfs" in wanted:
        wanted.add("kernel")  # the root file system holds the kernel's modules
    if sanitize and "qemu" not in wanted:
        raise UsageError("--sanitize builds QEMU: name the qemu target (or all)")
    done: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def lane(parts: Sequence[str]) -> None:
        """Build `parts` one after the other (each may need the one before)."""
        for part in parts:
            if part not in wanted:
                continue
            t0 = time.monotonic()
            if part == "qemu":
                info = build_qemu(ctx, sanitize=sanitize)
            elif part == "kernel":
                info = build_kernel(ctx)
            else:
                info = build_rootfs(ctx, done["kernel"])
            timings[part] = time.monotonic() - t0
            done[part] = info
            update_record(ctx.build, qemu_record_name(sanitize) if part == "qemu" else part, info)

    t0 = time.monotonic()
    _side_by_side([lambda: lane(["qemu"]), lambda: lane(["kernel", "rootfs"])])
    summary = ", ".join(f"{k} {timings[k]:.0f}s" for k in PARTS if k in timings)
    step(f"build done in {time.monotonic() - t0:.0f}s ({summary}); artifacts in {ctx.build}")
    return done


def _side_by_side(lanes: Sequence[Callable[[], None]]) -> None:
    """Run the lanes in threads; when one fails, stop the others and raise
    its error (the first failure)."""
    with shared_display(), ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        futures: list[Future[None]] = [pool.submit(f) for f in lanes]
        finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in finished and f.exception() is not None]
        if failed:
            stop_all()
            wait(pending)
            error = failed[0].exception()
            assert error is not None
            raise error
