# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A client for QEMU's qtest protocol, to test device models without a guest.

`QTestMachine` starts ``qemu-system-arm -M tango4,sbox-loopback=on -accel qtest``
(the loopback test device is opt-in) with the qtest
stream on a Unix socket that this module listens on (QEMU connects to it, as
with QEMU's own libqtest), and QMP on a second Unix socket that QEMU listens
on. The virtual clock only moves when the test says so (`clock_step`,
`clock_set`), so timings are exact.

qtest is line based: every request gets one ``OK ...``/``FAIL ...``/``ERR ...``
reply, and QEMU may send ``IRQ raise N``/``IRQ lower N`` lines at any time for
intercepted interrupt lines. They are collected as `IrqEvent`s while waiting
for replies (and by `sync`).

Errors (QEMU exiting, no answer in time, a FAIL reply) raise `QTestError`
whose message ends with the tail of QEMU's stderr. `close` (or leaving the
``with`` block) stops QEMU and leaves no process or socket behind; if the
orchestrator is SIGKILLed, QEMU gets SIGTERM from the kernel
(PR_SET_PDEATHSIG, `tangolab.lifetime`); its temporary directory in /tmp
(``tlqt-<pid>-*``: sockets, stderr log) is removed by the next QTestMachine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tangolab import lifetime
from tangolab.closing import Closing
from tangolab.errors import QmpError, TangolabError
from tangolab.qmp import QmpClient

#: QOM path of the A9 MPCore block: its GPIO inputs are the GIC SPIs.
GIC_PATH = "/machine/a9mpcore"

_STDERR_TAIL_LINES = 30
_WRITE_CHUNK = 32 * 1024


def qemu_binary() -> Path:
    """The qemu-system-arm to test: $TANGOLAB_QEMU, else the build's."""
    env = os.environ.get("TANGOLAB_QEMU")
    if env:
        return Path(env)
    from tangolab.build.artifacts import Artifacts
    from tangolab.paths import build_dir

    return Artifacts.in_dir(build_dir()).qemu


class QTestError(TangolabError):
    """QEMU under qtest did not behave; the message carries its stderr tail."""

    def __init__(self, summary: str, *, stderr_tail: str = "", returncode: int | None = None):
        self.summary = summary
        self.stderr_tail = stderr_tail
        self.returncode = returncode
        text = summary
        if returncode is not None:
            text += f" (QEMU exit status {returncode})"
        if stderr_tail.strip():
            text += "\n--- QEMU stderr (tail) ---\n" + stderr_tail.rstrip("\n")
        else:
            text += "\n--- QEMU stderr: empty ---"
        super().__init__(text)


class QTestTimeout(QTestError):
    """QEMU did not answer a qtest request (or start) in time."""


class QemuExited(QTestError):
    """QEMU exited (or closed the qtest stream) while the test needed it."""


class QTestCommandError(QTestError):
    """QEMU answered a qtest request with FAIL or ERR."""


@dataclass(frozen=True)
class IrqEvent:
    """One ``IRQ raise N``/``IRQ lower N`` message: `line` went to `level`."""

    line: int
    level: bool


