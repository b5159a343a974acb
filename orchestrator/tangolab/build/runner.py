# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Running build commands: logged to a file, progress on the terminal.

A failing command raises BuildError carrying the command line, the log
file and the tail of the log, which the CLI prints as the error.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import BuildError
from ..term import stderr_console

__all__ = ["BuildError", "capture", "console", "run", "step"]

console = stderr_console()

_NINJA_RE = re.compile(rb"^\[(\d+)/(\d+)\]")
TAIL_LINES = 25


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    title: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ninja_progress: bool = False,
    append: bool = True,
) -> None:
    """Run cmd, sending its output to log; raise BuildError on failure.

    With ninja_progress the "[N/M]" lines of ninja drive a progress bar;
    otherwise a spinner shows the last line printed.
    """
    argv = [os.fspath(c) for c in cmd]
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    tail: deque[bytes] = deque(maxlen=TAIL_LINES)
    with open(log, "ab" if append else "wb") as logf:
        logf.write(f"\n$ {shlex.join(argv)}\n".encode())
        logf.flush()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        except OSError as e:
            raise BuildError(
                f"{title}: cannot run {argv[0]}: {e.strerror}", command=argv, log=log
            ) from e
        assert proc.stdout is not None
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}", style="dim"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task(title, total=None, info="")
            for line in proc.stdout:
                logf.write(line)
                tail.append(line)
                m = _NINJA_RE.match(line) if ninja_progress else None
                if m:
                    progress.update(task, completed=int(m.group(1)), total=int(m.group(2)))
                info = line.decode(errors="replace").strip()[-60:]
                progress.update(task, info=info)
            rc = proc.wait()
    if rc != 0:
        text = b"".join(tail).decode(errors="replace").rstrip()
        raise BuildError(f"{title} failed (exit status {rc})", command=argv, log=log, tail=text)


def capture(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a short command and return its standard output."""
    argv = [os.fspath(c) for c in cmd]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        res = subprocess.run(
            argv, cwd=cwd, env=full_env, capture_output=True, text=True, check=False
        )
    except OSError as e:
        raise BuildError(f"cannot run {argv[0]}: {e.strerror}", command=argv) from e
    if res.returncode != 0:
        raise BuildError(
            f"{argv[0]} failed (exit status {res.returncode})",
            command=argv,
            tail=(res.stderr or res.stdout).strip()[-3000:],
        )
    return res.stdout


def step(message: str) -> None:
    """Print one line saying what the build does next."""
    console.print(f"[bold cyan]>>[/] {message}")
