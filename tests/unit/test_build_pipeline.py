# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The build pipeline (tangolab.build) end to end, with small stand-ins.

A fake checkout (hw-models, qemu-patches, guest/...) and fake pristine QEMU
and Linux trees are built by the real pipeline: work trees, patches, the
overlay, stamps, records, the initramfs. Only the compilers are replaced:
`ninja`, `make` and QEMU's `configure` are small scripts on $PATH (or in the
fake tree) that write outputs derived from their inputs and log each call.
The Debian package is a real .deb made with dpkg-deb.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cpio_reader import read_newc

import tangolab.build
from tangolab.build import build
from tangolab.build.apt import AptRepo, Mirror
from tangolab.build.artifacts import Artifacts, load_artifacts, read_record
from tangolab.build.context import BuildContext
from tangolab.build.overlay import SOURCE_RECORD
from tangolab.build.qemu import CONFIGURE_ARGS
from tangolab.build.sources import SourceTree, Upstreams
from tangolab.cli import main
from tangolab.errors import BuildError, UsageError
from tangolab.pytest_plugin import skip_or_fail

FAKE_NINJA = """#!/bin/sh
echo "ninja $*" >> "$FAKE_CALLS"
. ./build.ninja
if [ -n "$FAKE_MEET" ]; then  # wait (10 s at most) for the kernel's make to build
    i=0
    while [ ! -e "$FAKE_MEET/make" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    [ -e "$FAKE_MEET/make" ] || { echo "the kernel's make did not run meanwhile" >&2; exit 2; }
    touch "$FAKE_MEET/ninja"
fi
if [ -n "$FAKE_FAIL" ]; then
    echo "[1/2] Compiling hw/tango.c"
    echo "hw/tango.c:1:1: error: $FAKE_FAIL" >&2
    exit 1
fi
echo "[1/1] Linking qemu-system-arm"
cat "$src/VERSION" "$src"/hw/*.c > qemu-system-arm
chmod +x qemu-system-arm
for target in "$@"; do
    if [ "$target" = qemu-img ]; then
        cat "$src/VERSION" > qemu-img
        chmod +x qemu-img
    fi
done
"""

FAKE_CONFIGURE = """#!/bin/sh
echo "configure $*" >> "$FAKE_CALLS"
echo "src=$(cd "$(dirname "$0")" && pwd)" > build.ninja
"""

FAKE_MAKE = """
import pathlib, re, sys
args = sys.argv[1:]
kv = dict(a.split("=", 1) for a in args if "=" in a and not a.startswith("-"))
targets = [a for a in args if "=" not in a and not a.startswith("-")]
with open(__import__("os").environ["FAKE_CALLS"], "a") as f:
    f.write("make " + " ".join(targets) + "\\n")
obj, src = pathlib.Path(kv["O"]), pathlib.Path.cwd()
make = (src / "Makefile").read_text()
v = dict(re.findall(r"^(\\w+) = (.*)$", make, re.M))
release = f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL']}-tangolab"
for t in targets:
    if t == "allnoconfig":
        obj.mkdir(parents=True, exist_ok=True)
        (obj / ".config").write_text("CONFIG_ARM=y\\n")
    elif t == "zImage":
        meet = __import__("os").environ.get("FAKE_MEET")
        if meet:  # tell ninja, and wait (10 s at most) for it to be done
            (pathlib.Path(meet) / "make").touch()
            for _ in range(200):
                if (pathlib.Path(meet) / "ninja").exists():
                    break
                __import__("time").sleep(0.05)
            else:
                sys.exit("ninja did not run meanwhile")
        boot = obj / "arch/arm/boot"
        boot.mkdir(parents=True, exist_ok=True)
        code = b"".join(p.read_bytes() for p in sorted((src / "drivers").rglob("*.c")))
        (boot / "zImage").write_bytes(b"zImage " + release.encode() + b"\\n" + code)
    elif t.endswith(".dtb"):
        dtb = obj / "arch/arm/boot/dts" / t
        dtb.parent.mkdir(parents=True, exist_ok=True)
        dtb.write_bytes(b"dtb " + release.encode())
    elif t == "modules_install":
        mods = pathlib.Path(kv["INSTALL_MOD_PATH"]) / "lib/modules" / release
        mods.mkdir(parents=True, exist_ok=True)
        (mods / "modules.dep").write_text("kernel/drivers/tango.ko:\\n")
        (mods / "build").symlink_to("/nonexistent")
    elif t == "kernelrelease":
        print(release)
"""

