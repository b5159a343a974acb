# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Every command's bad input ends in one error line and a non-zero exit, never
in a traceback: the real `tangolab` program, run as a subprocess against an
empty build directory, and in-process for Ctrl-C and refused files."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tangolab import cli
from tangolab.cli import main


def tangolab(tmp_path: Path, *argv: str, build: Path | None = None) -> tuple[int, str, str]:
    build = build or tmp_path / "empty-build"
    build.mkdir(exist_ok=True)
    env = dict(os.environ, TANGOLAB_BUILD=str(build), TANGOLAB_CACHE=str(tmp_path / "cache"),
               COLUMNS="80")  # fmt: skip
    for var in ("TANGOLAB_QEMU", "TANGOLAB_LINUX_SRC", "TANGOLAB_QEMU_SRC"):
        env.pop(var, None)
    res = subprocess.run([sys.executable, "-m", "tangolab.cli", *argv], env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    return res.returncode, res.stdout, res.stderr


def the_error(err: str) -> str:
    """The one error line of stderr (progress lines start with 'tangolab: ' or '>>')."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("tangolab: ", ">> "))]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


MISSING_QEMU = "error: missing build artifact {build}/qemu/qemu-system-arm: run `tangolab build qemu` to make it"  # noqa: E501


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "boot"],
        ["bench", "nand"],
        ["boot", "--run", "true"],
        ["boot"],
        ["experiment", "--policies", "irq", "--latencies", "0", "--out", "{tmp}/exp"],
    ],
)
def test_no_build(tmp_path: Path, argv: list[str]) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = tangolab(tmp_path, *argv)
    assert code == 1
    assert the_error(err) == MISSING_QEMU.format(build=tmp_path / "empty-build")


def test_info_with_no_build(tmp_path: Path) -> None:
    code, _, err = tangolab(tmp_path, "info")
    assert code == 1
    assert "nothing built yet" in the_error(err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "everything"], "unknown target 'everything'"),
        (["build", "-j", "0"], "--jobs must be at least 1"),
        (
            ["build", "kernel", "--linux-src", "/nonexistent"],
            "Linux source tree /nonexistent: no such directory",
        ),
        (["build", "qemu", "--qemu-src", "/"], "/ is not a QEMU source tree: it has no VERSION"),
        (["boot", "--memory", "8", "--run", "true"], "memory 8 MiB out of range"),
        (["boot", "--kernel", "/nonexistent/zImage"], "kernel file /nonexistent/zImage: no such"),
        (["shell", "--initrd", "/nonexistent.cpio.gz"], "needs a terminal"),
        (["shell"], "`tangolab shell` needs a terminal"),
        (["bench", "boot", "--runs", "0"], "argument --runs: invalid choice"),
        (["bench", "boot", "--timeout", "-3"], "must be positive"),
        (["bench", "boot", "--dtb", "/nonexistent.dtb"], "dtb file /nonexistent.dtb: no such"),
        (["bench", "nand", "--size", "100KiB"], "a whole number of 128 KiB eraseblocks"),
        (["bench", "nand", "--size", "128MiB"], "128 KiB to 64 MiB"),
        (["bench", "nand", "--size", "lots"], "--size"),
        (["bench", "nand", "--speedtest-count", "1"], "1 eraseblocks: 2..1024"),
        (["bench", "nand", "--speedtest-count", "many"], "not a number of eraseblocks"),
        (["bench", "nand", "--runs", "21"], "argument --runs: invalid choice"),
        (["qmp", "query-status"], "no running tangolab instance"),
        (["qmp", "query-status", "[1]"], "ARGS-JSON must be a JSON object"),
        (["ps", "--bogus"], "unrecognized arguments: --bogus"),
        (["info", "extra"], "unrecognized arguments: extra"),
        (["inject", "latency", "fast"], "fast"),
        (["nand", "check", "/nonexistent.img"], "/nonexistent.img"),
        (["nand", "new"], "the following arguments are required: IMAGE"),
        (["experiment", "--policies", "bogus"], "bad policy 'bogus'"),
        (["experiment", "--latencies", "5 parsecs"], "bad latency '5 parsecs'"),
        (["demo", "--fifo-depth", "100"], "multiple of 64"),
        (["experiment", "--rerun", "results.json"], "expected RESULTS.json:ROW"),
        (["patches"], "the following arguments are required: ACTION"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    code, _, err = tangolab(tmp_path, *argv)
    assert code in (1, 2), err
    assert message in the_error(err)
    assert ">> " not in err  # nothing was built


def test_demo_checks_its_options_before_building(tmp_path: Path) -> None:
    code, _, err = tangolab(tmp_path, "demo", "--fifo-depth", "1000")
    assert code == 2
    assert the_error(err) == "error: --fifo-depth 1000: a multiple of 64"
    assert not (tmp_path / "empty-build" / "logs").exists()


def test_patches_export_refuses_a_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, _, err = tangolab(tmp_path, "patches", "export", "--out", str(out))
    assert code == 2
    assert the_error(err) == (
        f"error: --out {out}: directory not empty and not written by `tangolab patches "
        "export`; give a new or empty directory"
    )
    assert (out / "thesis.tex").read_text() == "years of work"


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "ps", interrupted)
    assert main(["ps"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_ctrl_c_during_boot(tmp_path: Path, fake_build: Path) -> None:
    env = dict(os.environ, TANGOLAB_BUILD=str(fake_build), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tangolab.cli", "boot", "--append", "fake.mode=hang", "--run",
         "true"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = fake_build / "runs"
        console = next(runs.glob("*/console.log"), None) if runs.exists() else None
        if console is not None and b"Linux version" in console.read_bytes():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert the_error(err) == "error: interrupted"
    assert not [p for p in (fake_build / "runs").glob("*/instance.json")]


def test_a_refused_file_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(args: argparse.Namespace) -> int:
        raise PermissionError(13, "Permission denied", "/root/out")

    monkeypatch.setitem(cli.COMMANDS, "ps", refused)
    assert main(["ps"]) == 1
    assert capsys.readouterr().err == "error: [Errno 13] Permission denied: '/root/out'\n"
