# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The foundation: the tango4 machine boots Linux 6.12 to a shell."""

from __future__ import annotations

import re

import pytest

from tangolab.machine import Machine

pytestmark = pytest.mark.tangolab(ssh=True)

MODEL = "Sigma Designs SMP8758 (tangolab QEMU tango4)"


def test_machine_is_armv7(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run("uname -m", check=True)
    assert res.output.strip() == "armv7l"


def test_two_cpus_online(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run("cat /sys/devices/system/cpu/online", check=True)
    assert res.output.strip() == "0-1"


def test_device_tree_model(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run("cat /proc/device-tree/model", check=True)
    assert res.output.strip().rstrip("\x00") == MODEL


def test_kernel_is_6_12(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run("uname -r", check=True)
    assert res.output.strip().startswith("6.12.")


def test_qmp_status_running(tango_machine_module: Machine) -> None:
    status = tango_machine_module.qmp("query-status")
    assert status["status"] == "running"
    assert status["running"] is True


def test_command_over_ssh(tango_machine_module: Machine) -> None:
    res = tango_machine_module.ssh_run("echo hello from $(hostname); id -u")
    assert res.status == 0
    assert res.output.split() == ["hello", "from", "tangolab", "0"]


def test_exit_status_is_reported(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run("false")
    assert res.status == 1
    res = tango_machine_module.ssh_run("exit 3")
    assert res.status == 3


def test_global_timer_is_the_clocksource(tango_machine_module: Machine) -> None:
    res = tango_machine_module.run(
        "cat /sys/devices/system/clocksource/clocksource0/current_clocksource", check=True
    )
    assert res.output.strip() == "arm_global_timer"


def test_the_random_pool_is_ready_before_init(tango_machine_module: Machine) -> None:
    # The board's /chosen/rng-seed seeds it during boot: without it the pool
    # was ready only seconds after /init started (getrandom() - and with it
    # dropbear's first answer - waited for jitter entropy).
    log = tango_machine_module.run("dmesg", check=True).output
    ready = re.search(r"\[\s*([\d.]+)\] random: crng init done", log)
    init = re.search(r"\[\s*([\d.]+)\] Run /init as init process", log)
    assert ready and init, log[-2000:]
    assert float(ready.group(1)) <= float(init.group(1)), (ready.group(0), init.group(0))