MERGE_CONFIG = """#!/bin/sh
# merge_config.sh -m -O OBJ BASE FRAGMENT
cat "$5" >> "$3/.config"
"""


def _patch(path: str, old: str, new: str) -> str:
    return f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"


def _script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def fake_checkout(repo: Path) -> Path:
    files = {
        "hw-models/hw/tango.c": "/* tango4 model v1 */\n",
        "hw-models/HARDWARE.md": "not laid over QEMU\n",
        "qemu-patches/series": "0001-core.patch\n",
        "qemu-patches/0001-core.patch": _patch("hw/core.c", "core", "core+tango"),
        "guest/linux/drivers/tango.c": "/* tango driver */\n",
        "guest/patches/series": "0001-dma.patch drivers/tango.c\n",
        "guest/patches/0001-dma.patch": _patch("drivers/dma.c", "dma", "dma+hook"),
        "guest/config/tango4.config": "CONFIG_TANGO=y\n",
        "guest/rootfs/packages": "busybox  # the shell\n",
        "guest/rootfs/init": "#!/bin/sh\nexec sh\n",
        "guest/rootfs/files/etc/hostname": "tango4\n",
        "guest/rootfs/files/etc/shadow": "root::1::::::\n",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    (repo / "guest" / "tools").mkdir()
    return repo


def fake_qemu_tree(path: Path, version: str) -> Path:
    (path / "hw").mkdir(parents=True)
    (path / "VERSION").write_text(version + "\n")
    (path / "hw" / "core.c").write_text("core\n")
    _script(path / "configure", FAKE_CONFIGURE)
    return path


def fake_linux_tree(path: Path, sublevel: int) -> Path:
    (path / "drivers").mkdir(parents=True)
    (path / "Makefile").write_text(f"VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = {sublevel}\n")
    (path / "drivers" / "dma.c").write_text("dma\n")
    _script(path / "scripts" / "kconfig" / "merge_config.sh", MERGE_CONFIG)
    return path


def fake_deb(dest: Path) -> Path:
    """A real (tiny) Debian package holding usr/bin/busybox and its docs."""
    if shutil.which("dpkg-deb") is None:
        skip_or_fail("dpkg-deb not found (Debian package dpkg)")
    root = dest / "busybox-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: busybox\nVersion: 1:1.37.0-1\nArchitecture: armhf\n"
        "Maintainer: nobody <nobody@example.invalid>\nDescription: fake\n"
    )
    _script(root / "usr" / "bin" / "busybox", "#!/bin/sh\necho busybox\n")
    (root / "usr" / "share" / "doc" / "busybox").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / "busybox" / "copyright").write_text("GPL\n")
    deb = dest / "busybox_1.37.0-1_armhf.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
                   check=True, capture_output=True)  # fmt: skip
    return deb


class FakeAptRepo(AptRepo):
    def __init__(self, root: Path, debs: list[Path], log: Path) -> None:
        super().__init__(root, Mirror("http://mirror.invalid/debian", None, None), "trixie",
                         "armhf", sources=False, log=log)  # fmt: skip
        self.debs = debs
        self.asked: list[list[str]] = []

    def download_closure(self, packages: list[str]) -> list[Path]:
        self.asked.append(packages)
        return self.debs


class FakeUpstreams(Upstreams):
    """The pinned upstreams, as if Debian served `qemu_tree` and `linux_tree`."""

    def __init__(self, cache: Path, log: Path, qemu_tree: SourceTree,
                 linux_tree: SourceTree, repo: FakeAptRepo) -> None:  # fmt: skip
        super().__init__(cache, log)
        self.qemu_tree, self.linux_tree, self.repo = qemu_tree, linux_tree, repo

    def qemu(self, user_tree: Path | None) -> SourceTree:
        return super().qemu(user_tree) if user_tree else self.qemu_tree

    def linux(self, user_tree: Path | None) -> SourceTree:
        return super().linux(user_tree) if user_tree else self.linux_tree

    def userland_repo(self) -> tuple[AptRepo, str]:
        return self.repo, "Debian trixie armhf (fake)"


