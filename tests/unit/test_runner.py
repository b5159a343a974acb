# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Build commands (tangolab.build.runner): logs, errors, progress lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangolab.build.runner import capture, run, step
from tangolab.errors import BuildError, TangolabError


def test_run_logs_the_command_and_its_output(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "x.log"
    run(["sh", "-c", "echo out; echo err >&2"], log=log, title="x")
    run(["echo", "second"], log=log, title="y")
    assert (
        log.read_text() == "\n$ sh -c 'echo out; echo err >&2'\nout\nerr\n\n$ echo second\nsecond\n"
    )


def test_a_failing_command(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    script = "; ".join(f"echo line{i}" for i in range(40)) + "; exit 3"
    with pytest.raises(BuildError) as e:
        run(["sh", "-c", script], log=log, title="make things", cwd=tmp_path)
    assert isinstance(e.value, TangolabError) and e.value.exit_code == 1
    first, *tail = str(e.value).splitlines()
    assert first.startswith("make things failed (exit status 3) (command: sh -c 'echo line0;")
    assert first.endswith(f"...; log: {log})")  # a long command is cut; the log has it all
    assert tail == [f"  | line{i}" for i in range(25, 40)]


def test_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"^x: cannot run no-such-program: No such file"):
        run(["no-such-program"], log=tmp_path / "x.log", title="x")
    with pytest.raises(BuildError, match=r"^cannot run no-such-program"):
        capture(["no-such-program"])


def test_capture(tmp_path: Path) -> None:
    assert capture(["sh", "-c", "echo $X; pwd"], cwd=tmp_path, env={"X": "1"}) == (
        f"1\n{tmp_path}\n"
    )
    with pytest.raises(BuildError) as e:
        capture(["sh", "-c", "echo oops >&2; exit 4"])
    assert (
        str(e.value)
        == "sh failed (exit status 4) (command: sh -c 'echo oops >&2; exit 4')\n  | oops"
    )


def test_step_lines_are_never_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    long = "QEMU 10.0.13: preparing the tree (" + "x" * 300 + ")"
    step(long)
    assert capsys.readouterr().err == f">> {long}\n"
