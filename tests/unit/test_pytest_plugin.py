# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The pytest plugin (tangolab.pytest_plugin), run by pytester against the fake QEMU
of tests/conftest.py: inner test sessions boot the fake guest through the
plugin's fixtures, exactly as user tests boot the real one.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import pytest

# pytester restores sys.modules after each test: modules first imported during a
# test (here by the fake_build fixture) would be imported afresh next time, which
# cryptography's Rust bindings do not survive. Import them up front.
from cryptography.hazmat.primitives import serialization  # noqa: F401
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401

from tangolab import pytest_plugin
from tangolab.pytest_plugin import skip_or_fail

pytest_plugins = ["pytester"]

IMAGE_BYTES_PER_BLOCK = 64 * 2112


def _plugin_args() -> list[str]:
    """Load the plugin explicitly only if its entry point is not installed."""
    names = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    return [] if "tangolab.pytest_plugin" in names else ["-p", "tangolab.pytest_plugin"]


@pytest.fixture
def inner(
    pytester: pytest.Pytester, fake_build: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., pytest.RunResult]:
    """Run an inner pytest session (a subprocess) with the fake build (and, unless
    a test sets it again, without TANGOLAB_REQUIRE_SYSTEM)."""
    monkeypatch.delenv("TANGOLAB_REQUIRE_SYSTEM", raising=False)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            *_plugin_args(), "--tangolab-build", str(fake_build), "-p", "no:cacheprovider",
            *args, timeout=120,
        )  # fmt: skip

    return run


def run_dirs(build: Path) -> list[str]:
    runs = build / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def test_entry_point_is_declared() -> None:
    eps = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "tangolab"]
    if not eps:
        skip_or_fail("package installed without the pytest11 entry point (re-run pip install -e)")
    assert eps[0].value == "tangolab.pytest_plugin"
    assert eps[0].load() is pytest_plugin


def test_boot_run_and_qmp(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tangolab(blocks=16)
        def test_guest(tango_machine, tango_qmp, tango_nand_image, tango_faults, tmp_path):
            assert tango_nand_image.parent == tmp_path
            data = tango_nand_image.read_bytes()
            assert len(data) == 16 * 64 * 2112 and data.count(0xff) == len(data)
            argv = tango_machine.command_line()
            i = argv.index("-global")
            assert argv[i + 1] == "onfi-nand.blocks=16"
            assert f"if=mtd,index=0,format=raw,file={tango_nand_image}" in argv
            assert "-icount" not in argv
            res = tango_machine.run("echo hi; (exit 3)")
            assert (res.status, res.output) == (3, "hi\\n")
            assert tango_qmp("query-status")["status"] == "running"
            assert tango_qmp.__self__ is tango_machine
            tango_faults.set_route_latency("5us")
            assert tango_machine.qom_get("/machine/sbox", "latency-ns") == 5000
            assert tango_machine.name.startswith("pt-test_boot_run_and_qmp.py-test_guest-")
        """
    )
    result = inner()
    result.assert_outcomes(passed=1)
    assert run_dirs(fake_build) == []  # passing test: its logs are removed


def test_keep_logs(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    pytester.makepyfile(
        """
        def test_guest(tango_machine):
            assert tango_machine.run("echo kept").output == "kept\\n"
        """
    )
    inner("--tangolab-keep-logs").assert_outcomes(passed=1)
    [name] = run_dirs(fake_build)
    assert b"kept" in (fake_build / "runs" / name / "console.log").read_bytes()


def test_failure_report_has_the_console_tail(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    pytester.makepyfile(
        """
        def test_guest(tango_qmp, tango_machine):
            tango_machine.run("echo the-guest-said-this")
            assert False, "failing on purpose"
        """
    )
    result = inner()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "failing on purpose" in out
    assert ": console, last 60 lines (" in out
    assert "the-guest-said-this" in out
    assert "tangolab: userspace ready" in out
    assert "QEMU stderr" in out and "fake-qemu: started" in out
    [name] = run_dirs(fake_build)  # failed: kept for the post-mortem
    assert f"tangolab {name}: console" in out


def test_boot_failure_is_a_setup_error_with_the_panic(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tangolab(append="fake.mode=panic")
        def test_guest(tango_machine):
            pass
        """
    )
    result = inner()
    result.assert_outcomes(errors=1)
    assert "KernelPanic" in result.stdout.str()
    assert "Kernel panic - not syncing" in result.stdout.str()


