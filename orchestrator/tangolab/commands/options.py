# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Options shared by several commands, among them those that boot the tango4
machine: your own QEMU, kernel, device tree or initramfs instead of the build's."""

from __future__ import annotations

import argparse
from pathlib import Path

from tangolab.build.artifacts import Artifacts, load_artifacts


def positive_float(text: str) -> float:
    """argparse type: a number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def add_artifact_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("files to boot (default: the build's)")
    g.add_argument("--qemu", type=Path, metavar="BINARY", help="this qemu-system-arm")
    g.add_argument("--kernel", type=Path, metavar="ZIMAGE", help="this kernel image")
    g.add_argument("--dtb", type=Path, metavar="DTB", help="this device tree blob")
    g.add_argument("--initrd", type=Path, metavar="INITRAMFS", help="this initramfs")


def artifacts_from_args(args: argparse.Namespace, build: Path) -> Artifacts:
    """The build's artifacts with the files given on the command line put in
    (each must exist: `UsageError` otherwise)."""
    return load_artifacts(build).with_files(
        qemu=args.qemu, kernel=args.kernel, dtb=args.dtb, initrd=args.initrd
    )
