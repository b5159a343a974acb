# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""QEMU under a pseudo-terminal, and the guest shell on its serial console.

QEMU runs with ``-serial stdio`` (no monitor on it) under pexpect, so the
pseudo-terminal carries exactly the bytes of the guest UART. QEMU's stderr goes
to a file. A pump thread reads the terminal all the time, so the guest never
stalls on a full terminal buffer, writes every byte unchanged to the console
log, and hands the bytes to pexpect's ``expect()``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import select
import shlex
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pexpect

from tangolab import lifetime
from tangolab.errors import (
    BootTimeout,
    CommandTimeout,
    KernelPanic,
    MachineError,
    QemuExited,
    TangolabError,
    UsageError,
)

READY_LINE = b"tangolab: userspace ready"
PROMPT = b"tangolab# "
PANIC = b"Kernel panic - not syncing"
PANIC_END = b"---[ end Kernel panic"


def _literal(text: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(text))


_READY_RE = _literal(READY_LINE)
_PROMPT_RE = _literal(PROMPT)
# At the start of a line (after an optional printk time stamp), so that a
# command printing the words does not count as a panic.
_PANIC_RE = re.compile(rb"(?m)^(?:\[[ \d.]+\] ?)?" + re.escape(PANIC))
_PANIC_END_RE = _literal(PANIC_END)

#: The guest shell's line editor takes lines of at most 1024 bytes (busybox
#: default); the wrapped command line must stay below that.
MAX_CONSOLE_LINE = 1000

_TAIL_BYTES = 64 * 1024
_WAIT_SLICE = 0.1
_PENDING_LIMIT = 16 * 1024 * 1024

_E = TypeVar("_E", bound=MachineError)


def _is_control(ch: str) -> bool:
    return (ch < " " and ch != "\t") or ch == "\x7f"


def shell_word(cmd: str) -> str:
    """`cmd` as one shell word on one line, for ``eval``.

    Newlines and other control characters cannot be typed into the guest's
    line editor, so such commands are sent octal-escaped and rebuilt with
    ``printf %b`` inside the guest.
    """
    if not any(_is_control(ch) for ch in cmd):
        return shlex.quote(cmd)
    escaped = "".join(
        "\\\\" if ch == "\\" else (f"\\0{ord(ch):03o}" if _is_control(ch) else ch) for ch in cmd
    )
    return f"\"$(printf '%b' {shlex.quote(escaped)})\""


class CommandResult(NamedTuple):
    """Exit status and output (stdout and stderr interleaved) of a guest command."""

    status: int
    output: str


def normalize_output(raw: bytes) -> str:
    """Decode console bytes; CR LF (and CR CR LF) become LF."""
    text = raw.decode("utf-8", errors="replace")
    return re.sub(r"\r+\n", "\n", text)


