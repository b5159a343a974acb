# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Running build commands: logged to a file, progress on the terminal.

A failing command raises BuildError carrying the command line, the log
file and the tail of the log, which the CLI prints as the error.

Commands may run in several threads at once (QEMU and the kernel build side
by side): inside `shared_display()` they share one progress display, and
`stop_all()` ends every command still running (the other builds, once one
has failed).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..errors import BuildError
from ..term import stderr_console

__all__ = ["BuildError", "capture", "console", "run", "shared_display", "step", "stop_all"]

console = stderr_console()

_NINJA_RE = re.compile(rb"^\[(\d+)/(\d+)\]")
TAIL_LINES = 25


class _Commands:
    """The commands running now (in any thread), and the shared display."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen[bytes]] = set()
        self.stopping = False
        self.display: Progress | None = None


_commands = _Commands()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}", style="dim"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@contextmanager
def shared_display() -> Iterator[None]:
    """One progress display, a line per running command, for the commands
    run (from any thread) inside the block; `stop_all()` lasts until its end."""
    with _progress() as progress:
        with _commands.lock:
            _commands.display, _commands.stopping = progress, False
        try:
            yield
        finally:
            with _commands.lock:
                _commands.display, _commands.stopping = None, False


def stop_all() -> None:
    """Terminate every command running now, and refuse to start others
    until the next `shared_display()`: a build failed, the others stop."""
    with _commands.lock:
        _commands.stopping = True
        for proc in _commands.running:
            proc.terminate()  # make and ninja pass it on to their jobs


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
        with _commands.lock:
            if _commands.stopping:
                raise BuildError(f"{title}: not started, another build failed", log=log)
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
            _commands.running.add(proc)
            shared = _commands.display
        try:
            with _display(shared) as progress:
                task = progress.add_task(title, total=None, info="")
                try:
                    _follow(proc, logf, tail, progress, task, ninja_progress)
                finally:
                    progress.remove_task(task)
        finally:
            rc = proc.wait()
            with _commands.lock:
                _commands.running.discard(proc)
    if rc != 0:
        text = b"".join(tail).decode(errors="replace").rstrip()
        raise BuildError(f"{title} failed (exit status {rc})", command=argv, log=log, tail=text)


@contextmanager
def _display(shared: Progress | None) -> Iterator[Progress]:
    if shared is not None:
        yield shared
    else:
        with _progress() as own:
            yield own


def _follow(
    proc: subprocess.Popen[bytes],
    logf: IO[bytes],
    tail: deque[bytes],
    progress: Progress,
    task: TaskID,
    ninja_progress: bool,
) -> None:
    """Copy the command's output to its log, its last lines to `tail`, and
    its progress to the display."""
    assert proc.stdout is not None
    for line in proc.stdout:
        logf.write(line)
        tail.append(line)
        m = _NINJA_RE.match(line) if ninja_progress else None
        if m:
            progress.update(task, completed=int(m.group(1)), total=int(m.group(2)))
        info = line.decode(errors="replace").strip()[-60:]
        progress.update(task, info=info)


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
