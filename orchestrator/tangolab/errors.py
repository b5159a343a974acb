# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Exceptions of the tangolab orchestrator.

Every error a user can cause or meet (bad arguments, missing build artifacts,
a guest that panics, QEMU dying) is a `TangolabError`: the CLI prints its
message without a traceback and exits with `exit_code`. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path


class TangolabError(Exception):
    """Base class of the errors reported to the user as a plain message."""

    exit_code = 1


class UsageError(TangolabError):
    """Bad arguments or input (exit status 2, like argparse)."""

    exit_code = 2


class MissingArtifactError(TangolabError):
    """A build artifact is missing; says which file and which command makes it."""

    def __init__(self, path: Path, build_command: str) -> None:
        self.path = path
        self.build_command = build_command
        super().__init__(f"missing build artifact {path}: run `{build_command}` to make it")


class BuildError(TangolabError):
    """A build step failed: what, the command, its log and the log's last lines.

    ``str()`` is one line saying what failed, with the command and the log
    path, followed by the last lines of the log, indented with ``| ``.
    """

    #: Lines of the log's tail shown in the message.
    tail_lines = 15
    #: Longer command lines are cut in the message (the log has them whole).
    command_width = 200

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] | None = None,
        log: Path | None = None,
        tail: str = "",
    ) -> None:
        self.message = message
        self.command = list(command) if command else None
        self.log = log
        self.tail = tail
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.command:
            line = shlex.join(self.command)
            if len(line) > self.command_width:
                line = line[: self.command_width - 3] + "..."
            where.append(f"command: {line}")
        if self.log:
            where.append(f"log: {self.log}")
        text = self.message + (f" ({'; '.join(where)})" if where else "")
        lines = [line for line in self.tail.rstrip().splitlines() if line.strip()]
        return "\n".join([text, *(f"  | {line}" for line in lines[-self.tail_lines :])])


class ExperimentError(TangolabError):
    """An experiment could not run as configured, or the guest gave no result."""


class InstanceError(TangolabError):
    """Unknown instance name, name already in use, or an invalid name."""


class PortBusyError(TangolabError):
    """A host TCP port needed for the SSH forwarding is in use."""


class QmpError(TangolabError):
    """QMP connection problem (socket missing, QEMU gone, time-out)."""


class QmpCommandError(QmpError):
    """QEMU answered a QMP command with an error."""

    def __init__(self, command: str, error_class: str, desc: str) -> None:
        self.command = command
        self.error_class = error_class
        self.desc = desc
        super().__init__(f"QMP command {command!r} failed: {error_class}: {desc}")


class SshError(TangolabError):
    """SSH to the guest failed (not reachable in time, authentication, transport)."""


class GuestCommandError(TangolabError):
    """A guest command run with check=True exited with a non-zero status."""

    def __init__(self, command: str, status: int, output: str) -> None:
        self.command = command
        self.status = status
        self.output = output
        tail = "\n".join(output.splitlines()[-20:])
        super().__init__(
            f"guest command {command!r} exited with status {status}"
            + (f"; output (tail):\n{tail}" if tail else "")
        )


class MachineError(TangolabError):
    """The guest or QEMU did not behave: carries the tails of both logs.

    `str()` gives the summary followed by the last lines of the console log and
    of QEMU's stderr, with the paths of the full logs.
    """

    def __init__(
        self,
        summary: str,
        *,
        console_tail: str = "",
        stderr_tail: str = "",
        console_log: Path | None = None,
        stderr_log: Path | None = None,
    ) -> None:
        self.summary = summary
        self.console_tail = console_tail
        self.stderr_tail = stderr_tail
        self.console_log = console_log
        self.stderr_log = stderr_log
        super().__init__(summary)

    def __str__(self) -> str:
        parts = [self.summary]
        where = f" ({self.console_log})" if self.console_log else ""
        if self.console_tail.strip():
            parts.append(f"--- guest console, last lines{where} ---")
            parts.append(self.console_tail.rstrip("\n"))
        else:
            parts.append(f"--- guest console{where}: no output ---")
        where = f" ({self.stderr_log})" if self.stderr_log else ""
        if self.stderr_tail.strip():
            parts.append(f"--- QEMU stderr{where} ---")
            parts.append(self.stderr_tail.rstrip("\n"))
        else:
            parts.append(f"--- QEMU stderr{where}: empty ---")
        return "\n".join(parts)


class BootTimeout(MachineError):
    """The guest did not reach its shell prompt in time."""


class KernelPanic(MachineError):
    """The guest kernel panicked ("Kernel panic - not syncing")."""


class QemuExited(MachineError):
    """QEMU exited while the guest was expected to run."""

    def __init__(
        self,
        summary: str,
        *,
        returncode: int | None,
        console_tail: str = "",
        stderr_tail: str = "",
        console_log: Path | None = None,
        stderr_log: Path | None = None,
    ) -> None:
        self.returncode = returncode
        super().__init__(
            summary,
            console_tail=console_tail,
            stderr_tail=stderr_tail,
            console_log=console_log,
            stderr_log=stderr_log,
        )


class CommandTimeout(MachineError):
    """A guest command did not finish in time."""
