# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""bootstrap.sh's Debian package list is complete on its own.

The machine running the tests may hold packages installed by hand, so the
test does not look at what is installed: it asks apt for the dependency
closure of the listed packages without Recommends (bootstrap.sh installs
with --no-install-recommends) and checks that every compiler, header set
and tool the build and the tests run is in it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tangolab.pytest_plugin import skip_or_fail

BOOTSTRAP = Path(__file__).resolve().parents[2] / "orchestrator" / "bootstrap.sh"

#: Debian packages whose programs or files the build and the tests use
#: (Essential packages such as coreutils, tar, dpkg and dash are always there).
NEEDED = {
    # host compiler and C library headers: QEMU, the host build of guest/tools
    "gcc", "cpp", "binutils", "libc6-dev",
    # gcc's ASan (with LSan) and UBSan runtimes: `tangolab build qemu --sanitize`
    "libasan8", "libubsan1",
    # cross compiler and armhf C library headers: kernel, static guest tools
    "gcc-arm-linux-gnueabihf", "binutils-arm-linux-gnueabihf", "libc6-dev-armhf-cross",
    # kernel build
    "make", "flex", "bison", "bc", "kmod", "perl",
    # QEMU build and its libraries
    "ninja-build", "pkg-config", "libglib2.0-dev", "libpixman-1-dev", "libfdt-dev",
    "zlib1g-dev", "libslirp-dev", "device-tree-compiler",
    # the build pipeline: compiler cache, source packages, patches, archives
    "ccache", "dpkg-dev", "patch", "cpio", "xz-utils", "git", "debian-archive-keyring",
    # the orchestrator's virtual environment
    "python3-venv",
}  # fmt: skip


def apt_packages(script: str) -> list[str]:
    """The words of the APT_PACKAGES=( ... ) array (comments dropped)."""
    m = re.search(r"^APT_PACKAGES=\((.*?)^\)", script, re.M | re.S)
    assert m, "no APT_PACKAGES=( ... ) array in bootstrap.sh"
    return [w for line in m.group(1).splitlines() for w in line.split("#", 1)[0].split()]


def parse_depends(output: str) -> set[str]:
    """Package names in `apt-cache depends --recurse` output.

    Each package of the closure heads a block (``name`` or ``<virtual>`` at the
    start of a line); its relations follow, indented (``  Depends: x``,
    `` |Depends: x`` for an alternative, ``    y`` for a virtual's providers).
    """
    names = set()
    for line in output.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            names.add(line.strip().strip("<>").split(":", 1)[0])
            continue
        m = re.match(r"\s*\|?(?:Pre)?Depends:\s*(\S+)", line)
        if m:
            names.add(m.group(1).strip("<>").split(":", 1)[0])
    return names


def test_apt_packages_parsing() -> None:
    script = "X=1\nAPT_PACKAGES=(\n\t# c\n\tgcc libc6-dev # x\n\tmake\n)\nfoo=(a)\n"
    assert apt_packages(script) == ["gcc", "libc6-dev", "make"]


def test_parse_depends() -> None:
    out = (
        "gcc\n  Depends: cpp\n |Depends: gcc-14\n  Depends: <python3:any>\n"
        "    python3\n<python3:any>\n    python3\npython3\n  PreDepends: libc6\n"
    )
    assert parse_depends(out) == {"gcc", "cpp", "gcc-14", "python3", "libc6"}


def test_bootstrap_packages_bring_every_needed_tool() -> None:
    if shutil.which("apt-cache") is None:
        skip_or_fail("apt-cache not found: cannot check bootstrap.sh's package list")
    listed = apt_packages(BOOTSTRAP.read_text())
    res = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *listed],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if res.returncode != 0 or not res.stdout.strip():
        skip_or_fail(f"apt-cache has no package lists (run apt-get update): {res.stderr.strip()}")
    closure = parse_depends(res.stdout)
    unknown = [p for p in listed if p not in closure]
    assert not unknown, f"bootstrap.sh lists packages apt does not know: {unknown}"
    missing = sorted(NEEDED - closure)
    assert not missing, "bootstrap.sh's packages (without Recommends) do not bring: " + " ".join(
        missing
    )


@pytest.mark.parametrize("package", ["gcc", "libc6-dev-armhf-cross"])
def test_the_list_names_what_recommends_would_hide(package: str) -> None:
    """The two packages a fresh machine lacked (issue 9) are listed by name."""
    assert package in apt_packages(BOOTSTRAP.read_text())
