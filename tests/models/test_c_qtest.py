# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Run QEMU's C qtest of the tango4 machine (hw-models/tests/qtest/tango4-test.c,
added to the QEMU tree by qemu-patches/0006 and built by `tangolab build qemu`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tangolab.pytest_plugin import skip_or_fail


def test_c_qtest(qemu_path: Path) -> None:
    obj = qemu_path.resolve().parent
    binary = obj / "tests" / "qtest" / "tango4-test"
    if not binary.is_file():
        skip_or_fail(f"{binary} not built: run `tangolab build qemu`")
    env = {**os.environ, "QTEST_QEMU_BINARY": str(qemu_path.resolve())}
    res = subprocess.run(
        [str(binary), "--tap", "-k"], cwd=obj, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "not ok" not in res.stdout
    assert res.stdout.count("\nok ") == 4, res.stdout
