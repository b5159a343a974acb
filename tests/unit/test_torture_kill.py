# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture kill` against the fake QEMU of tests/conftest.py, and the
pruning of what a killed orchestrator leaves (scratch image, sockets)."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tangolab import instances
from tangolab.torture import kill
from tangolab.torture.kill import KillPlan, plan_runs, qemu_processes, run_once


def test_plan_rotates_signals_and_kinds_and_is_seeded() -> None:
    plans = plan_runs(6, 7, 2.0)
    assert [p.sig for p in plans] == [signal.SIGINT, signal.SIGTERM, signal.SIGKILL] * 2
    assert [p.kind for p in plans] == ["boot", "nand"] * 3
    assert all(0.0 <= p.delay <= 2.0 for p in plans)
    assert plans == plan_runs(6, 7, 2.0)
    assert [p.delay for p in plans] != [p.delay for p in plan_runs(6, 8, 2.0)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killed_fake_run_leaves_nothing(fake_build: Path, tmp_path: Path, sig: int) -> None:
    plan = KillPlan(0, "nand", signal.Signals(sig), 0.2, after_qemu=True)
    result = run_once(plan, fake_build, log_dir=tmp_path / "logs", name=f"k-{sig}")
    assert result.qemu_seen
    assert result.leftovers == [], kill.describe(result)
    assert not (fake_build / "runs" / f"k-{sig}").exists()


def test_a_qemu_that_survives_is_reported_and_killed(
    fake_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A QEMU ignoring SIGTERM (PR_SET_PDEATHSIG) and SIGHUP (its terminal
    closing) outlives a SIGKILLed orchestrator: the checker must say so (and
    kill it, it is ours)."""
    monkeypatch.setattr(kill, "QEMU_GRACE", 1.0)
    fake = fake_build / "qemu" / "qemu-system-arm"
    wrapper = tmp_path / "qemu-stubborn"
    wrapper.write_text(f"#!/bin/sh\ntrap '' TERM HUP\nexec {fake} \"$@\"\n")
    wrapper.chmod(0o755)
    plan = KillPlan(0, "boot", signal.SIGKILL, 0.5, after_qemu=True)
    stubborn = ["--qemu", str(wrapper), "--append", "fake.stubborn=1"]
    result = run_once(plan, fake_build, log_dir=tmp_path, name="stubborn", extra_args=stubborn)
    assert any("still running" in x for x in result.leftovers), result.leftovers
    assert qemu_processes(fake_build / "runs" / "stubborn") == []
    assert (fake_build / "runs" / "stubborn").is_dir()  # kept for a post-mortem


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_ctrl_c_at_start_up_is_no_traceback(fake_build: Path, tmp_path: Path, delay: float) -> None:
    """Ctrl-C while the command starts: no traceback from tangolab's code (the
    interpreter's own start-up, before any of it runs, is Python's business)."""
    result = run_once(KillPlan(0, "boot", signal.SIGINT, delay), fake_build, log_dir=tmp_path)
    assert result.leftovers == [], kill.describe(result)
    python_start = any("Python's start-up" in n for n in result.notes)
    assert result.exit_code in (130, -signal.SIGINT) or python_start, kill.describe(result)


def test_a_traceback_of_our_code_is_a_leftover(
    fake_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker sees a traceback: a `tangolab` that crashes in its own code."""
    script = tmp_path / "tangolab"
    script.write_text(
        f"#!{sys.executable}\nimport time, tangolab.torture.kill as k\n"
        "time.sleep(0.3)\nk.plan_runs(1, 1, -1, kinds=())\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(kill, "tangolab_argv", lambda: [str(script)])
    result = run_once(KillPlan(0, "boot", signal.SIGINT, 5.0), fake_build, log_dir=tmp_path)
    assert any("traceback" in x for x in result.leftovers), kill.describe(result)


def _cli(build: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TANGOLAB_BUILD=str(build))
    return subprocess.run(
        [sys.executable, "-m", "tangolab.cli", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_torture_kill_command_prints_the_figures(fake_build: Path, tmp_path: Path) -> None:
    res = _cli(fake_build, "torture", "kill", "--runs", "3", "--max-delay", "0.5", "--seed", "3")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SIGKILL" in res.stdout
    assert res.stdout.splitlines()[-1].split() == ["all", "3", "0"]


def test_torture_kill_usage_errors_are_one_line(tmp_path: Path) -> None:
    res = _cli(tmp_path, "torture", "kill", "--runs", "0")
    assert res.returncode == 2
    assert res.stderr.startswith("error:") and len(res.stderr.splitlines()) == 1
    res = _cli(tmp_path, "torture", "kill", "--runs", "1")
    assert res.returncode != 0 and "missing build artifact" in res.stderr
    assert "Traceback" not in res.stderr


def _dead_run(runs: Path, name: str) -> Path:
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    (run_dir / instances.LOCK_FILE).touch()
    (run_dir / instances.SCRATCH_IMAGE).write_bytes(b"\xff" * 4096)
    (run_dir / f".{instances.SCRATCH_IMAGE}.tmp123").write_bytes(b"\xff")
    (run_dir / "console.log").write_text("log")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(run_dir / "qmp.sock"))
    sock.close()
    return run_dir


def test_listing_prunes_a_dead_record_with_its_scratch_image(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_dir = _dead_run(runs, "dead")
    record = instances.InstanceRecord(
        name="dead",
        pid=2**22 + 1,  # no such process
        pid_start=None,
        run_dir=str(run_dir),
        qmp_socket=str(run_dir / "qmp.sock"),
        console_log=str(run_dir / "console.log"),
        stderr_log=str(run_dir / "qemu.stderr"),
    )
    instances.write_record(record, runs)
    assert instances.list_instances(runs) == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["console.log", "lock"]


def test_listing_prunes_an_unowned_run_dir_but_not_a_locked_one(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    free = _dead_run(runs, "free")
    held = _dead_run(runs, "held")
    fd = os.open(held / instances.LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        instances.list_instances(runs)
        assert sorted(p.name for p in free.iterdir()) == ["console.log", "lock"]
        assert (held / instances.SCRATCH_IMAGE).exists()
        assert (held / "qmp.sock").exists()
    finally:
        os.close(fd)


def test_ps_marks_an_instance_whose_orchestrator_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tangolab.cli import main

    build = tmp_path / "build"
    monkeypatch.setenv("TANGOLAB_BUILD", str(build))  # main() sets it: restored afterwards
    runs = build / "runs"
    (runs / "orphan").mkdir(parents=True)
    qemu = subprocess.Popen(["sleep", "30"])  # stands in for a QEMU that outlived its owner
    owner = subprocess.Popen(["true"])
    owner.wait()
    try:
        for name, owner_pid in (("orphan", owner.pid), ("owned", os.getpid())):
            (runs / name).mkdir(exist_ok=True)
            record = instances.InstanceRecord(
                name=name,
                pid=qemu.pid,
                pid_start=instances.process_start_time(qemu.pid),
                run_dir=str(runs / name),
                qmp_socket=str(runs / name / "qmp.sock"),
                console_log="",
                stderr_log="",
                owner_pid=owner_pid,
                state="ready",
            )
            instances.write_record(record, runs)
        assert main(["--build-dir", str(build), "ps"]) == 0
        out = capsys.readouterr().out
        rows = {line.split()[0]: line for line in out.splitlines()[1:]}
        assert "ready (orphaned)" in rows["orphan"]
        assert "orphaned" not in rows["owned"]
    finally:
        qemu.kill()
        qemu.wait()