class Lab:
    """A fake checkout, fake upstreams and a build context over them."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.repo = fake_checkout(tmp / "checkout")
        self.calls = tmp / "calls.log"
        self.calls.touch()
        bindir = tmp / "bin"
        _script(bindir / "ninja", FAKE_NINJA)
        _script(bindir / "make", f"#!{sys.executable}\n{FAKE_MAKE}")
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_CALLS", str(self.calls))
        monkeypatch.delenv("FAKE_FAIL", raising=False)
        monkeypatch.delenv("FAKE_MEET", raising=False)
        monkeypatch.delenv("TANGOLAB_QEMU_SRC", raising=False)
        monkeypatch.delenv("TANGOLAB_LINUX_SRC", raising=False)
        if shutil.which("arm-linux-gnueabihf-gcc") is None:
            _script(bindir / "arm-linux-gnueabihf-gcc", "#!/bin/sh\nexit 0\n")
        self.build_dir = tmp / "build"
        self.cache = tmp / "cache"
        self.qemu_v1 = self.debian_qemu("10.0.1")
        self.linux_v1 = self.debian_linux(101)
        self.apt = FakeAptRepo(self.cache / "apt", [fake_deb(tmp)], tmp / "fetch.log")
        self.upstreams = FakeUpstreams(self.cache, tmp / "fetch.log", self.qemu_v1,
                                       self.linux_v1, self.apt)  # fmt: skip

    def debian_qemu(self, version: str) -> SourceTree:
        tree = fake_qemu_tree(self.cache / "src" / f"qemu-{version}", version)
        return SourceTree(tree, version, f"Debian trixie source package qemu 1:{version}+ds-1")

    def debian_linux(self, sublevel: int) -> SourceTree:
        tree = fake_linux_tree(self.cache / "src" / f"linux-6.12.{sublevel}", sublevel)
        return SourceTree(tree, f"6.12.{sublevel}",
                          f"Debian trixie package linux-source-6.12 6.12.{sublevel}-1")  # fmt: skip

    def context(self, **kwargs: Path) -> BuildContext:
        ctx = BuildContext(repo=self.repo, build=self.build_dir, cache=self.cache, jobs=2,
                           **kwargs)  # fmt: skip
        ctx._upstreams = self.upstreams
        return ctx

    def take_calls(self) -> list[str]:
        lines = self.calls.read_text().splitlines()
        self.calls.write_text("")
        return [
            " ".join([line.split()[0], *line.split()[3:]])
            if line.startswith("ninja -j")
            else line
            if line.startswith("configure")
            else line.split()[0] + " " + line.split()[-1]
            for line in lines
        ]


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    return Lab(tmp_path, monkeypatch)


def configure_args(ctx: BuildContext) -> list[str]:
    return [*CONFIGURE_ARGS, "--cc=ccache gcc" if ctx.ccache_env() else "--cc=gcc"]


def test_build_all_writes_every_artifact_and_the_record(lab: Lab) -> None:
    done = build(["all"], lab.context())
    art = Artifacts.in_dir(lab.build_dir)
    art.check()
    work = lab.build_dir / "qemu" / "src"
    # QEMU: pristine + patch + overlay (HARDWARE.md stays out)
    assert (work / "hw" / "core.c").read_text() == "core+tango\n"
    assert (work / "hw" / "tango.c").read_text() == "/* tango4 model v1 */\n"
    assert not (work / "HARDWARE.md").exists()
    assert art.qemu.read_bytes() == b"10.0.1\ncore+tango\n/* tango4 model v1 */\n"
    assert art.qemu.is_symlink() and os.access(art.qemu, os.X_OK)
    # Linux: patch and new file in the work tree; config = allnoconfig + fragment
    assert (lab.build_dir / "linux" / "src" / "drivers" / "dma.c").read_text() == "dma+hook\n"
    assert art.kernel.read_bytes().startswith(b"zImage 6.12.101-tangolab\n")
    assert b"/* tango driver */" in art.kernel.read_bytes()
    assert (lab.build_dir / "linux" / "obj" / ".config").read_text() == (
        "CONFIG_ARM=y\nCONFIG_TANGO=y\n"
    )
    assert done["kernel"]["release"] == "6.12.101-tangolab"
    # the record: exactly what was built
    record = read_record(lab.build_dir)
    assert record["qemu"]["version"] == "10.0.1"
    assert record["qemu"]["origin"] == "Debian trixie source package qemu 1:10.0.1+ds-1"
    assert record["qemu"]["tree"] == str(lab.qemu_v1.path)
    assert record["kernel"]["version"] == "6.12.101"
    assert record["rootfs"]["kernel_release"] == "6.12.101-tangolab"
    assert record["rootfs"]["userland"] == "Debian trixie armhf (fake)"
    assert record["rootfs"]["packages"] == ["busybox_1.37.0-1_armhf.deb"]
    assert load_artifacts(lab.build_dir).versions["kernel"]["version"] == "6.12.101"
    assert lab.apt.asked == [["busybox"]]
    calls = lab.take_calls()  # QEMU's and the kernel's, side by side
    assert [c for c in calls if not c.startswith("make")] == [
        "configure " + " ".join(configure_args(lab.context())),
        "ninja qemu-system-arm qemu-img tests/qtest/tango4-test",
    ]
    assert [c for c in calls if c.startswith("make")] == [
        "make allnoconfig",
        "make olddefconfig",
        "make sigma/tango4-qemu.dtb",
        "make modules_install",
        "make kernelrelease",
    ]


def test_qemu_and_the_kernel_compile_side_by_side(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # ninja waits for the kernel's make to be building and make for ninja:
    # one after the other, each would give up after 10 s and fail
    monkeypatch.setenv("FAKE_MEET", str(tmp_path))
    build(["qemu", "kernel"], lab.context())
    assert (tmp_path / "ninja").exists() and (tmp_path / "make").exists()


def test_a_failing_build_stops_the_other(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # QEMU fails while the kernel's make is building (and would wait 10 s)
    monkeypatch.setenv("FAKE_MEET", str(lab.tmp))
    monkeypatch.setenv("FAKE_FAIL", "expected ';' before '}' token")
    t0 = time.monotonic()
    with pytest.raises(BuildError) as e:
        build(["all"], lab.context())
    assert time.monotonic() - t0 < 8
    assert e.value.message == "build QEMU failed (exit status 1)"
    # stopped in the kernel's build (zImage modules dtb): no modules_install after it
    assert lab.take_calls()[-1] == "make sigma/tango4-qemu.dtb"
    assert read_record(lab.build_dir) == {}
    build(["kernel"], lab.context())  # the next build runs its commands again
    assert "kernel" in read_record(lab.build_dir)


def test_initramfs_holds_userland_init_files_modules_and_key(lab: Lab) -> None:
    build(["rootfs"], lab.context())
    art = Artifacts.in_dir(lab.build_dir)
    entries = read_newc(gzip.decompress(art.initrd.read_bytes()))
    names = {e.name for e in entries}
    assert {"dev", "dev/console", "dev/null", "init", "usr/bin/busybox", "etc/hostname"} <= names
    assert "bin" in names and "usr/share/doc/busybox/copyright" not in names
    assert "usr/lib/modules/6.12.101-tangolab/modules.dep" in names  # lib -> usr/lib
    assert "usr/lib/modules/6.12.101-tangolab/build" not in names
    by_name = {e.name: e for e in entries}
    assert by_name["root/.ssh/authorized_keys"].data == art.ssh_key.with_suffix(".pub").read_bytes()
    assert by_name["dev/console"].rdev == (5, 1)
    assert by_name["bin"].data == b"usr/bin"
    assert oct(by_name["tmp"].mode & 0o7777) == "0o1777"
    assert all(e.mtime == 1764000000 for e in entries)


def test_second_build_is_a_no_op(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    build(["all"], lab.context())
    lab.take_calls()
    before = {p: p.stat().st_mtime_ns for p in Artifacts.in_dir(lab.build_dir).paths().values()}
    build(["all"], lab.context())
    assert lab.take_calls() == []
    after = {p: p.stat().st_mtime_ns for p in Artifacts.in_dir(lab.build_dir).paths().values()}
    assert before == after
    err = capsys.readouterr().err
    assert "QEMU 10.0.1: up to date" in err
    assert "Linux 6.12.101: up to date" in err
    assert "root file system: up to date" in err


def test_a_changed_model_file_rebuilds_qemu_only(lab: Lab) -> None:
    build(["all"], lab.context())
    lab.take_calls()
    (lab.repo / "hw-models" / "hw" / "tango.c").write_text("/* tango4 model v2 */\n")
    build(["all"], lab.context())
    assert lab.take_calls() == [
        "ninja qemu-system-arm qemu-img tests/qtest/tango4-test"
    ]  # no configure: same arguments
    assert b"model v2" in Artifacts.in_dir(lab.build_dir).qemu.read_bytes()


def test_a_new_point_release_rebuilds_from_the_new_tree(lab: Lab) -> None:
    build(["qemu", "kernel"], lab.context())
    obj_marker = lab.build_dir / "linux" / "obj" / "stale.o"
    obj_marker.write_text("from 6.12.101")
    lab.take_calls()
    lab.upstreams.linux_tree = lab.debian_linux(102)
    (lab.linux_v1.path / "drivers" / "old-only.c").write_text("only in 6.12.101\n")
    build(["kernel"], lab.context())
    work = lab.build_dir / "linux" / "src"
    assert json.loads((work / SOURCE_RECORD).read_text())["version"] == "6.12.102"
    assert not (work / "drivers" / "old-only.c").exists()
    assert not obj_marker.exists()  # the object tree of the old release is gone
    assert lab.take_calls()[0] == "make allnoconfig"
    art = Artifacts.in_dir(lab.build_dir)
    assert art.kernel.read_bytes().startswith(b"zImage 6.12.102-tangolab\n")
    assert load_artifacts(lab.build_dir).versions["kernel"] == {
        "version": "6.12.102",
        "origin": "Debian trixie package linux-source-6.12 6.12.102-1",
        "tree": str(lab.cache / "src" / "linux-6.12.102"),
        "release": "6.12.102-tangolab",
    }


def test_switching_to_a_user_tree_and_back(lab: Lab, tmp_path: Path) -> None:
    build(["qemu"], lab.context())
    mine = fake_qemu_tree(tmp_path / "my-qemu", "10.0.99")
    (mine / "hw" / "mine.c").write_text("/* my change */\n")
    build(["qemu"], lab.context(qemu_src=mine))
    work = lab.build_dir / "qemu" / "src"
    assert (work / "hw" / "mine.c").exists()
    assert read_record(lab.build_dir)["qemu"]["origin"] == f"user tree {mine}"
    assert read_record(lab.build_dir)["qemu"]["version"] == "10.0.99"
    assert b"10.0.99" in Artifacts.in_dir(lab.build_dir).qemu.read_bytes()
    build(["qemu"], lab.context())
    assert not (work / "hw" / "mine.c").exists()
    assert read_record(lab.build_dir)["qemu"]["version"] == "10.0.1"
    assert b"10.0.1" in Artifacts.in_dir(lab.build_dir).qemu.read_bytes()


def test_a_failing_step_raises_build_error_and_drops_the_record(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(["qemu"], lab.context())
    assert "qemu" in read_record(lab.build_dir)
    (lab.repo / "hw-models" / "hw" / "tango.c").write_text("/* broken */\n")
    monkeypatch.setenv("FAKE_FAIL", "expected ';' before '}' token")
    with pytest.raises(BuildError) as e:
        build(["qemu"], lab.context())
    assert e.value.message == "build QEMU failed (exit status 1)"
    assert e.value.log == lab.build_dir / "logs" / "qemu.log"
    targets = ["qemu-system-arm", "qemu-img", "tests/qtest/tango4-test"]
    assert e.value.command == ["ninja", "-j", "2", *targets]
    assert "hw/tango.c:1:1: error: expected ';' before '}' token" in e.value.tail
    assert "qemu" not in read_record(lab.build_dir)  # info must not claim it was built


def test_failing_build_step_through_the_cli_is_one_line(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tangolab.build, "repo_root", lambda: lab.repo)
    monkeypatch.setenv("TANGOLAB_BUILD", str(lab.build_dir))
    monkeypatch.setenv("TANGOLAB_CACHE", str(lab.cache))
    monkeypatch.setenv("FAKE_FAIL", "'struct foo' has no member named 'bar'")
    qemu = fake_qemu_tree(lab.tmp / "qemu-src", "10.0.5")
    code = main(["build", "qemu", "--qemu-src", str(qemu)])
    _, err = capsys.readouterr()
    assert code == 1
    lines = err.splitlines()
    error = [line for line in lines if line.startswith("error: ")]
    assert error == [
        "error: build QEMU failed (exit status 1) (command: ninja -j "
        f"{os.cpu_count()} qemu-system-arm qemu-img tests/qtest/tango4-test; log: "
        f"{lab.build_dir / 'logs' / 'qemu.log'})"
    ]
    tail = lines[lines.index(error[0]) + 1 :]
    assert tail == [
        "  | [1/2] Compiling hw/tango.c",
        "  | hw/tango.c:1:1: error: 'struct foo' has no member named 'bar'",
    ]
    assert "Traceback" not in err
    print(err, file=sys.__stderr__)  # shown with -s: the report quotes it


def test_a_patch_that_does_not_apply(lab: Lab) -> None:
    (lab.repo / "qemu-patches" / "0001-core.patch").write_text(
        _patch("hw/core.c", "something else", "x")
    )
    with pytest.raises(BuildError, match=r"patch 0001-core.patch does not apply"):
        build(["qemu"], lab.context())


def test_unknown_target_and_bad_jobs(lab: Lab) -> None:
    with pytest.raises(UsageError, match="unknown build target 'everything'"):
        build(["everything"], lab.context())
    with pytest.raises(UsageError, match="--jobs must be at least 1"):
        tangolab.build.make_context(jobs=0)


def test_make_context_takes_source_trees_from_the_environment(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANGOLAB_LINUX_SRC", str(lab.linux_v1.path))
    ctx = tangolab.build.make_context()
    assert ctx.linux_src == lab.linux_v1.path
    monkeypatch.setenv("TANGOLAB_QEMU_SRC", str(lab.tmp / "missing"))
    with pytest.raises(UsageError, match=r"QEMU source tree .*missing: no such directory"):
        tangolab.build.make_context()


def test_sanitize_builds_its_own_qemu_beside_the_normal_one(lab: Lab) -> None:
    build(["qemu"], lab.context())
    normal = Artifacts.in_dir(lab.build_dir).qemu
    before = normal.stat().st_mtime_ns
    lab.take_calls()
    build(["qemu"], lab.context(), sanitize=True)
    art = Artifacts.in_dir(lab.build_dir)
    assert art.qemu_asan == lab.build_dir / "qemu-asan" / "qemu-system-arm"
    assert art.qemu_asan.read_bytes() == normal.read_bytes()  # same tree, other flags
    args = [*CONFIGURE_ARGS, "--enable-asan", "--enable-ubsan", configure_args(lab.context())[-1]]
    assert lab.take_calls() == [
        "configure " + " ".join(args),
        "ninja qemu-system-arm tests/qtest/tango4-test",
    ]
    assert normal.stat().st_mtime_ns == before and (lab.build_dir / "qemu" / "obj").is_dir()
    record = read_record(lab.build_dir)
    assert record["qemu-asan"]["configure"] == args
    assert record["qemu"]["configure"] == configure_args(lab.context())
    assert (lab.build_dir / "logs" / "qemu-asan.log").is_file()
    build(["qemu"], lab.context(), sanitize=True)
    assert lab.take_calls() == []  # up to date
    (lab.repo / "hw-models" / "hw" / "tango.c").write_text("/* tango4 model v2 */\n")
    build(["qemu"], lab.context(), sanitize=True)
    assert lab.take_calls() == ["ninja qemu-system-arm tests/qtest/tango4-test"]
    assert b"model v2" in art.qemu_asan.read_bytes()
    assert b"model v2" not in normal.read_bytes()
    with pytest.raises(UsageError, match="--sanitize builds QEMU: name the qemu target"):
        build(["kernel"], lab.context(), sanitize=True)


def test_the_build_threads_share_one_upstreams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # QEMU's and the kernel's builds ask for it at the same moment on a
    # fresh cache: two would run two apt index updates into one directory
    import threading

    import tangolab.build.context as context

    made: list[object] = []

    class SlowUpstreams:
        def __init__(self, cache: Path, log: Path) -> None:
            time.sleep(0.2)
            made.append(self)

    monkeypatch.setattr(context, "Upstreams", SlowUpstreams)
    ctx = BuildContext(repo=tmp_path, build=tmp_path / "build", cache=tmp_path / "cache")
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(ctx.upstreams)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(g is made[0] for g in got)
