# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Machine against the fake QEMU (tests/conftest.py): boot, errors, run(), QMP, clean-up."""

from __future__ import annotations

import _thread
import itertools
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tangolab import instances
from tangolab.errors import (
    BootTimeout,
    CommandTimeout,
    GuestCommandError,
    KernelPanic,
    MissingArtifactError,
    QemuExited,
    QmpCommandError,
    TangolabError,
    UsageError,
)
from tangolab.machine import Machine
from tangolab.qmp import QmpClient

ChildPids = Callable[[], set[int]]


def machine(build: Path, **kwargs: object) -> Machine:
    kwargs.setdefault("boot_timeout", 20.0)
    return Machine(build=build, **kwargs)  # type: ignore[arg-type]


def assert_gone(pid: int | None) -> None:
    assert pid is not None
    assert not Path(f"/proc/{pid}").exists(), f"QEMU pid {pid} still exists"


# --- boot and run() --------------------------------------------------------------


def test_boot_and_run_output_without_echo_or_prompt(fake_build: Path) -> None:
    with machine(fake_build) as m:
        status, out = m.run("echo hello; echo 'it'\"'\"'s'; printf abc")
        assert status == 0
        assert out == "hello\nit's\nabc"
        assert "printf" not in out and "tangolab#" not in out


@pytest.mark.parametrize(
    ("cmd", "status", "output"),
    [
        ("true", 0, ""),
        ("false", 1, ""),
        ("sh -c 'exit 42'", 42, ""),
        ("echo out; echo err >&2; (exit 7)", 7, "out\nerr\n"),
        ("x=5; echo $((x * 3)) # a comment", 0, "15\n"),
        ("for i in 1 2; do\necho line$i\ndone", 0, "line1\nline2\n"),
    ],
)
def test_run_returns_exit_status(fake_build: Path, cmd: str, status: int, output: str) -> None:
    with machine(fake_build) as m:
        assert m.run(cmd) == (status, output)


def test_run_many_commands_and_large_output(fake_build: Path) -> None:
    with machine(fake_build) as m:
        for i in range(20):
            assert m.run(f"echo {i}; (exit {i % 3})") == (i % 3, f"{i}\n")
        status, out = m.run("seq 1 20000", timeout=30)
        assert status == 0
        assert out.splitlines() == [str(i) for i in range(1, 20001)]


def test_run_marks_the_command_alone(fake_build: Path) -> None:
    """`marks` sees "begin" and "end" around the command's own time only
    (tangolab.nand.speedrun times the benchmark's steps with it)."""
    with machine(fake_build) as m:
        seen: list[tuple[str, float]] = []
        t0 = time.monotonic()
        res = m.run("sleep 0.5; echo done", marks=lambda w: seen.append((w, time.monotonic())))
        assert res == (0, "done\n")
        t1 = time.monotonic()
        assert [w for w, _ in seen] == ["begin", "end"]
        (_, begin), (_, end) = seen
        assert t0 <= begin < end <= t1
        assert 0.5 <= end - begin < 2.0
        late: list[str] = []
        with pytest.raises(CommandTimeout):
            m.run("sleep 30", timeout=1.0, marks=late.append)
        assert late == ["begin"]


def test_run_check_raises(fake_build: Path) -> None:
    with machine(fake_build) as m, pytest.raises(GuestCommandError) as e:
        m.run("echo nope; (exit 9)", check=True)
    assert e.value.status == 9
    assert "nope" in str(e.value)


def test_run_timeout_interrupts_and_console_recovers(fake_build: Path) -> None:
    with machine(fake_build) as m:
        t0 = time.monotonic()
        with pytest.raises(CommandTimeout) as e:
            m.run("echo started; sleep 30", timeout=1.0)
        assert time.monotonic() - t0 < 10
        assert "did not finish within 1 s" in str(e.value)
        assert "started" in e.value.console_tail
        assert m.run("echo again") == (0, "again\n")


def test_run_rejects_overlong_and_empty_commands(fake_build: Path) -> None:
    with machine(fake_build) as m:
        with pytest.raises(UsageError, match="too long"):
            m.run("echo " + "x" * 2000)
        with pytest.raises(UsageError, match="empty"):
            m.run("  ")
        assert m.run("echo fine") == (0, "fine\n")


def test_expect_on_console_output(fake_build: Path) -> None:
    with machine(fake_build) as m:
        m.console.send(b"(sleep 0.3; echo 'nand: page 17 written') &\n")
        match = m.expect(rb"page (\d+) written", timeout=5)
        assert match.group(1) == b"17"
        with pytest.raises(CommandTimeout, match="did not appear"):
            m.expect("never printed", timeout=0.5)
        assert m.run("echo still fine") == (0, "still fine\n")