def test_missing_artifacts_skip_naming_the_build_command(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    (fake_build / "rootfs" / "initramfs.cpio.gz").unlink()
    pytester.makepyfile(
        """
        def test_guest(tango_machine):
            raise AssertionError("must not run")

        def test_no_guest_needed():
            pass
        """
    )
    result = inner("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    out = result.stdout.str()
    assert "initramfs.cpio.gz" in out and "run `tangolab build rootfs`" in out


def test_missing_artifacts_fail_when_the_system_is_required(
    pytester: pytest.Pytester,
    inner: Callable[..., pytest.RunResult],
    fake_build: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (fake_build / "linux" / "zImage").unlink()
    pytester.makepyfile(
        """
        def test_guest(tango_machine):
            raise AssertionError("must not run")
        """
    )
    monkeypatch.setenv("TANGOLAB_REQUIRE_SYSTEM", "1")
    result = inner()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "run `tangolab build kernel`" in out
    assert "TANGOLAB_REQUIRE_SYSTEM=1: not skipped" in out


def test_skip_or_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANGOLAB_REQUIRE_SYSTEM", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no frobnicator"):
        skip_or_fail("no frobnicator")
    monkeypatch.setenv("TANGOLAB_REQUIRE_SYSTEM", "1")
    with pytest.raises(pytest.fail.Exception, match="no frobnicator"):
        skip_or_fail("no frobnicator")


def test_module_machine_is_shared(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.tangolab(blocks=8, append="quiet")
        pids = []

        def test_one(tango_machine_module, tango_qmp):
            assert tango_qmp.__self__ is tango_machine_module
            pids.append(tango_machine_module.pid)
            assert "quiet" in tango_machine_module.kernel_cmdline
            assert "onfi-nand.blocks=8" in tango_machine_module.command_line()

        def test_two(tango_machine_module, tango_faults):
            pids.append(tango_machine_module.pid)
            tango_faults.set_route_latency(7)
            assert pids[0] == pids[1]
        """
    )
    inner().assert_outcomes(passed=2)
    assert run_dirs(fake_build) == []


def test_class_machine_is_shared_per_class(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], fake_build: Path
) -> None:
    """One machine per class, with the class's marker over the module's; a
    function outside a class has its own."""
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.tangolab(blocks=8, append="quiet")
        pids = {}

        class TestOne:
            def test_one(self, tango_machine_class, tango_qmp):
                assert tango_qmp.__self__ is tango_machine_class
                pids.setdefault("one", set()).add(tango_machine_class.pid)

            def test_two(self, tango_machine_class, tango_faults):
                pids.setdefault("one", set()).add(tango_machine_class.pid)
                tango_faults.set_route_latency(7)
                assert "onfi-nand.blocks=8" in tango_machine_class.command_line()

        @pytest.mark.tangolab(blocks=16)
        class TestOther:
            def test_three(self, tango_machine_class):
                pids.setdefault("other", set()).add(tango_machine_class.pid)
                assert "onfi-nand.blocks=16" in tango_machine_class.command_line()
                assert "quiet" in tango_machine_class.kernel_cmdline

            def test_four(self, tango_machine_class):
                pids.setdefault("other", set()).add(tango_machine_class.pid)

        def test_outside(tango_machine_class):
            pids.setdefault("outside", set()).add(tango_machine_class.pid)

        def test_last():
            assert [len(p) for p in pids.values()] == [1, 1, 1], pids
            assert len(set.union(*pids.values())) == 3, pids
        """
    )
    inner().assert_outcomes(passed=6)
    assert run_dirs(fake_build) == []


def test_configuration_from_options_and_markers(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.tangolab(blocks=32, append="from-module")

        def test_module_level(tango_machine_config):
            c = tango_machine_config
            assert (c.blocks, c.append, c.icount, c.ssh) == (32, "from-module", 3, False)
            assert c.extra_args() == ["-global", "onfi-nand.blocks=32"]

        @pytest.mark.tangolab(icount="shift=auto,sleep=off", qemu_args=["-d", "guest_errors"])
        class TestClass:
            @pytest.mark.tangolab(blocks=1024, ssh=True)
            def test_closest_wins(self, tango_machine_config):
                c = tango_machine_config
                assert (c.blocks, c.append, c.icount, c.ssh) == (
                    1024, "from-module", "shift=auto,sleep=off", True)
                assert c.extra_args() == [
                    "-global", "onfi-nand.blocks=1024", "-d", "guest_errors"]

        def test_default_image(tango_nand_image):
            assert tango_nand_image.stat().st_size == 32 * 64 * 2112

        @pytest.mark.tangolab(bad_blocks=[0, 31])
        def test_bad_blocks_in_the_image(tango_nand_image):
            data = tango_nand_image.read_bytes()
            block = 64 * 2112
            assert data[2048] == 0 and data[31 * block + 2048] == 0
            assert data.count(0xFF) == len(data) - 2
        """
    )
    inner("--tangolab-icount", "3").assert_outcomes(passed=4)


@pytest.mark.parametrize(
    "marker,message",
    [
        ("blocks=3", "power of 2 from 1 to 1024"),
        ("blocks=2048", "power of 2 from 1 to 1024"),
        ("blocks='8'", "must be an int"),
        ("colour='red'", "unknown tangolab marker argument(s) colour"),
        ("qemu_args='-d guest_errors'", "must be a list"),
        ("blocks=8, bad_blocks=[8]", "bad_blocks=[8]) must be a list of block numbers 0..7"),
        ("bad_blocks=3", "must be a list of block numbers"),
    ],
)
def test_bad_markers_are_clear_errors(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult], marker: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.tangolab({marker})
        def test_guest(tango_machine):
            raise AssertionError("must not run")
        """
    )
    result = inner()
    result.assert_outcomes(errors=1)
    assert message in result.stdout.str()


def test_marker_is_registered(pytester: pytest.Pytester, fake_build: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tangolab(blocks=8)
        def test_nothing():
            pass
        """
    )
    result = pytester.runpytest_subprocess(*_plugin_args(), "--strict-markers", "-p",
                                           "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess(*_plugin_args(), "--markers")
    assert "@pytest.mark.tangolab(blocks=64" in result.stdout.str()


def test_tail_reads_the_end_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"".join(b"line %d\r\n" % i for i in range(100)) + b"\xff last")
    text = pytest_plugin.tail(log, 3)
    assert text.splitlines() == ["line 98", "line 99", "\ufffd last"]
    assert pytest_plugin.tail(tmp_path / "missing.log") == ""