def _check_uint(name: str, value: int, bits: int = 64) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} {value:#x} does not fit in {bits} bits")


class QTestMachine(Closing):
    """qemu-system-arm under qtest, driven from Python.

    `args` are extra command-line arguments (e.g. ``["-m", "64"]`` or
    ``["-incoming", "file:/tmp/x"]``). With `guest_errors` (the default) QEMU
    logs guest mistakes to its stderr (`guest_log`). QEMU's own log of the
    qtest exchange goes to `qtest_log` if given (by default nowhere). Use it
    as a context manager, or call `start` and `close`.
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        machine: str = "tango4,sbox-loopback=on",
        qemu: Path | str | None = None,
        timeout: float = 30.0,
        guest_errors: bool = True,
        qtest_log: Path | str | None = None,
    ) -> None:
        self.args = list(args)
        self.guest_errors = guest_errors
        self.qtest_log = Path(qtest_log) if qtest_log is not None else None
        self.machine = machine
        self.qemu = Path(qemu) if qemu is not None else qemu_binary()
        self.timeout = timeout
        self.irq_events: list[IrqEvent] = []
        self.irq_levels: dict[int, bool] = {}
        self.clock_ns: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._listener: socket.socket | None = None
        self._sock: socket.socket | None = None
        self._qmp: QmpClient | None = None
        self._rbuf = bytearray()
        self._stderr_path: Path | None = None
        self._final_stderr = ""

    # --- life cycle ----------------------------------------------------------

    def command_line(self, qtest_path: Path, qmp_path: Path) -> list[str]:
        return [
            str(self.qemu),
            "-M", self.machine,
            "-accel", "qtest",
            "-qtest", f"unix:{qtest_path}",
            "-qtest-log", str(self.qtest_log) if self.qtest_log else "none",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-display", "none",
            "-nodefaults",
            *(["-d", "guest_errors"] if self.guest_errors else []),
            *self.args,
        ]  # fmt: skip

    def start(self) -> QTestMachine:
        """Start QEMU and connect qtest and QMP; raises QTestError on failure."""
        if self._proc is not None:
            raise QTestError("QTestMachine already started")
        if not self.qemu.is_file() or not os.access(self.qemu, os.X_OK):
            raise QTestError(f"no QEMU binary at {self.qemu} (set $TANGOLAB_QEMU)")
        self._dir = lifetime.owned_tempdir("tlqt-")
        qtest_path = self._dir / "qtest.sock"
        qmp_path = self._dir / "qmp.sock"
        self._stderr_path = self._dir / "stderr.log"
        try:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(str(qtest_path))
            self._listener.listen(1)
            self._listener.settimeout(0.1)
            with open(self._stderr_path, "wb") as err:
                self._proc = subprocess.Popen(
                    self.command_line(qtest_path, qmp_path),
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    start_new_session=True,
                    # QEMU dies with us even if we are SIGKILLed
                    preexec_fn=lifetime.die_with_parent(),
                )
            self._accept_qtest()
            self.clock_ns = 0  # the qtest accelerator's clock starts at 0
            self._qmp = QmpClient(qmp_path, timeout=self.timeout)
            try:
                self._qmp.connect(timeout=self.timeout, alive=self.alive)
            except QmpError as e:
                raise self._failure(
                    QemuExited if not self.alive() else QTestTimeout, f"QMP did not come up: {e}"
                ) from None
        except BaseException:
            self.close()
            raise
        return self

    def _accept_qtest(self) -> None:
        assert self._listener is not None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn, _ = self._listener.accept()
                break
            except TimeoutError:
                pass
            if not self.alive():
                raise self._failure(QemuExited, "QEMU exited before connecting to qtest")
            if time.monotonic() > deadline:
                raise self._failure(
                    QTestTimeout, f"QEMU did not connect to qtest within {self.timeout:g} s"
                )
        conn.settimeout(0.1)
        self._sock = conn
        self._listener.close()
        self._listener = None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stderr_tail(self, lines: int = _STDERR_TAIL_LINES) -> str:
        if self._stderr_path is None:
            return ""
        try:
            text = self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stderr(self) -> str:
        """Everything QEMU wrote to stdout/stderr so far (kept after `close`)."""
        if self._stderr_path is None:
            return self._final_stderr
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def guest_log(self) -> str:
        """QEMU's log so far: its ``LOG_GUEST_ERROR`` messages (``-d guest_errors``
        goes to stderr), with anything else QEMU printed."""
        return self.stderr()

    def _failure(self, cls: type[QTestError], summary: str) -> QTestError:
        code = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._proc.wait(0.5 if cls is QemuExited else 0)
        return cls(summary, stderr_tail=self.stderr_tail(), returncode=code)

    def close(self) -> None:
        """Stop QEMU (QMP quit, then SIGTERM, then SIGKILL) and clean up."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None and self._qmp is not None:
            with contextlib.suppress(TangolabError):
                self._qmp.command("quit", timeout=5.0)
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        for sock in (self._sock, self._listener):
            if sock is not None:
                sock.close()
        self._sock = self._listener = None
        if proc is not None:
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._dir is not None:
            self._final_stderr = self.stderr()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self._stderr_path = None

    def __enter__(self) -> QTestMachine:
        if self._proc is None:
            self.start()
        return self

    # --- the qtest stream ----------------------------------------------------

    def _read_line(self, deadline: float, what: str) -> str:
        while True:
            nl = self._rbuf.find(b"\n")
            if nl >= 0:
                line = bytes(self._rbuf[:nl]).decode(errors="replace")
                del self._rbuf[: nl + 1]
                return line
            if self._sock is None:
                raise QTestError("QTestMachine is not started")
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                data = None
            except OSError as e:
                raise self._failure(QemuExited, f"qtest stream broke during {what}: {e}") from None
            if data == b"":
                raise self._failure(QemuExited, f"QEMU closed the qtest stream during {what}")
            if data:
                self._rbuf += data
                continue
            if not self.alive():
                raise self._failure(QemuExited, f"QEMU exited during {what}")
            if time.monotonic() > deadline:
                raise self._failure(
                    QTestTimeout, f"no qtest answer to {what} within {self.timeout:g} s"
                )

    def _note_irq(self, line: str) -> bool:
        words = line.split()
        if len(words) == 3 and words[0] == "IRQ" and words[1] in ("raise", "lower"):
            event = IrqEvent(int(words[2]), words[1] == "raise")
            self.irq_events.append(event)
            self.irq_levels[event.line] = event.level
            return True
        return False

    def command(self, *words: object) -> list[str]:
        """Send one qtest request; the words of its OK reply after "OK"."""
        line = " ".join(str(w) for w in words)
        if "\n" in line:
            raise ValueError("a qtest request is one line")
        if self._sock is None:
            raise QTestError("QTestMachine is not started")
        try:
            self._sock.sendall(line.encode() + b"\n")
        except OSError as e:
            raise self._failure(QemuExited, f"cannot send {words[0]!r} to qtest: {e}") from None
        deadline = time.monotonic() + self.timeout
        what = repr(line if len(line) <= 80 else line[:77] + "...")
        while True:
            reply = self._read_line(deadline, what)
            if not self._note_irq(reply):
                break
        parts = reply.split()
        if parts and parts[0] == "OK":
            return parts[1:]
        raise self._failure(QTestCommandError, f"qtest {what} answered {reply!r}")

    def sync(self) -> None:
        """Round trip: afterwards every IRQ message QEMU sent before is seen."""
        self.command("endianness")

    def command_batch(self, *requests: Sequence[object]) -> list[list[str]]:
        """Send several qtest requests in one write; the words of each OK reply.

        QEMU handles the lines of one read back to back, without running its
        main loop (and so its timers) in between: what a guest's consecutive
        MMIO accesses see when the timers lag behind the vCPU (no -icount).
        """
        lines = [" ".join(str(w) for w in words) for words in requests]
        if any("\n" in line for line in lines):
            raise ValueError("a qtest request is one line")
        if self._sock is None:
            raise QTestError("QTestMachine is not started")
        try:
            self._sock.sendall("".join(line + "\n" for line in lines).encode())
        except OSError as e:
            raise self._failure(QemuExited, f"cannot send a batch to qtest: {e}") from None
        deadline = time.monotonic() + self.timeout
        replies = []
        for line in lines:
            what = repr(line if len(line) <= 80 else line[:77] + "...")
            while True:
                reply = self._read_line(deadline, what)
                if not self._note_irq(reply):
                    break
            parts = reply.split()
            if not parts or parts[0] != "OK":
                raise self._failure(QTestCommandError, f"qtest {what} answered {reply!r}")
            replies.append(parts[1:])
        return replies

    # --- memory and MMIO -----------------------------------------------------

    def _write(self, cmd: str, bits: int, addr: int, value: int) -> None:
        _check_uint("address", addr)
        _check_uint("value", value, bits)
        self.command(cmd, f"{addr:#x}", f"{value:#x}")

    def _read(self, cmd: str, addr: int) -> int:
        _check_uint("address", addr)
        return int(self.command(cmd, f"{addr:#x}")[0], 16)

    def writeb(self, addr: int, value: int) -> None:
        self._write("writeb", 8, addr, value)

    def writew(self, addr: int, value: int) -> None:
        self._write("writew", 16, addr, value)

    def writel(self, addr: int, value: int) -> None:
        self._write("writel", 32, addr, value)

    def writeq(self, addr: int, value: int) -> None:
        self._write("writeq", 64, addr, value)

    def readb(self, addr: int) -> int:
        return self._read("readb", addr)

    def readw(self, addr: int) -> int:
        return self._read("readw", addr)

    def readl(self, addr: int) -> int:
        return self._read("readl", addr)

    def readq(self, addr: int) -> int:
        return self._read("readq", addr)

    def memread(self, addr: int, size: int) -> bytes:
        """`size` bytes of guest memory at `addr` (as the CPU sees them)."""
        _check_uint("address", addr)
        _check_uint("size", size, 32)
        if size == 0:
            return b""
        reply = self.command("read", f"{addr:#x}", f"{size:#x}")
        data = bytes.fromhex(reply[0][2:])
        if len(data) != size:
            raise QTestError(f"qtest read returned {len(data)} bytes, not {size}")
        return data

    def memwrite(self, addr: int, data: bytes) -> None:
        """Write `data` to guest memory at `addr`."""
        _check_uint("address", addr)
        for off in range(0, len(data), _WRITE_CHUNK):
            chunk = data[off : off + _WRITE_CHUNK]
            self.command("write", f"{addr + off:#x}", f"{len(chunk):#x}", "0x" + chunk.hex())

    # libqtest's names
    write = memwrite
    read = memread

    def memset(self, addr: int, size: int, value: int) -> None:
        _check_uint("address", addr)
        _check_uint("size", size, 32)
        _check_uint("value", value, 8)
        if size:
            self.command("memset", f"{addr:#x}", f"{size:#x}", f"{value:#x}")

    # --- virtual clock -------------------------------------------------------

    def clock_step(self, ns: int | None = None) -> int:
        """Advance QEMU_CLOCK_VIRTUAL by `ns` (None: to the next timer); the new time."""
        if ns is None:
            reply = self.command("clock_step")
        else:
            _check_uint("ns", ns, 63)
            if ns == 0:
                self.sync()
                if self.clock_ns is None:
                    raise QTestError("clock_step(0) before the clock is known")
                return self.clock_ns
            reply = self.command("clock_step", ns)
        self.clock_ns = int(reply[0])
        return self.clock_ns

    def clock_set(self, ns: int) -> int:
        """Advance QEMU_CLOCK_VIRTUAL to `ns`; the new time."""
        _check_uint("ns", ns, 63)
        reply = self.command("clock_set", ns)
        self.clock_ns = int(reply[0])
        return self.clock_ns

    # --- interrupts ----------------------------------------------------------

    def irq_intercept_in(self, path: str = GIC_PATH) -> None:
        """Report the GPIO inputs of the device at `path` (one device per QEMU)."""
        self.command("irq_intercept_in", path)

    def irq_intercept_out(self, path: str, name: str | None = None) -> None:
        """Report the GPIO outputs (named `name`, or the unnamed ones) of `path`."""
        if name is None:
            self.command("irq_intercept_out", path)
        else:
            self.command("irq_intercept_out", path, name)

    def set_irq_in(self, path: str, name: str, num: int, level: int) -> None:
        self.command("set_irq_in", path, name, num, level)

    def irq_level(self, line: int) -> bool:
        """Last level reported for `line` (False if never reported)."""
        return self.irq_levels.get(line, False)

    get_irq = irq_level

    def irq_raises(self, line: int) -> int:
        """How many times `line` was raised since the last `clear_irq_events`."""
        return sum(1 for e in self.irq_events if e.line == line and e.level)

    def clear_irq_events(self) -> None:
        self.irq_events.clear()

    # --- QMP -----------------------------------------------------------------

    def qmp(self, cmd: str, **args: Any) -> Any:
        """Run a QMP command; its return value. QEMU's errors raise QmpCommandError."""
        if self._qmp is None:
            raise QTestError("QTestMachine is not started")
        return self._qmp.command(cmd, args)

    def qom_get(self, path: str, prop: str) -> Any:
        return self.qmp("qom-get", path=path, property=prop)

    def qom_set(self, path: str, prop: str, value: Any) -> None:
        self.qmp("qom-set", path=path, property=prop, value=value)

    def wait_migration(self, timeout: float | None = None) -> dict[str, Any]:
        """Poll query-migrate until it completes; its last answer.

        Raises QTestError if the migration fails or does not end in time.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            info: dict[str, Any] = self.qmp("query-migrate")
            status = info.get("status")
            if status == "completed":
                return info
            if status in ("failed", "cancelled"):
                raise self._failure(
                    QTestError, f"migration {status}: {info.get('error-desc', 'no reason given')}"
                )
            if not self.alive():
                raise self._failure(QemuExited, "QEMU exited during migration")
            if time.monotonic() > deadline:
                raise self._failure(QTestTimeout, f"migration still {status!r} after time-out")
            time.sleep(0.02)

    def migrate_to_file(self, path: Path | str, timeout: float | None = None) -> None:
        """Save the whole machine state to `path` (QMP migrate to a file: URI)."""
        self.qmp("migrate", uri=f"file:{path}")
        self.wait_migration(timeout)

    def wait_running(self, timeout: float | None = None) -> None:
        """Wait until the VM runs (e.g. after ``-incoming``)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            status = self.qmp("query-status")["status"]
            if status == "running":
                return
            if status not in ("inmigrate", "prelaunch", "postmigrate", "paused"):
                raise self._failure(QTestError, f"VM is {status!r}, not running")
            if not self.alive():
                raise self._failure(QemuExited, "QEMU exited while starting")
            if time.monotonic() > deadline:
                raise self._failure(QTestTimeout, f"VM still {status!r} after time-out")
            time.sleep(0.02)