def tail_lines(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def file_tail(path: Path, lines: int = 30, max_bytes: int = 16 * 1024) -> str:
    """Last lines of a (log) file; empty when it does not exist."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    return tail_lines(normalize_output(data), lines)


class _Pump:
    """Reads the terminal master until EOF; buffers, logs and keeps a tail."""

    def __init__(self, fd: int, log: Any) -> None:
        self._fd = fd
        self._log = log
        self._cond = threading.Condition()
        self._pending = bytearray()
        self._tail = bytearray()
        self._eof = False
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="tangolab-console", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._stop_r], [], [])
                if self._stop_r in ready:
                    return
                try:
                    data = os.read(self._fd, 65536)
                except OSError as e:
                    if e.errno in (errno.EINTR, errno.EAGAIN):
                        continue
                    data = b""  # EIO: the other side of the terminal is closed
                if not data:
                    return
                with contextlib.suppress(OSError, ValueError):
                    self._log.write(data)  # a full disk must not stop the console
                with self._cond:
                    self._pending += data
                    if len(self._pending) > _PENDING_LIMIT:
                        del self._pending[: len(self._pending) - _PENDING_LIMIT]
                    self._tail += data
                    if len(self._tail) > _TAIL_BYTES:
                        del self._tail[: len(self._tail) - _TAIL_BYTES]
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to `size` bytes, waiting at most `timeout` s (None: forever)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._pending and not self._eof:
                remaining = _WAIT_SLICE if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    raise pexpect.TIMEOUT("no console output in time")
                # Short slices: the main thread must get back to Python code
                # regularly to raise KeyboardInterrupt (a lock wait is not
                # interrupted when the signal lands on another thread).
                self._cond.wait(min(remaining, _WAIT_SLICE))
            if self._pending:
                data = bytes(self._pending[:size])
                del self._pending[:size]
                return data
        raise pexpect.EOF("QEMU closed the console")

    def take_pending(self) -> bytes:
        with self._cond:
            data = bytes(self._pending)
            self._pending.clear()
            return data

    def tail(self) -> bytes:
        with self._cond:
            return bytes(self._tail)

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                os.write(self._stop_w, b"x")
            self._thread.join(5.0)
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stop_r = self._stop_w = -1


class _PumpedSpawn(pexpect.spawn):  # type: ignore[misc]
    """A pexpect.spawn whose reads come from a `_Pump` while one is attached."""

    pump: _Pump | None = None

    def read_nonblocking(self, size: int = 1, timeout: float | None = -1) -> bytes:
        pump = self.pump
        if pump is None:
            data: bytes = super().read_nonblocking(size, timeout)
            return data
        if timeout == -1:
            timeout = self.timeout
        try:
            return pump.read(size, timeout)
        except pexpect.EOF:
            self.flag_eof = True
            raise


class SerialConsole:
    """The QEMU process, its serial console (under pexpect) and its logs."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        console_log: Path,
        stderr_log: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.console_log = console_log
        self.stderr_log = stderr_log
        self._log = console_log.open("wb", buffering=0)
        stderr_log.write_bytes(b"")
        os.chmod(stderr_log, 0o600)
        os.chmod(console_log, 0o600)
        try:
            self.child = _PumpedSpawn(
                self.argv[0],
                self.argv[1:],
                timeout=30,
                maxread=65536,
                cwd=str(cwd) if cwd else None,
                env=env,
                echo=False,
                preexec_fn=self._child_setup(),
            )
        except (pexpect.ExceptionPexpect, OSError) as e:
            self._log.close()
            raise TangolabError(f"cannot start {self.argv[0]}: {e}") from e
        self.child.ptyproc.delayafterclose = 0.0
        self.child.ptyproc.delayafterterminate = 0.0
        self._pump: _Pump | None = _Pump(self.child.child_fd, self._log)
        self.child.pump = self._pump
        self._closed = False

    def _child_setup(self) -> Callable[[], None]:
        """Runs in the child between fork and exec (no allocation-heavy work)."""
        stderr_path = os.fsencode(self.stderr_log)
        # QEMU dies with us even if we are SIGKILLed (tangolab.lifetime).
        die_with_parent = lifetime.die_with_parent()

        def setup() -> None:
            fd = os.open(stderr_path, os.O_WRONLY | os.O_APPEND)
            os.dup2(fd, 2)
            os.close(fd)
            # Pass the guest's bytes through unchanged (no LF -> CR LF on top of
            # the guest's own CR LF); QEMU keeps OPOST but not this flag.
            attrs = termios.tcgetattr(1)
            attrs[1] &= ~termios.ONLCR
            termios.tcsetattr(1, termios.TCSANOW, attrs)
            if die_with_parent is not None:
                die_with_parent()

        return setup

    # --- process -------------------------------------------------------------

    @property
    def pid(self) -> int:
        pid: int = self.child.pid
        return pid

    def is_alive(self) -> bool:
        try:
            alive: bool = self.child.isalive()
        except pexpect.ExceptionPexpect:
            return False
        return alive

    def returncode(self) -> int | None:
        """Exit status, -N if killed by signal N, None while running."""
        if self.is_alive():
            return None
        if self.child.exitstatus is not None:
            code: int = self.child.exitstatus
            return code
        if self.child.signalstatus is not None:
            return -int(self.child.signalstatus)
        return None

    def wait_exit(self, timeout: float) -> bool:
        """Wait until QEMU has exited; True if it has."""
        deadline = time.monotonic() + timeout
        while self.is_alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def exit_description(self) -> str:
        code = self.returncode()
        if code is None:
            return "QEMU is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"QEMU was killed by {name}"
        return f"QEMU exited with status {code}"

    def stop(self, term_timeout: float = 5.0, kill_timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL; always reaps the process."""
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self.wait_exit(term_timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.wait_exit(kill_timeout)

    def close(self) -> None:
        """Stop QEMU if needed, stop the pump and close the terminal and logs."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            if self._pump is not None:
                self._pump.stop()
            self.child.pump = None
            with contextlib.suppress(Exception):
                self.child.close(force=True)
            self._log.close()

    # --- diagnostics ---------------------------------------------------------

    def console_tail(self, lines: int = 40) -> str:
        raw = self._pump.tail() if self._pump is not None else b""
        if not raw:
            return file_tail(self.console_log, lines)
        return tail_lines(normalize_output(raw), lines)

    def stderr_tail(self, lines: int = 30) -> str:
        return file_tail(self.stderr_log, lines)

    def error(self, cls: type[_E], summary: str) -> _E:
        return cls(
            summary,
            console_tail=self.console_tail(),
            stderr_tail=self.stderr_tail(),
            console_log=self.console_log,
            stderr_log=self.stderr_log,
        )

    def exited_error(self, when: str) -> QemuExited:
        self.wait_exit(2.0)
        return QemuExited(
            f"{self.exit_description()} {when}",
            returncode=self.returncode(),
            console_tail=self.console_tail(),
            stderr_tail=self.stderr_tail(),
            console_log=self.console_log,
            stderr_log=self.stderr_log,
        )

    def _panic_error(self) -> KernelPanic:
        # Let the rest of the panic report (backtrace, end marker) arrive.
        with contextlib.suppress(pexpect.ExceptionPexpect):
            self.child.expect([_PANIC_END_RE, pexpect.EOF, pexpect.TIMEOUT], timeout=3)
        text = normalize_output(self._pump.tail() if self._pump else b"")
        panic = PANIC.decode()
        lines = [ln.strip() for ln in text.splitlines() if panic in ln]
        # The first report line, not the "---[ end Kernel panic ...]---" trailer.
        line = next((ln for ln in reversed(lines) if "---[ end" not in ln), panic)
        return self.error(KernelPanic, f"guest kernel panic: {line}")

    # --- expect helpers ------------------------------------------------------

    def _expect(
        self,
        pattern: re.Pattern[bytes],
        timeout: float,
        when: str = "while the guest was running",
    ) -> bool:
        """Wait for `pattern`: True on a match, False on time-out.

        Raises KernelPanic on a panic and QemuExited when QEMU goes away.
        """
        index = self.child.expect(
            [pattern, _PANIC_RE, pexpect.EOF, pexpect.TIMEOUT], timeout=max(0.0, timeout)
        )
        if index == 1:
            raise self._panic_error()
        if index == 2:
            raise self.exited_error(when)
        return bool(index == 0)

    def wait_ready(self, timeout: float, *, reported_timeout: float | None = None) -> None:
        """Wait for the ready line and the first shell prompt.

        `reported_timeout` is the time-out named in the error message (the
        whole boot budget, when part of it is already spent).
        """
        deadline = time.monotonic() + timeout
        total = timeout if reported_timeout is None else reported_timeout
        when = "before the guest was ready"
        if not self._expect(_READY_RE, timeout, when):
            raise self.error(
                BootTimeout,
                f"guest not ready after {total:g} s: no {READY_LINE.decode()!r} line",
            )
        if not self._expect(_PROMPT_RE, deadline - time.monotonic(), when):
            raise self.error(
                BootTimeout,
                f"guest printed {READY_LINE.decode()!r} but no shell prompt "
                f"{PROMPT.decode()!r} within {total:g} s",
            )

    def expect(self, pattern: str | bytes | re.Pattern[bytes], timeout: float) -> re.Match[bytes]:
        """Wait for a regular expression on the console (output not yet consumed)."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        if not self._expect(regex, timeout):
            raise self.error(
                CommandTimeout,
                f"{regex.pattern!r} did not appear on the console within {timeout:g} s",
            )
        match: re.Match[bytes] = self.child.match
        return match

    def _drain(self) -> None:
        """Drop console output nobody waited for (it is in the log); catch panics."""
        stale = bytearray()
        while True:
            try:
                stale += self.child.read_nonblocking(65536, timeout=0)
            except pexpect.TIMEOUT:
                break
            except pexpect.EOF:
                raise self.exited_error("while the guest was idle") from None
        data = bytes(self.child.buffer) + bytes(stale)
        self.child.buffer = b""
        if _PANIC_RE.search(data):
            raise self._panic_error()

    def _resync(self, timeout: float = 5.0) -> bool:
        token = secrets.token_hex(6)
        self.child.send(f"printf '%s%s\\n' TLS {token}\n".encode())
        try:
            return self._expect(_literal(f"TLS{token}".encode()), timeout) and self._expect(
                _PROMPT_RE, timeout
            )
        except MachineError:
            return False

    def run(
        self,
        cmd: str,
        timeout: float = 60.0,
        *,
        marks: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run `cmd` in the guest shell; its exit status and output.

        The command line is ``printf BEGIN; eval 'CMD'; printf END:$?``, where
        the markers are split in the typed text so the shell's echo of the line
        never matches them. Output between the markers is the command's.
        `marks` is called with "begin" and "end" as each marker arrives: the
        moments the command starts and ends, without the typing and the prompt.
        """
        if not cmd.strip():
            raise UsageError("empty guest command")
        token = secrets.token_hex(8)
        line = (
            f"printf '%s%s\\n' TLB {token}; eval {shell_word(cmd)}; "
            f"printf '%s%s:%s\\n' TLE {token} \"$?\"\n"
        ).encode()
        if len(line) > MAX_CONSOLE_LINE:
            raise UsageError(
                f"guest command too long for the serial console ({len(line)} bytes with the "
                f"wrapper, at most {MAX_CONSOLE_LINE}): use ssh_run() or copy a script"
            )
        self._drain()
        self.child.send(line)
        deadline = time.monotonic() + timeout
        begin = re.compile(b"TLB" + token.encode() + rb"\r*\n")
        end = re.compile(b"TLE" + token.encode() + rb":(\d+)\r*\n")
        if self._expect(begin, timeout):
            if marks is not None:
                marks("begin")
            finished = self._expect(end, deadline - time.monotonic())
        else:
            finished = False
        if finished:
            if marks is not None:
                marks("end")
            match = self.child.match
            status = int(match.group(1))
            output = normalize_output(bytes(self.child.before))
            # Consume the prompt that follows; a missing one is not fatal, the
            # next command drains whatever is left.
            with contextlib.suppress(MachineError):
                self._expect(_PROMPT_RE, 10.0)
            return CommandResult(status, output)
        self.child.send(b"\x03")
        synced = self._resync()
        raise self.error(
            CommandTimeout,
            f"guest command {cmd!r} did not finish within {timeout:g} s; interrupted with "
            + ("Ctrl-C" if synced else "Ctrl-C, but the shell did not come back"),
        )

    def interact(self, escape_character: str = "\x1d") -> None:
        """Hand the console to the user's terminal until the escape character.

        The pump stops; output not yet consumed is shown first, and what the
        user sees keeps going to the console log.
        """
        if self._pump is not None and self.child.pump is not None:
            self._pump.stop()
            pending = bytes(self.child.buffer) + self._pump.take_pending()
            self.child.buffer = b""
            self.child.pump = None
            if pending:
                os.write(sys.stdout.fileno(), pending)
        self.child.logfile_read = self._log
        try:
            self.child.interact(escape_character=escape_character)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
