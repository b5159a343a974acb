# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`Machine`: one tango4 guest in QEMU, with serial console, QMP and SSH.

    with Machine(ssh=True, icount=4) as m:
        status, out = m.run("cat /proc/cpuinfo")
        m.qom_set("/machine/sbox", "latency-ns", 5000)
        status, out = m.ssh_run("nandtest /dev/mtd0")

The machine boots when entered (or on `start()`): the guest is ready when its
init printed ``tangolab: userspace ready`` and the shell prompt appeared. A
kernel panic, QEMU exiting, or a time-out raise `KernelPanic`, `QemuExited`,
`BootTimeout` (all carry the tails of the console log and of QEMU's stderr).
Leaving the ``with`` block, even by an exception or Ctrl-C, stops QEMU (QMP
``quit``, then SIGTERM, then SIGKILL) and leaves no process behind.

Everything of a run lives in ``<build>/runs/<name>/`` (mode 0700):
``console.log`` (the guest's serial output, byte for byte), ``qemu.stderr``,
``qmp.sock`` (for other tools: ``tangolab qmp --instance NAME ...``),
``qmp-machine.sock`` (this object's own QMP connection), with
`scratch_nand` an erased NAND image ``scratch-nand.img`` (removed when the
machine closes) and, while running, ``instance.json`` (see
`tangolab.instances`). The sockets and the scratch image are removed by
`close`; when the orchestrator could not run it (SIGKILL), QEMU gets SIGTERM
from the kernel (PR_SET_PDEATHSIG) and the next `tangolab ps` (or any listing
of the instances) prunes the record, the sockets and the scratch image.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tangolab import instances
from tangolab.build.artifacts import BOOT, Artifacts, load_artifacts
from tangolab.closing import Closing
from tangolab.console import CommandResult, SerialConsole
from tangolab.errors import (
    CommandTimeout,
    GuestCommandError,
    MachineError,
    PortBusyError,
    QmpCommandError,
    QmpError,
    SshError,
    TangolabError,
    UsageError,
)
from tangolab.paths import build_dir, runs_dir
from tangolab.qmp import MAX_SOCKET_PATH, QmpClient
from tangolab.ssh import SshSession, SshTimeout, check_port_free, free_port

BASE_CMDLINE = "console=ttyS0,115200"
_HOSTFWD_FAILED = "Could not set up host forwarding rule"


def _opt(value: str | Path) -> str:
    """Escape a value for QEMU's comma-separated option syntax."""
    return str(value).replace(",", ",,")


_live: weakref.WeakSet[Machine] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for machine in list(_live):
        with contextlib.suppress(Exception):
            machine.close()


def check_nand_image(path: Path, blocks: int | None = None, *, writable: bool = True) -> int:
    """Check that `path` is a raw image the modelled chip takes; its blocks.

    QEMU itself sees the size of an image rounded up to 512 bytes, so an
    image a few bytes short would be accepted and grown: this check is exact.
    The image is only looked at (UsageError, one line, on a problem). With
    `writable` False it need only be readable (a read-only backing file).
    """
    from tangolab.nand.layout import Geometry

    g = Geometry()
    block_bytes = g.pages_per_block * g.raw_page_size
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UsageError(f"NAND image {path}: {e.strerror or e}") from None
    if not writable and not os.access(path, os.R_OK):
        raise UsageError(f"NAND image {path} is not readable")
    if writable and not os.access(path, os.R_OK | os.W_OK):
        raise UsageError(f"NAND image {path} is not readable and writable: the chip writes to it")
    if size == 0 or size % block_bytes:
        raise UsageError(
            f"NAND image {path} is {size} bytes, not a whole number of {block_bytes}-byte blocks "
            f"({g.pages_per_block} pages of {g.page_size}+{g.oob_size} bytes): truncated, or "
            "not a raw image of the modelled chip (`tangolab nand new IMAGE` makes one)"
        )
    found = size // block_bytes
    if found > g.blocks or found & (found - 1):
        raise UsageError(
            f"NAND image {path} has {found} blocks: the chip takes a power of 2 from 1 to "
            f"{g.blocks} blocks"
        )
    if blocks is not None and blocks != found:
        raise UsageError(
            f"NAND image {path} has {found} blocks but onfi-nand.blocks={blocks} was given"
        )
    return found


class Machine(Closing):
    """A tango4 guest in QEMU (context manager; see the module documentation).

    Options: `artifacts` (the files to boot, default the build's:
    `tangolab.build.artifacts.Artifacts`; `Artifacts.with_files` puts your
    own kernel, dtb or initramfs in), `memory` (MiB), `smp` (CPUs), `icount` (an int is the shift of
    ``-icount shift=N,sleep=off``, a string a whole ``-icount`` spec), `nand` (raw
    image for chip select 0), `scratch_nand` (instead of `nand`: an erased
    image of that many blocks in the run directory, deleted at the end),
    `append` (added to the kernel command line),
    `extra_args` (appended to QEMU's command line), `ssh` (forward a host port
    to the guest's port 22 and connect at boot; `ssh_port` picks the port,
    default a free one), `name` (instance name, default random), `qemu`
    (override the QEMU binary; also ``$TANGOLAB_QEMU``), `build` (build
    directory, default `build_dir()`), time-outs in seconds, `wait_ready`
    (False: `start` returns once QMP is up, without waiting for the guest;
    for a replay that stops before the guest is ready).
    """

    #: Seconds QEMU gets to exit after QMP "quit", and after SIGTERM.
    shutdown_timeout = 5.0
    #: Attempts to start QEMU when the automatically chosen SSH port is taken meanwhile.
    port_attempts = 3

    def __init__(
        self,
        artifacts: Artifacts | None = None,
        *,
        name: str | None = None,
        memory: int = 512,
        smp: int = 2,
        icount: int | str | None = None,
        nand: Path | str | None = None,
        scratch_nand: int | None = None,
        append: str = "",
        extra_args: Sequence[str] = (),
        ssh: bool = False,
        ssh_port: int | None = None,
        qemu: Path | str | None = None,
        build: Path | None = None,
        boot_timeout: float = 180.0,
        ssh_timeout: float = 60.0,
        qmp_timeout: float = 30.0,
        wait_ready: bool = True,
    ) -> None:
        if not 16 <= memory <= 2048:
            raise UsageError(f"memory {memory} MiB out of range: the tango4 takes 16..2048 MiB")
        if smp < 1:
            raise UsageError(f"smp {smp}: need at least one CPU")
        if isinstance(icount, int) and not 0 <= icount <= 10:
            raise UsageError(f"icount shift {icount} out of range 0..10")
        if isinstance(icount, str) and (not icount.strip() or " " in icount):
            raise UsageError(f"bad -icount spec {icount!r}")
        if ssh_port is not None and not 1 <= ssh_port <= 65535:
            raise UsageError(f"invalid SSH port {ssh_port}: must be 1..65535")
        if not wait_ready and (ssh or ssh_port is not None):
            raise UsageError("SSH needs a ready guest: wait_ready=False cannot take ssh")
        if scratch_nand is not None and nand is not None:
            raise UsageError("give a NAND image or a scratch NAND, not both")
        most = instances.MAX_SCRATCH_BLOCKS
        if scratch_nand is not None and not 1 <= scratch_nand <= most:
            raise UsageError(f"scratch NAND of {scratch_nand} blocks: the chip has 1..{most}")
        for t in (boot_timeout, ssh_timeout, qmp_timeout):
            if t <= 0:
                raise UsageError(f"time-outs must be positive, got {t}")
        self.build = build_dir() if build is None else Path(build)
        self.name = instances.validate_name(name) if name else instances.new_name()
        self._artifacts = artifacts
        self.memory = memory
        self.smp = smp
        self.icount = icount
        self.nand = Path(nand).absolute() if nand is not None else None
        self.scratch_nand = scratch_nand
        self.append = append.strip()
        self.extra_args = list(extra_args)
        self.ssh_enabled = ssh or ssh_port is not None
        self._requested_port = ssh_port
        self.ssh_port: int | None = None
        qemu_env = os.environ.get("TANGOLAB_QEMU")
        self._qemu_override = Path(qemu) if qemu else (Path(qemu_env) if qemu_env else None)
        self.boot_timeout = boot_timeout
        self.ssh_timeout = ssh_timeout
        self.qmp_timeout = qmp_timeout
        self.wait_ready = wait_ready

        self.run_dir = runs_dir(self.build) / self.name
        self.console_log = self.run_dir / "console.log"
        self.stderr_log = self.run_dir / "qemu.stderr"
        self._socket_dir: Path | None = None
        self.qmp_socket = self.run_dir / "qmp.sock"
        self._own_socket = self.run_dir / "qmp-machine.sock"
        self.scratch_image = self.run_dir / instances.SCRATCH_IMAGE

        self._claim: instances.Claim | None = None
        self._console: SerialConsole | None = None
        self._qmp: QmpClient | None = None
        self._ssh: SshSession | None = None
        self._started = False
        self._closed = False
        self._ready = False

    # --- artifacts and command line -----------------------------------------

    @property
    def artifacts(self) -> Artifacts:
        """The files this machine boots: `artifacts`, else the build's; `qemu` wins."""
        if self._artifacts is None:
            self._artifacts = load_artifacts(self.build)
        if self._qemu_override is not None:
            self._artifacts = replace(self._artifacts, qemu=self._qemu_override)
        return self._artifacts

    @property
    def qemu_binary(self) -> Path:
        return self.artifacts.qemu

    @property
    def kernel_cmdline(self) -> str:
        return f"{BASE_CMDLINE} {self.append}".strip()

    def command_line(self) -> list[str]:
        """QEMU's argv for the current settings (sockets, port)."""
        a = self.artifacts
        argv = [
            str(self.qemu_binary),
            "-M", "tango4,sbox-loopback=on",  # the test dtb describes it
            "-m", str(self.memory),
            "-smp", str(self.smp),
            "-kernel", str(a.kernel),
            "-dtb", str(a.dtb),
            "-initrd", str(a.initrd),
            "-append", self.kernel_cmdline,
            "-nodefaults",
            "-display", "none",
            "-no-reboot",
            # The guest UART on our terminal, and nothing else: no monitor,
            # Ctrl-C goes to the guest.
            "-chardev", "stdio,id=console,signal=off",
            "-serial", "chardev:console",
            "-qmp", f"unix:{_opt(self._own_socket)},server=on,wait=off",
            "-qmp", f"unix:{_opt(self.qmp_socket)},server=on,wait=off",
        ]  # fmt: skip
        if self.ssh_port is not None:
            # A virtio-net on the first free virtio-mmio slot; -netdev/-device
            # does not depend on the board picking up -nic.
            argv += [
                "-netdev",
                f"user,id=net0,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
                "-device",
                "virtio-net-device,netdev=net0",
            ]
        if self.icount is not None:
            # sleep=off: an idle guest jumps to the next timer instead of
            # following host time, so a run is the same every time
            spec = f"shift={self.icount},sleep=off" if isinstance(self.icount, int) else self.icount
            # ... and so are the guest's random numbers: the board's
            # /chosen/rng-seed comes from QEMU's guest random source
            argv += ["-icount", spec, "-seed", "0"]
        if self.nand is not None:
            argv += ["-drive", f"if=mtd,index=0,format=raw,file={_opt(self.nand)}"]
            if self.scratch_nand is not None:
                argv += ["-global", f"onfi-nand.blocks={self.scratch_nand}"]
        argv += self.extra_args
        return argv

    def _nand_blocks(self) -> int | None:
        """The chips' blocks set with ``-global onfi-nand.blocks=N`` in `extra_args`."""
        found = None
        for flag, value in zip(self.extra_args, self.extra_args[1:], strict=False):
            if flag == "-global" and value.startswith("onfi-nand.blocks="):
                text = value.partition("=")[2]
                try:
                    found = int(text, 0)
                except ValueError:
                    raise UsageError(f"-global onfi-nand.blocks={text}: not a number") from None
        return found

    # --- life cycle ------------------------------------------------------------

    def __enter__(self) -> Machine:
        return self.start()

    def start(self) -> Machine:
        """Start QEMU and wait until the guest shell is ready (and SSH, if asked)."""
        if self._started:
            raise TangolabError(f"machine {self.name} was already started")
        self._started = True
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _place_sockets(self) -> None:
        if len(os.fsencode(self.run_dir / "qmp-machine.sock")) <= MAX_SOCKET_PATH:
            return
        base = os.environ.get("XDG_RUNTIME_DIR") or None
        if base is not None and not os.access(base, os.W_OK):
            base = None
        self._socket_dir = Path(tempfile.mkdtemp(prefix="tangolab-", dir=base))
        self.qmp_socket = self._socket_dir / "qmp.sock"
        self._own_socket = self._socket_dir / "qmp-machine.sock"

    def _start(self) -> None:
        self.artifacts.check(*BOOT, *(("ssh_key",) if self.ssh_enabled else ()))
        if self.nand is not None and not self.nand.is_file():
            raise UsageError(f"NAND image not found: {self.nand}")
        if self.nand is not None:
            blocks = check_nand_image(self.nand, self._nand_blocks())
            if self._nand_blocks() is None:
                self.extra_args += ["-global", f"onfi-nand.blocks={blocks}"]
        if self._requested_port is not None:
            check_port_free(self._requested_port)
        self._claim = instances.claim(self.name, runs_dir(self.build))
        _live.add(self)
        self._place_sockets()
        if self.scratch_nand is not None:
            from tangolab.nand.image import write_erased_image
            from tangolab.nand.layout import Geometry

            size = Geometry(blocks=self.scratch_nand).image_size
            self.nand = write_erased_image(self.scratch_image, size, force=True).absolute()
        deadline = time.monotonic() + self.boot_timeout

        for attempt in range(1, self.port_attempts + 1):
            if self.ssh_enabled:
                self.ssh_port = self._requested_port or free_port()
            for sock in (self.qmp_socket, self._own_socket):
                with contextlib.suppress(FileNotFoundError):
                    sock.unlink()
            console = SerialConsole(
                self.command_line(),
                console_log=self.console_log,
                stderr_log=self.stderr_log,
                cwd=self.run_dir,
            )
            self._console = console
            self._write_record("booting")
            self._qmp = QmpClient(self._own_socket, timeout=self.qmp_timeout)
            try:
                self._qmp.connect(
                    timeout=min(self.qmp_timeout, max(1.0, deadline - time.monotonic())),
                    alive=console.is_alive,
                )
                break
            except QmpError as e:
                if console.is_alive():
                    raise console.error(
                        MachineError, f"QEMU did not open its QMP socket: {e}"
                    ) from None
                if _HOSTFWD_FAILED not in console.stderr_tail(200):
                    raise console.exited_error("before the guest was ready") from None
                if self._requested_port is not None or attempt == self.port_attempts:
                    raise PortBusyError(
                        f"QEMU could not forward 127.0.0.1:{self.ssh_port} to the guest's SSH "
                        "port (the port is busy)"
                    ) from None
                self._qmp.close()
                self._qmp = None
                console.close()
                self._console = None

        assert self._console is not None
        if not self.wait_ready:
            return
        self._console.wait_ready(
            max(0.0, deadline - time.monotonic()), reported_timeout=self.boot_timeout
        )
        self._ready = True
        self._write_record("ready")
        if self.ssh_enabled:
            self._ssh_connect()

    def _write_record(self, state: str) -> None:
        assert self._console is not None
        pid = self._console.pid
        instances.write_record(
            instances.InstanceRecord(
                name=self.name,
                pid=pid,
                pid_start=instances.process_start_time(pid),
                run_dir=str(self.run_dir),
                qmp_socket=str(self.qmp_socket),
                console_log=str(self.console_log),
                stderr_log=str(self.stderr_log),
                ssh_port=self.ssh_port,
                owner_pid=os.getpid(),
                started=time.time(),
                state=state,
                socket_dir=str(self._socket_dir) if self._socket_dir else None,
            ),
            runs_dir(self.build),
        )

    def close(self) -> None:
        """Stop QEMU (QMP quit, SIGTERM, SIGKILL) and clean up; idempotent.

        Runs every step even if one fails; re-raises a KeyboardInterrupt or
        SystemExit that arrived meanwhile, after the cleanup.
        """
        if self._closed:
            return
        self._closed = True
        pending: BaseException | None = None
        for step in (
            self._close_ssh,
            self._quit_qemu,
            self._close_console,
            self._close_qmp,
            self._unregister,
        ):
            try:
                step()
            except (KeyboardInterrupt, SystemExit) as e:
                pending = pending or e
            except Exception:
                pass  # cleanup goes on; the process is killed in any case
        _live.discard(self)
        if pending is not None:
            raise pending

    def _close_ssh(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
            self._ssh = None

    def _quit_qemu(self) -> None:
        console = self._console
        if console is None or not console.is_alive():
            return
        if self._qmp is not None and self._qmp.connected:
            with contextlib.suppress(TangolabError):
                self._qmp.command("quit", timeout=2.0)
            console.wait_exit(self.shutdown_timeout)

    def _close_console(self) -> None:
        if self._console is not None:
            self._console.stop(self.shutdown_timeout, self.shutdown_timeout)
            self._console.close()

    def _close_qmp(self) -> None:
        if self._qmp is not None:
            self._qmp.close()

    def _unregister(self) -> None:
        try:
            if self._claim is not None:
                instances.remove_record(self.name, runs_dir(self.build))
                for sock in (self.qmp_socket, self._own_socket):
                    with contextlib.suppress(FileNotFoundError):
                        sock.unlink()
                if self.scratch_nand is not None:
                    with contextlib.suppress(FileNotFoundError):
                        self.scratch_image.unlink()
        finally:
            if self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)
            if self._claim is not None:
                self._claim.release()

    # --- state -----------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._console.pid if self._console is not None else None

    @property
    def console(self) -> Any:
        """The pexpect child on the serial console (for custom `expect()` calls)."""
        return self._require_console().child

    def is_running(self) -> bool:
        return self._console is not None and self._console.is_alive()

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for QEMU to exit on its own (guest poweroff); its exit status."""
        console = self._require_console()
        console.wait_exit(timeout)
        return console.returncode()

    def console_tail(self, lines: int = 40) -> str:
        return self._require_console().console_tail(lines)

    def _require_console(self) -> SerialConsole:
        if self._console is None or not self._started:
            raise TangolabError(f"machine {self.name} is not running: use `with Machine() as m`")
        if self._closed:
            raise TangolabError(f"machine {self.name} is closed")
        return self._console

    def _dead_error(self, when: str) -> MachineError | None:
        console = self._require_console()
        return None if console.is_alive() else console.exited_error(when)

    # --- guest commands --------------------------------------------------------

    def run(
        self,
        cmd: str,
        timeout: float = 60.0,
        *,
        check: bool = False,
        marks: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run `cmd` in the guest shell on the serial console.

        Returns (status, output); output is what the command printed (stdout
        and stderr, plus any kernel messages printed meanwhile), without the
        echo of the command line and without the prompt. With `check`, a
        non-zero status raises GuestCommandError. `marks` is called with
        "begin" and "end" when the command starts and ends in the guest (as
        the console shows it; tangolab.nand.speedrun times steps with it).
        """
        result = self._require_console().run(cmd, timeout, marks=marks)
        if check and result.status != 0:
            raise GuestCommandError(cmd, result.status, result.output)
        return result

    def expect(
        self, pattern: str | bytes | re.Pattern[bytes], timeout: float = 60.0
    ) -> re.Match[bytes]:
        """Wait for `pattern` (a regular expression) in the console output.

        Searches output that no run() has consumed yet, e.g. kernel messages
        printed after a command returned. A panic or QEMU exiting raise as
        usual; a time-out raises CommandTimeout.
        """
        return self._require_console().expect(pattern, timeout)

    def _ssh_connect(self) -> SshSession:
        if not self.ssh_enabled or self.ssh_port is None:
            raise TangolabError(
                f"SSH is not enabled for machine {self.name}: create it with ssh=True"
            )
        console = self._require_console()
        if self._ssh is None:
            session = SshSession(self.ssh_port, self.artifacts.ssh_key)
            try:
                session.connect(self.ssh_timeout, alive=console.is_alive)
            except SshError as e:
                dead = self._dead_error("while waiting for SSH")
                if dead is not None:
                    raise dead from None
                raise console.error(MachineError, str(e)) from None
            self._ssh = session
        return self._ssh

    def ssh_run(self, cmd: str, timeout: float = 60.0, *, check: bool = False) -> CommandResult:
        """Run `cmd` in the guest over SSH; (status, stdout and stderr)."""
        session = self._ssh_connect()
        try:
            result = session.run(cmd, timeout)
        except SshTimeout as e:
            raise self._require_console().error(CommandTimeout, str(e)) from None
        except SshError:
            dead = self._dead_error("during an SSH command")
            if dead is not None:
                raise dead from None
            raise
        if check and result.status != 0:
            raise GuestCommandError(cmd, result.status, result.output)
        return result

    # --- QMP -------------------------------------------------------------------

    def qmp(self, cmd: str, args: Mapping[str, object] | None = None, /, **kwargs: object) -> Any:
        """Execute a QMP command; its return value.

        Arguments come from `args` (for names with '-') and keyword arguments.
        QEMU's errors raise QmpCommandError.
        """
        self._require_console()
        if self._qmp is None:
            raise TangolabError(f"machine {self.name} has no QMP connection")
        try:
            return self._qmp.command(cmd, {**(args or {}), **kwargs})
        except QmpCommandError:
            raise
        except QmpError:
            dead = self._dead_error(f"during QMP {cmd!r}")
            if dead is not None:
                raise dead from None
            raise

    def qmp_events(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """QMP events received since the last call (waits up to `wait` s for one)."""
        self._require_console()
        if self._qmp is None:
            raise TangolabError(f"machine {self.name} has no QMP connection")
        return self._qmp.events(wait)

    def qom_get(self, path: str, prop: str) -> Any:
        return self.qmp("qom-get", {"path": path, "property": prop})

    def qom_set(self, path: str, prop: str, value: object) -> None:
        self.qmp("qom-set", {"path": path, "property": prop, "value": value})

    # --- interactive -----------------------------------------------------------

    def interact(self, escape_character: str = "\x1d") -> None:
        """Give the serial console to the user's terminal until Ctrl-] (or QEMU exits)."""
        self._require_console().interact(escape_character)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("ready" if self._ready else "not ready")
        return f"<Machine {self.name} pid={self.pid} {state}>"