# --- tango4 DMA: switch box and memory channels (HARDWARE.md) -----------------

SBOX_BASE = 0x0004_0000
SBOX_RESET, SBOX_RESET2, SBOX_ROUTE, SBOX_ROUTE2 = 0x0, 0x4, 0x8, 0xC
SBOX_PATH = "/machine/sbox"
MCHAN_BASE = 0x0004_0100
MCHAN_STRIDE = 0x40
MCHAN_SPI = 8
MCHAN_ADDR, MCHAN_COUNT, MCHAN_ADDR2, MCHAN_CMD = 0x0, 0x4, 0x8, 0xC
MODE_SINGLE, MODE_DOUBLE, MODE_RECT = 1, 2, 3
CMD_STOP = 0x10
ST_REFUSED = 1 << 27
ST_STOPPED = 1 << 28
ST_LAST_DONE = 1 << 29
ST_ERROR = 1 << 30
ST_BUSY = 1 << 31
RAM_BASE = 0x8000_0000


class Tango4Dma:
    """Register-level access to the tango4 sbox and memory channels of a machine."""

    def __init__(self, machine: QTestMachine) -> None:
        self.m = machine

    # sbox
    def route(self, dst: int, src: int) -> None:
        """Write the route nibble of destination port `dst` (others left as they are)."""
        if not 1 <= dst <= 16 or not 0 <= src <= 0xF:
            raise ValueError(f"bad route {src} -> {dst}")
        reg = SBOX_ROUTE if dst <= 8 else SBOX_ROUTE2
        self.m.writel(SBOX_BASE + reg, src << (((dst - 1) % 8) * 4))

    def disconnect(self, dst: int) -> None:
        self.route(dst, 0xF)

    def source_of(self, dst: int) -> int:
        reg = SBOX_ROUTE if dst <= 8 else SBOX_ROUTE2
        return (self.m.readl(SBOX_BASE + reg) >> (((dst - 1) % 8) * 4)) & 0xF

    def reset_sequence(self) -> None:
        """The out-of-tree driver's sbox reset: assert, 2 us, release, disconnect all."""
        for reg in (SBOX_RESET, SBOX_RESET2):
            self.m.writel(SBOX_BASE + reg, 0xFFFF_FFFF)
        self.m.clock_step(2000)
        for reg in (SBOX_RESET, SBOX_RESET2):
            self.m.writel(SBOX_BASE + reg, 0xFF00_FF00)
        for reg in (SBOX_ROUTE, SBOX_ROUTE2):
            self.m.writel(SBOX_BASE + reg, 0xFFFF_FFFF)

    def sbox(self, prop: str) -> Any:
        return self.m.qom_get(SBOX_PATH, prop)

    # memory channels
    @staticmethod
    def base(chan: int) -> int:
        return MCHAN_BASE + chan * MCHAN_STRIDE

    @staticmethod
    def irq(chan: int) -> int:
        """The GIC SPI of channel `chan`, as irq_intercept_in numbers it."""
        return MCHAN_SPI + chan

    def chan(self, chan: int, prop: str) -> Any:
        return self.m.qom_get(f"/machine/mchan{chan}", prop)

    def program(
        self, chan: int, addr: int, count: int, addr2: int = 0, mode: int = 1, last: bool = True
    ) -> None:
        """Write ADDR, COUNT, ADDR2 and then CMD = mode << 1 | last."""
        base = self.base(chan)
        self.m.writel(base + MCHAN_ADDR, addr)
        self.m.writel(base + MCHAN_COUNT, count)
        self.m.writel(base + MCHAN_ADDR2, addr2)
        self.m.writel(base + MCHAN_CMD, (mode << 1) | int(last))

    def single(self, chan: int, addr: int, length: int, last: bool = True) -> None:
        self.program(chan, addr, length, 0, MODE_SINGLE, last)

    def double(
        self, chan: int, addr0: int, len0: int, addr1: int, len1: int, last: bool = True
    ) -> None:
        self.program(chan, addr0, len0 | (len1 << 16), addr1, MODE_DOUBLE, last)

    def rect(
        self, chan: int, addr: int, width: int, lines: int, stride: int, last: bool = True
    ) -> None:
        self.program(chan, addr, width | (lines << 16), stride, MODE_RECT, last)

    def reg(self, chan: int, off: int) -> int:
        return self.m.readl(self.base(chan) + off)

    def status(self, chan: int) -> int:
        return self.reg(chan, MCHAN_CMD)

    def stop(self, chan: int) -> None:
        """CMD STOP: end the command in progress without an interrupt."""
        self.m.writel(self.base(chan) + MCHAN_CMD, CMD_STOP)

    def settle(self, ns: int = 1) -> int:
        """Step the clock by `ns` (default 1 ns) so that deliveries and
        interrupts due now (latency 0) run; the new time."""
        return self.m.clock_step(ns)

    def wait_irq(self, chan: int, step_ns: int = 100, limit_ns: int = 100_000_000) -> int:
        """Step the clock to the next multiples of `step_ns` until channel
        `chan` pulses its interrupt once more; the time then (a multiple of
        `step_ns`, at most `step_ns` after the pulse)."""
        before = self.m.irq_raises(self.irq(chan))
        start = now = self.m.clock_step(0)
        while self.m.irq_raises(self.irq(chan)) == before:
            now = self.m.clock_step(step_ns - now % step_ns)
            if now - start > limit_ns:
                raise QTestTimeout(f"no interrupt from channel {chan} within {limit_ns} ns")
        return self.m.clock_step(0)
