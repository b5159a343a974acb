# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The `tangolab` command line, against the fake QEMU (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

import tangolab.build
from tangolab import instances
from tangolab.build.context import BuildContext
from tangolab.build.runner import run
from tangolab.cli import main, parse_qmp_args
from tangolab.errors import UsageError
from tangolab.machine import Machine

ChildPids = Callable[[], set[int]]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("tangolab: ")]


# --- boot ------------------------------------------------------------------------


def test_boot_run_prints_output_and_exits_with_status(
    fake_build: Path, capsys: pytest.CaptureFixture[str], child_pids: ChildPids
) -> None:
    code, out, _ = run_cli(capsys, "boot", "--run", "echo hi; echo there; sh -c 'exit 5'")
    assert code == 5
    assert out == "hi\nthere\n"
    assert not child_pids()
    assert instances.list_instances(fake_build / "runs") == []


def test_boot_run_over_ssh(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "boot", "--ssh", "--run", "echo via-ssh; exit 3")
    assert (code, out) == (3, "via-ssh\n")


def test_boot_with_build_dir_option(
    fake_build: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANGOLAB_BUILD", "/nonexistent")
    code, out, _ = run_cli(
        capsys, "--build-dir", str(fake_build), "boot", "--name", "opt", "--run", "echo ok"
    )
    assert (code, out) == (0, "ok\n")
    assert (fake_build / "runs" / "opt" / "console.log").exists()


def test_missing_artifact_is_one_clear_line(
    fake_build: Path, capsys: pytest.CaptureFixture[str], child_pids: ChildPids
) -> None:
    (fake_build / "linux" / "zImage").unlink()
    code, out, err = run_cli(capsys, "boot", "--run", "true")
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert str(fake_build / "linux" / "zImage") in line
    assert "tangolab build kernel" in line
    assert "Traceback" not in err
    assert not child_pids()


def test_guest_panic_reports_log_tails(
    fake_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "boot", "--append", "fake.mode=panic", "--run", "true")
    assert code == 1
    assert "error: guest kernel panic: Kernel panic - not syncing" in err
    assert "fake-qemu: started" in err
    assert "Traceback" not in err


def test_busy_port_is_one_clear_line(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = run_cli(capsys, "boot", "--ssh-port", str(port), "--run", "true")
    assert code == 1
    [line] = error_lines(err)
    assert f"TCP port {port} on 127.0.0.1 is busy" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["boot", "--memory", "lots"],
        ["boot", "--ssh-port", "0"],
        ["boot", "--boot-timeout", "-1"],
        ["build", "everything"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: tangolab")
    assert "--help`)" in line


def test_bad_machine_values_exit_2(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "boot", "--memory", "8", "--run", "true")
    assert code == 2
    assert "memory 8 MiB out of range" in err
    code, _, err = run_cli(capsys, "boot", "--qemu-args", "-d 'unterminated", "--run", "true")
    assert code == 2
    assert "--qemu-args" in err


def test_invalid_instance_name(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "boot", "--name", "a/b", "--run", "true")
    assert code == 1
    assert "invalid instance name 'a/b'" in err


# --- qmp, ps -----------------------------------------------------------------------


def test_qmp_against_running_instance(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Machine(build=fake_build, name="q1", boot_timeout=20):
        code, out, _ = run_cli(capsys, "qmp", "--instance", "q1", "query-status")
        assert code == 0
        assert json.loads(out) == {"running": True, "status": "running"}
        args = '{"path": "/machine/sbox", "property": "latency-ns", "value": 50000}'
        assert run_cli(capsys, "qmp", "qom-set", args)[0] == 0  # the only instance
        code, out, _ = run_cli(
            capsys,
            "qmp",
            "-i",
            "q1",
            "qom-get",
            '{"path": "/machine/sbox", "property": "latency-ns"}',
        )
        assert (code, json.loads(out)) == (0, 50000)
        code, out, err = run_cli(capsys, "qmp", "--instance", "q1", "no-such-command")
        assert code == 1
        assert out == ""
        assert error_lines(err) == [
            "error: QEMU: CommandNotFound: The command no-such-command has not been found"
        ]


def test_qmp_bad_json_exits_2(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "qmp", "--instance", "any", "qom-get", "{bad")
    assert code == 2
    assert "ARGS-JSON is not valid JSON" in err
    code, _, err = run_cli(capsys, "qmp", "qom-get", "[1, 2]")
    assert code == 2
    assert "must be a JSON object, got list" in err


def test_qmp_unknown_instance(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "qmp", "--instance", "nope", "query-status")
    assert code == 1
    assert error_lines(err) == ["error: no running instance named 'nope' (running: none)"]
    code, _, err = run_cli(capsys, "qmp", "query-status")
    assert code == 1
    assert "no running tangolab instance" in err


def test_parse_qmp_args() -> None:
    assert parse_qmp_args(None) == {}
    assert parse_qmp_args("  ") == {}
    assert parse_qmp_args('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    with pytest.raises(UsageError):
        parse_qmp_args('"string"')


def test_ps(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "ps") == (0, "no running instances\n", "")
    with Machine(build=fake_build, name="ps1", ssh=True, boot_timeout=20) as m:
        code, out, _ = run_cli(capsys, "ps")
        assert code == 0
        header, row = out.splitlines()
        assert header.split()[:5] == ["NAME", "PID", "STATE", "SSH", "UP"]
        assert row.split()[:4] == ["ps1", str(m.pid), "ready", str(m.ssh_port)]
        assert row.split()[-1] == str(m.qmp_socket)
        code, out, _ = run_cli(capsys, "ps", "--json")
        [entry] = json.loads(out)
        assert (entry["name"], entry["pid"]) == ("ps1", m.pid)
    assert run_cli(capsys, "ps", "--json") == (0, "[]\n", "")


# --- info, build ---------------------------------------------------------------------


def test_info_without_build(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "info")
    assert code == 1
    assert "artifacts.json not found" in err
    assert "tangolab build all" in err


def test_info_json(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = {
        "qemu": {"version": "10.0.13", "origin": "Debian trixie qemu 1:10.0.13+ds-1"},
        "kernel": {"version": "6.12.117", "release": "6.12.117-tangolab"},
    }
    (fake_build / "artifacts.json").write_text(json.dumps(record))
    (fake_build / "rootfs" / "initramfs.cpio.gz").unlink()
    code, out, _ = run_cli(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["build_dir"] == str(fake_build)
    assert info["versions"]["qemu"]["version"] == "10.0.13"
    assert info["versions"]["kernel"]["release"] == "6.12.117-tangolab"
    assert info["artifacts"]["kernel"] == {
        "path": str(fake_build / "linux" / "zImage"),
        "exists": True,
        "made_by": "tangolab build kernel",
    }
    assert info["artifacts"]["initrd"]["exists"] is False
    code, out, _ = run_cli(capsys, "info")
    assert code == 0
    assert "qemu: version 10.0.13" in out
    assert "(missing: run `tangolab build rootfs`)" in out


def test_build_delegates_to_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calls: list[tuple[list[str], BuildContext]] = []
    sanitized: list[bool] = []

    def fake_build(
        targets: list[str], ctx: BuildContext, *, sanitize: bool = False
    ) -> dict[str, Any]:
        calls.append((targets, ctx))
        sanitized.append(sanitize)
        return {}

    monkeypatch.setattr(tangolab.build, "build", fake_build)
    monkeypatch.setenv("TANGOLAB_BUILD", str(tmp_path / "build"))
    monkeypatch.delenv("TANGOLAB_LINUX_SRC", raising=False)
    monkeypatch.delenv("TANGOLAB_QEMU_SRC", raising=False)
    assert run_cli(capsys, "build", "kernel", "rootfs", "-j", "3")[0] == 0
    assert calls[-1][0] == ["kernel", "rootfs"]
    assert calls[-1][1].jobs == 3
    assert calls[-1][1].build == tmp_path / "build"
    linux = tmp_path / "linux"
    linux.mkdir()
    (linux / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\n")
    assert run_cli(capsys, "build", "--linux-src", str(linux))[0] == 0
    assert calls[-1][0] == ["all"]
    assert calls[-1][1].linux_src == linux
    code, _, err = run_cli(capsys, "build", "-j", "0")
    assert code == 2
    assert "--jobs" in err
    assert len(calls) == 2
    assert run_cli(capsys, "build", "qemu", "--sanitize")[0] == 0
    assert (calls[-1][0], sanitized) == (["qemu"], [False, False, True])


def test_bad_linux_src_fails_before_building(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(tangolab.build, "build", lambda *a: pytest.fail("must not build"))
    monkeypatch.setenv("TANGOLAB_BUILD", str(tmp_path / "build"))
    code, out, err = run_cli(capsys, "build", "kernel", "--linux-src", "/nonexistent")
    assert (code, out) == (2, "")
    assert err == "error: Linux source tree /nonexistent: no such directory\n"
    (tmp_path / "notlinux").mkdir()
    code, _, err = run_cli(capsys, "build", "--linux-src", str(tmp_path / "notlinux"))
    assert code == 2
    assert err == f"error: {tmp_path / 'notlinux'} is not a Linux source tree: it has no Makefile\n"
    monkeypatch.setenv("TANGOLAB_QEMU_SRC", str(tmp_path / "notlinux"))
    code, _, err = run_cli(capsys, "build", "qemu")
    assert code == 2
    assert "is not a QEMU source tree: it has no VERSION" in err


def test_build_failure_is_one_line_with_command_log_and_tail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "kernel.log"

    def failing_build(
        targets: list[str], ctx: BuildContext, *, sanitize: bool = False
    ) -> dict[str, Any]:
        run(["sh", "-c", "echo compiling; echo 'foo.c:1: error: bad' >&2; exit 2"],
            log=log, title="build Linux")  # fmt: skip
        return {}

    monkeypatch.setattr(tangolab.build, "build", failing_build)
    monkeypatch.setenv("TANGOLAB_BUILD", str(tmp_path / "build"))
    code, out, err = run_cli(capsys, "build", "kernel")
    assert (code, out) == (1, "")
    first, *rest = err.splitlines()
    assert first == (
        "error: build Linux failed (exit status 2) (command: sh -c 'echo compiling; "
        f"echo '\"'\"'foo.c:1: error: bad'\"'\"' >&2; exit 2'; log: {log})"
    )
    assert rest == ["  | compiling", "  | foo.c:1: error: bad"]
    assert "Traceback" not in err


# --- shell (needs a terminal: run the CLI under pexpect) ---------------------------------


def spawn_cli(fake_build: Path, *argv: str) -> pexpect.spawn:
    env = dict(os.environ, TANGOLAB_BUILD=str(fake_build), PYTHONUNBUFFERED="1")
    return pexpect.spawn(
        sys.executable, ["-m", "tangolab.cli", *argv], env=env, timeout=20, encoding="utf-8"
    )


def test_shell_interactive_console(fake_build: Path) -> None:
    child = spawn_cli(fake_build, "shell", "--name", "sh1")
    try:
        child.expect("instance sh1 is ready")
        child.expect(r"tangolab qmp --instance sh1 query-status")
        child.expect("Ctrl-]")
        child.expect("tangolab# ")
        assert instances.get_instance("sh1", fake_build / "runs").state == "ready"
        child.send("echo $((40 + 2))\r")
        child.expect("42")
        child.expect("tangolab# ")
        child.send("\x1d")  # Ctrl-]
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert instances.list_instances(fake_build / "runs") == []
    log = (fake_build / "runs" / "sh1" / "console.log").read_text()
    assert "echo $((40 + 2))" in log  # what the user did is logged too
    assert "42" in log


def test_shell_sigterm_cleans_up(fake_build: Path) -> None:
    child = spawn_cli(fake_build, "shell", "--name", "sh2")
    try:
        child.expect("tangolab# ")
        qemu_pid = instances.get_instance("sh2", fake_build / "runs").pid
        child.kill(15)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 128 + 15
    assert not Path(f"/proc/{qemu_pid}").exists()
    assert instances.list_instances(fake_build / "runs") == []


def test_boot_stays_up_until_ctrl_c(fake_build: Path) -> None:
    child = spawn_cli(fake_build, "boot", "--name", "up1", "--ssh")
    try:
        child.expect("instance up1 is ready")
        child.expect(r"SSH: ssh -p (\d+) -i ")
        assert (
            int(child.match.group(1)) == instances.get_instance("up1", fake_build / "runs").ssh_port
        )
        child.expect("stop it with Ctrl-C")
        qemu_pid = instances.get_instance("up1", fake_build / "runs").pid
        child.sendintr()
        child.expect("stopping instance up1")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert not Path(f"/proc/{qemu_pid}").exists()
    assert instances.list_instances(fake_build / "runs") == []


def test_shell_needs_a_terminal(fake_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "shell")
    assert code == 2
    assert "needs a terminal" in err