def test_console_log_and_stderr_kept_in_private_run_dir(fake_build: Path) -> None:
    with machine(fake_build, name="logs") as m:
        m.run("echo marker-$((6 * 7))")
        run_dir = m.run_dir
        assert run_dir == fake_build / "runs" / "logs"
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        assert m.qmp_socket.parent == run_dir
        assert stat.S_ISSOCK(m.qmp_socket.stat().st_mode)
    log = (run_dir / "console.log").read_bytes()
    assert b"Linux version 6.12.0-fake" in log
    assert b"marker-42\r\n" in log
    # The guest's bytes unchanged: no host LF -> CR LF on top of the guest's CR LF.
    assert b"\r\r\n" not in log
    assert "fake-qemu: started" in (run_dir / "qemu.stderr").read_text()
    assert not m.qmp_socket.exists()


def test_command_line_reflects_options(fake_build: Path, tmp_path: Path) -> None:
    nand = tmp_path / "nand,0.img"
    nand.write_bytes(b"\xff" * (64 * 2112))  # one block: the chip takes whole blocks
    m = Machine(
        build=fake_build,
        memory=256,
        smp=1,
        icount=4,
        nand=nand,
        append="fake.bootdelay=0 loglevel=8",
        extra_args=["-d", "guest_errors"],
    )
    argv = m.command_line()
    pairs = set(itertools.pairwise(argv))
    assert argv[0] == str(fake_build / "qemu" / "qemu-system-arm")
    for pair in [
        ("-M", "tango4,sbox-loopback=on"),
        ("-m", "256"),
        ("-smp", "1"),
        ("-icount", "shift=4,sleep=off"),
        ("-seed", "0"),  # the guest's random numbers repeat under -icount too
        ("-kernel", str(fake_build / "linux" / "zImage")),
        ("-dtb", str(fake_build / "linux" / "tango4-qemu.dtb")),
        ("-initrd", str(fake_build / "rootfs" / "initramfs.cpio.gz")),
        ("-append", "console=ttyS0,115200 fake.bootdelay=0 loglevel=8"),
        ("-drive", f"if=mtd,index=0,format=raw,file={str(nand).replace(',', ',,')}"),
        ("-d", "guest_errors"),
        ("-serial", "chardev:console"),
    ]:
        assert pair in pairs, pair
    assert "-netdev" not in argv  # no network without SSH
    assert "-seed" not in Machine(build=fake_build).command_line()  # real entropy without -icount
    m.ssh_port = 2222
    argv = m.command_line()
    assert ("-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22") in itertools.pairwise(argv)
    assert ("-device", "virtio-net-device,netdev=net0") in itertools.pairwise(argv)
    m.ssh_port = None
    assert (
        Machine(build=fake_build, icount="shift=auto,sleep=off")
        .command_line()
        .count("shift=auto,sleep=off")
    )
    with m:  # the fake QEMU accepts these options and boots
        assert m.run("echo ok") == (0, "ok\n")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory": 0},
        {"memory": 4096},
        {"smp": 0},
        {"icount": 11},
        {"icount": "shift 4"},
        {"ssh_port": 70000},
        {"boot_timeout": 0},
        {"name": "../escape"},
    ],
)
def test_bad_options_are_usage_errors(fake_build: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(TangolabError):
        Machine(build=fake_build, **kwargs)  # type: ignore[arg-type]


def test_missing_nand_image(fake_build: Path, tmp_path: Path, child_pids: ChildPids) -> None:
    with pytest.raises(UsageError, match="NAND image not found"):
        machine(fake_build, nand=tmp_path / "missing.img").start()
    assert not child_pids()


def test_missing_artifact_names_file_and_command(fake_build: Path, child_pids: ChildPids) -> None:
    (fake_build / "linux" / "zImage").unlink()
    with pytest.raises(MissingArtifactError) as e:
        machine(fake_build).start()
    assert e.value.path == fake_build / "linux" / "zImage"
    assert "tangolab build kernel" in str(e.value)
    assert not child_pids()


def test_ssh_key_only_needed_with_ssh(fake_build: Path) -> None:
    (fake_build / "rootfs" / "ssh" / "id_ed25519").unlink()
    with machine(fake_build) as m:
        assert m.run("true").status == 0
    with pytest.raises(MissingArtifactError, match="tangolab build rootfs"):
        machine(fake_build, ssh=True).start()


def test_qemu_override_by_environment(fake_build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = fake_build / "qemu" / "other-qemu"
    other.write_bytes((fake_build / "qemu" / "qemu-system-arm").read_bytes())
    other.chmod(0o755)
    (fake_build / "qemu" / "qemu-system-arm").unlink()
    monkeypatch.setenv("TANGOLAB_QEMU", str(other))
    with machine(fake_build) as m:
        assert m.command_line()[0] == str(other)
        assert m.run("true").status == 0


# --- failures: panic, exit, time-outs ---------------------------------------------


def test_kernel_panic_at_boot(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.mode=panic")
    with pytest.raises(KernelPanic) as e:
        m.start()
    text = str(e.value)
    assert e.value.summary.startswith("guest kernel panic: Kernel panic - not syncing: VFS")
    assert "Linux version 6.12.0-fake" in text  # console tail
    assert "fake-qemu: started" in text  # QEMU's stderr tail
    assert str(m.console_log) in text
    assert_gone(m.pid)
    assert not child_pids()


def test_kernel_panic_during_command(fake_build: Path, child_pids: ChildPids) -> None:
    with pytest.raises(KernelPanic, match="Unable to mount root fs"), machine(fake_build) as m:
        m.run("echo fake-panic")
    assert_gone(m.pid)
    assert not child_pids()


def test_panic_words_in_command_output_are_not_a_panic(fake_build: Path) -> None:
    with machine(fake_build) as m:
        cmd = "echo 'log: Kernel panic - not syncing: in a message'"
        assert m.run(cmd) == (0, "log: Kernel panic - not syncing: in a message\n")


def test_qemu_exit_during_boot(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.mode=exit")
    with pytest.raises(QemuExited) as e:
        m.start()
    assert e.value.returncode == 3
    assert "QEMU exited with status 3 before the guest was ready" in str(e.value)
    assert "machine check, exiting" in e.value.stderr_tail
    assert "Linux version" in e.value.console_tail
    assert not child_pids()


def test_qemu_exit_at_start_up(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.mode=exit-early")
    with pytest.raises(QemuExited) as e:
        m.start()
    assert e.value.returncode == 1
    assert "fake early failure" in str(e.value)
    assert not child_pids()


def test_boot_timeout(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.mode=hang", boot_timeout=1.5)
    t0 = time.monotonic()
    with pytest.raises(BootTimeout) as e:
        m.start()
    assert time.monotonic() - t0 < 10
    assert "guest not ready after 1.5 s" in str(e.value)
    assert "Linux version 6.12.0-fake" in e.value.console_tail
    assert_gone(m.pid)
    assert not child_pids()


def test_boot_timeout_without_prompt(fake_build: Path) -> None:
    with pytest.raises(BootTimeout, match="no shell prompt"):
        machine(fake_build, append="fake.mode=noprompt", boot_timeout=1.5).start()


def test_qemu_killed_while_running(fake_build: Path) -> None:
    with machine(fake_build) as m:
        assert m.pid is not None
        os.kill(m.pid, 9)
        with pytest.raises(QemuExited, match="killed by SIGKILL"):
            m.run("echo hi")


# --- no process left behind -------------------------------------------------------


def test_exception_in_with_block_stops_qemu(fake_build: Path, child_pids: ChildPids) -> None:
    with pytest.raises(RuntimeError), machine(fake_build) as m:
        pid = m.pid
        raise RuntimeError("test")
    assert_gone(pid)
    assert not child_pids()
    assert instances.list_instances(fake_build / "runs") == []


def test_keyboard_interrupt_during_boot(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.mode=hang", boot_timeout=30)
    # Ctrl-C as a user's terminal gives it: Python's own SIGINT handler (a
    # test runner's worker may have set another, and interrupt_main only
    # simulates the signal for whatever handler is there)
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.8, _thread.interrupt_main, args=(signal.SIGINT,))
    timer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.start()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, handler)
    assert time.monotonic() - t0 < 10
    assert_gone(m.pid)
    assert not child_pids()
    assert instances.list_instances(fake_build / "runs") == []


def test_stubborn_qemu_is_killed(fake_build: Path, child_pids: ChildPids) -> None:
    m = machine(fake_build, append="fake.stubborn=1")
    m.shutdown_timeout = 0.5
    with m:
        pid = m.pid
    t0 = time.monotonic()
    m.close()  # idempotent
    assert time.monotonic() - t0 < 1
    assert_gone(pid)
    assert not child_pids()


def test_close_is_fast_with_qmp_quit(fake_build: Path) -> None:
    m = machine(fake_build).start()
    t0 = time.monotonic()
    m.close()
    assert time.monotonic() - t0 < 2
    assert_gone(m.pid)


def test_not_started_or_closed_machine_refuses_work(fake_build: Path) -> None:
    m = machine(fake_build)
    with pytest.raises(TangolabError, match="not running"):
        m.run("true")
    with m:
        pass
    with pytest.raises(TangolabError, match="closed"):
        m.run("true")
    with pytest.raises(TangolabError, match="already started"):
        m.start()


# --- QMP ----------------------------------------------------------------------------


def test_qmp_commands_and_qom(fake_build: Path) -> None:
    with machine(fake_build) as m:
        assert m.qmp("query-status")["status"] == "running"
        m.qom_set("/machine/sbox", "latency-ns", 50000)
        assert m.qom_get("/machine/sbox", "latency-ns") == 50000
        with pytest.raises(QmpCommandError) as e:
            m.qmp("no-such-command")
        assert e.value.error_class == "CommandNotFound"
        with pytest.raises(QmpCommandError, match="Insufficient permission"):
            m.qom_set("/machine/sbox", "bytes-dropped", 1)
        with pytest.raises(QmpCommandError, match="DeviceNotFound"):
            m.qom_get("/machine/nothing", "x")
        m.qmp("stop")
        events = m.qmp_events(wait=2.0)
        assert [ev["event"] for ev in events] == ["STOP"]
        assert m.qmp_events() == []


def test_public_qmp_socket_usable_beside_the_machine(fake_build: Path) -> None:
    with machine(fake_build) as m, QmpClient(m.qmp_socket, timeout=5) as other:
        other.connect()
        other.command("stop")
        assert m.qmp("query-status")["status"] == "paused"


def test_long_build_path_puts_sockets_in_private_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_fake_build: Callable[[Path], Path]
) -> None:
    build = make_fake_build(tmp_path / ("d" * 60) / ("e" * 60) / "build")
    monkeypatch.delenv("TANGOLAB_QEMU", raising=False)
    with machine(build) as m:
        assert m.qmp_socket.parent != m.run_dir
        assert stat.S_IMODE(m.qmp_socket.parent.stat().st_mode) == 0o700
        assert m.qmp("query-status")["running"] is True
        record = instances.get_instance(m.name, build / "runs")
        assert record.qmp_socket == str(m.qmp_socket)
        socket_dir = m.qmp_socket.parent
    assert not socket_dir.exists()


# --- SSH ------------------------------------------------------------------------------


def test_ssh_run(fake_build: Path) -> None:
    with machine(fake_build, ssh=True) as m:
        assert m.ssh_port is not None
        assert m.ssh_run("echo over-ssh; echo err >&2; exit 4") == (4, "over-ssh\nerr\n")
        assert m.run("echo console") == (0, "console\n")
        with pytest.raises(CommandTimeout):
            m.ssh_run("sleep 30", timeout=1.0)
        assert m.ssh_run("true") == (0, "")


def test_ssh_retries_until_the_guest_listens(fake_build: Path) -> None:
    with machine(fake_build, ssh=True, append="fake.sshdelay=1.5") as m:
        assert m.ssh_run("echo late") == (0, "late\n")


def test_ssh_without_ssh_enabled(fake_build: Path) -> None:
    with machine(fake_build) as m, pytest.raises(TangolabError, match="SSH is not enabled"):
        m.ssh_run("true")


def test_ssh_wrong_key_is_a_clear_error(
    fake_build: Path, make_fake_build: Callable[[Path], Path]
) -> None:
    other = make_fake_build(fake_build.parent / "other")
    pub = fake_build / "rootfs" / "ssh" / "id_ed25519.pub"
    pub.write_bytes((other / "rootfs" / "ssh" / "id_ed25519.pub").read_bytes())
    with pytest.raises(TangolabError, match="refused the SSH key"):
        machine(fake_build, ssh=True, ssh_timeout=10).start()


def test_busy_ssh_port(fake_build: Path, child_pids: ChildPids) -> None:
    from tangolab.errors import PortBusyError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortBusyError, match=f"port {port} on 127.0.0.1 is busy"):
            machine(fake_build, ssh_port=port).start()
    assert not child_pids()


def test_auto_port_taken_meanwhile_is_retried(
    fake_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tangolab.machine as machine_module
    from tangolab.ssh import free_port

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        ports = iter([busy])
        monkeypatch.setattr(machine_module, "free_port", lambda: next(ports, None) or free_port())
        with machine(fake_build, ssh=True) as m:
            assert m.ssh_port not in (None, busy)
            assert m.ssh_run("echo ok") == (0, "ok\n")
