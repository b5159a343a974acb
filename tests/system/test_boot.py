# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The foundation: the tango4 machine boots Linux 6.12 to a shell."""

from __future__ import annotations

from tangolab.machine import Machine

MODEL = "Sigma Designs SMP8758 (tangolab QEMU tango4)"


def test_machine_is_armv7(booted: Machine) -> None:
    res = booted.run("uname -m", check=True)
    assert res.output.strip() == "armv7l"


def test_two_cpus_online(booted: Machine) -> None:
    res = booted.run("cat /sys/devices/system/cpu/online", check=True)
    assert res.output.strip() == "0-1"


def test_device_tree_model(booted: Machine) -> None:
    res = booted.run("cat /proc/device-tree/model", check=True)
    assert res.output.strip().rstrip("\x00") == MODEL


def test_kernel_is_6_12(booted: Machine) -> None:
    res = booted.run("uname -r", check=True)
    assert res.output.strip().startswith("6.12.")


def test_qmp_status_running(booted: Machine) -> None:
    status = booted.qmp("query-status")
    assert status["status"] == "running"
    assert status["running"] is True


def test_command_over_ssh(booted: Machine) -> None:
    res = booted.ssh_run("echo hello from $(hostname); id -u")
    assert res.status == 0
    assert res.output.split() == ["hello", "from", "tangolab", "0"]


def test_exit_status_is_reported(booted: Machine) -> None:
    res = booted.run("false")
    assert res.status == 1
    res = booted.ssh_run("exit 3")
    assert res.status == 3


def test_global_timer_is_the_clocksource(booted: Machine) -> None:
    res = booted.run("cat /sys/devices/system/clocksource/clocksource0/current_clocksource",
                     check=True)
    assert res.output.strip() == "arm_global_timer"
