# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The sanitizer options (tangolab.sanitizers) against gcc's real ASan/UBSan
runtimes, and --tangolab-sanitize failing the test in which a report appears.

A small C program built with -fsanitize=address,undefined (as QEMU's
--enable-asan --enable-ubsan builds) stands in for the sanitized QEMU: run
as `prog overflow|ubsan|leak|abort|clean` it makes that error, or none.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

# pytester restores sys.modules after each test (see test_pytest_plugin.py):
# import what the fake_build fixture imports up front.
from cryptography.hazmat.primitives import serialization  # noqa: F401
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401

from tangolab.pytest_plugin import skip_or_fail
from tangolab.sanitizers import environment, reports

pytest_plugins = ["pytester"]

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noinline)) leak(void)
{
    char *volatile p = malloc(100);

    p[0] = 1;
    p = NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    if (!strcmp(what, "overflow")) {
        char *volatile p = malloc(8);

        p[8] = 1;
        free(p);
    } else if (!strcmp(what, "ubsan")) {
        volatile int x = 0x7fffffff;

        x = x + argc;
        printf("%d\n", x);
    } else if (!strcmp(what, "leak")) {
        leak();
    } else if (!strcmp(what, "abort")) {
        abort();
    }
    puts("done");
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        skip_or_fail("gcc not found (bootstrap.sh installs it)")
    out = tmp_path_factory.mktemp("sanitized")
    (out / "prog.c").write_text(PROGRAM)
    res = subprocess.run(
        ["gcc", "-O0", "-g", "-fsanitize=address,undefined", "-o", "prog", "prog.c"],
        cwd=out, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out / "prog"


def _run(program: Path, what: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment(report_dir)}
    return subprocess.run(
        [str(program), what], env=env, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize(
    ("what", "summary"),
    [
        ("overflow", "SUMMARY: AddressSanitizer: heap-buffer-overflow"),
        ("leak", "SUMMARY: AddressSanitizer: 100 byte(s) leaked in 1 allocation(s)."),
        ("ubsan", "UBSan: add_overflow in main "),
        ("abort", "SUMMARY: AddressSanitizer: ABRT"),
    ],
)
def test_every_error_is_fatal_and_leaves_a_report_file(
    program: Path, tmp_path: Path, what: str, summary: str
) -> None:
    res = _run(program, what, tmp_path)
    assert res.returncode != 0
    assert "done" not in res.stdout or what == "leak"  # leaks are found at exit
    [report] = reports(tmp_path)
    assert report.path.name == f"sanitizer.{report.pid}"
    assert report.summary().startswith(summary), report.text
    assert "ERROR: AddressSanitizer" not in res.stderr  # the report went to the file
    if what == "ubsan":
        assert "runtime error: signed integer overflow" in res.stderr
        assert "prog.c:" in report.summary()
    assert reports(tmp_path, seen={report.path}) == []


def test_a_clean_run_leaves_no_report(program: Path, tmp_path: Path) -> None:
    res = _run(program, "clean", tmp_path)
    assert (res.returncode, res.stdout) == (0, "done\n")
    assert reports(tmp_path) == []
    assert reports(tmp_path / "absent") == []
    # what ASan logs for QEMU's coroutines is a warning, not a report
    (tmp_path / "sanitizer.12").write_text(
        "==12==WARNING: ASan doesn't fully support makecontext/swapcontext functions and "
        "may produce false positives in some cases!\n"
    )
    assert reports(tmp_path) == []


def _plugin_args() -> list[str]:
    names = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    return [] if "tangolab.pytest_plugin" in names else ["-p", "tangolab.pytest_plugin"]


@pytest.fixture
def inner(
    pytester: pytest.Pytester, fake_build: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., pytest.RunResult]:
    monkeypatch.delenv("TANGOLAB_REQUIRE_SYSTEM", raising=False)
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            *_plugin_args(), "--tangolab-build", str(fake_build), "-p", "no:cacheprovider",
            *args, timeout=120,
        )  # fmt: skip

    return run


def test_sanitize_fails_the_test_in_which_a_report_appears(
    pytester: pytest.Pytester,
    inner: Callable[..., pytest.RunResult],
    fake_build: Path,
    program: Path,
) -> None:
    """The sanitized QEMU of the build is $TANGOLAB_QEMU in the session; a
    report fails the test that made it (also an xfail test, and a report made
    at teardown), not the others."""
    asan = fake_build / "qemu-asan" / "qemu-system-arm"
    asan.parent.mkdir()
    shutil.copy(program, asan)
    pytester.makepyfile(
        """
        import os
        import subprocess

        import pytest

        def qemu(what):
            return subprocess.run([os.environ["TANGOLAB_QEMU"], what], capture_output=True)

        def test_clean():
            assert os.environ["TANGOLAB_QEMU"].endswith("qemu-asan/qemu-system-arm")
            assert "log_path=" in os.environ["ASAN_OPTIONS"]
            assert qemu("clean").returncode == 0

        def test_overflow_but_passes():
            qemu("overflow")

        @pytest.mark.xfail(reason="expected to fail, but not with a memory error")
        def test_xfail_with_a_leak():
            qemu("leak")
            assert False

        @pytest.fixture
        def exits_with_ub():
            yield
            qemu("ubsan")

        def test_report_at_teardown(exits_with_ub):
            pass
        """
    )
    result = inner("--tangolab-sanitize")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    out = result.stdout.str()
    module = "test_sanitize_fails_the_test_in_which_a_report_appears.py"
    # once per report in the failure sections (the short summary repeats
    # the messages in full only where pytest sees $CI, as in CI)
    sections = out.split("short test summary info")[0]
    assert sections.count("sanitizer report while the test ran:") == 3
    for line in (
        "SUMMARY: AddressSanitizer: heap-buffer-overflow ",
        "SUMMARY: AddressSanitizer: 100 byte(s) leaked in 1 allocation(s).",
        "UBSan: add_overflow in main ",
        f"tangolab: 3 sanitizer report(s) kept in {fake_build / 'sanitizer'}/",
        f"FAILED {module}::test_overflow_but_passes",
        f"FAILED {module}::test_xfail_with_a_leak",
        f"ERROR {module}::test_report_at_teardown",
    ):
        assert line in out


def test_sanitize_needs_the_sanitized_build(
    pytester: pytest.Pytester, inner: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = inner("--tangolab-sanitize")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "run `tangolab build qemu --sanitize`" in result.stderr.str()
