# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The registry of running instances: entries, liveness, pruning, name claims."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tangolab import instances
from tangolab.errors import InstanceError
from tangolab.instances import InstanceRecord
from tangolab.machine import Machine


def record_for(runs: Path, name: str, pid: int, pid_start: int | None) -> InstanceRecord:
    run_dir = runs / name
    run_dir.mkdir(parents=True, exist_ok=True)
    return InstanceRecord(
        name=name,
        pid=pid,
        pid_start=pid_start,
        run_dir=str(run_dir),
        qmp_socket=str(run_dir / "qmp.sock"),
        console_log=str(run_dir / "console.log"),
        stderr_log=str(run_dir / "qemu.stderr"),
    )


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_running_machine_is_registered_and_unregistered(fake_build: Path) -> None:
    runs = fake_build / "runs"
    with Machine(build=fake_build, name="reg", ssh=True, boot_timeout=20) as m:
        [record] = instances.list_instances(runs)
        assert record.name == "reg"
        assert record.pid == m.pid
        assert record.state == "ready"
        assert record.ssh_port == m.ssh_port
        assert record.qmp_socket == str(m.qmp_socket)
        assert record.console_log == str(m.console_log)
        assert record.owner_pid == os.getpid()
        path = runs / "reg" / instances.RECORD_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["pid"] == m.pid
        assert instances.get_instance(None, runs) == record
        assert instances.get_instance("reg", runs) == record
    assert instances.list_instances(runs) == []
    assert not (runs / "reg" / instances.RECORD_FILE).exists()
    assert (runs / "reg" / "console.log").exists()  # logs stay for post-mortems


def test_name_in_use_is_refused_then_reusable(fake_build: Path) -> None:
    with Machine(build=fake_build, name="dup", boot_timeout=20):
        with pytest.raises(InstanceError, match="'dup' is in use"):
            Machine(build=fake_build, name="dup", boot_timeout=20).start()
        assert [r.name for r in instances.list_instances(fake_build / "runs")] == ["dup"]
    with Machine(build=fake_build, name="dup", boot_timeout=20) as m:
        assert m.run("echo again") == (0, "again\n")


def test_stale_entries_are_pruned(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    dead = record_for(runs, "dead", dead_pid(), None)
    instances.write_record(dead, runs)
    # A leftover socket of a killed QEMU goes with the entry.
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(dead.qmp_socket)
    # Our own pid, but another start time: the pid was reused.
    reused = record_for(runs, "reused", os.getpid(), 1)
    instances.write_record(reused, runs)
    alive = record_for(runs, "alive", os.getpid(), instances.process_start_time(os.getpid()))
    instances.write_record(alive, runs)
    (runs / "garbage").mkdir()
    (runs / "garbage" / instances.RECORD_FILE).write_text("{not json")

    assert [r.name for r in instances.list_instances(runs, prune=False)] == ["alive"]
    assert (runs / "dead" / instances.RECORD_FILE).exists()
    assert [r.name for r in instances.list_instances(runs)] == ["alive"]
    for name in ("dead", "reused", "garbage"):
        assert not (runs / name / instances.RECORD_FILE).exists()
    assert not Path(dead.qmp_socket).exists()
    assert (runs / "alive" / instances.RECORD_FILE).exists()


def test_record_under_wrong_directory_is_ignored(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    rec = record_for(runs, "a", os.getpid(), None)
    instances.write_record(rec, runs)
    (runs / "a" / instances.RECORD_FILE).rename(runs / "a" / "x")
    (runs / "b").mkdir()
    (runs / "a" / "x").rename(runs / "b" / instances.RECORD_FILE)
    assert instances.list_instances(runs) == []


def test_get_instance_errors(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(InstanceError, match="no running tangolab instance"):
        instances.get_instance(None, runs)
    start = instances.process_start_time(os.getpid())
    for name in ("one", "two"):
        instances.write_record(record_for(runs, name, os.getpid(), start), runs)
    with pytest.raises(InstanceError, match=r"several instances are running \(one, two\)"):
        instances.get_instance(None, runs)
    with pytest.raises(
        InstanceError, match=r"no running instance named 'three' \(running: one, two\)"
    ):
        instances.get_instance("three", runs)
    assert instances.get_instance("two", runs).name == "two"


@pytest.mark.parametrize("name", ["a", "tango4-1f2e3d", "x_y.z", "A" * 48])
def test_valid_names(name: str) -> None:
    assert instances.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", ".hidden", "a/b", "..", "sp ace", "A" * 49, "é"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InstanceError, match="invalid instance name"):
        instances.validate_name(name)


def test_claim_makes_private_dir_and_locks(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = instances.claim("held", runs)
    assert stat.S_IMODE((runs / "held").stat().st_mode) == 0o700
    with pytest.raises(InstanceError, match="in use by another tangolab process"):
        instances.claim("held", runs)
    first.release()
    instances.claim("held", runs).release()


def test_claim_refuses_live_instance_without_lock(tmp_path: Path) -> None:
    """An instance whose owner died but whose QEMU still runs keeps its name."""
    runs = tmp_path / "runs"
    start = instances.process_start_time(os.getpid())
    instances.write_record(record_for(runs, "orphan", os.getpid(), start), runs)
    with pytest.raises(InstanceError, match="already running"):
        instances.claim("orphan", runs)


def test_claim_resets_permissions_of_existing_dir(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "open").mkdir(parents=True)
    (runs / "open").chmod(0o755)
    instances.claim("open", runs).release()
    assert stat.S_IMODE((runs / "open").stat().st_mode) == 0o700
