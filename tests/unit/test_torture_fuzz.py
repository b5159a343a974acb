# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The fuzzer's generator and reproducer files, and `tangolab torture fuzz`
usage errors, without QEMU."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tangolab.torture.fuzz import FuzzError, Generator, read_reproducer

WIDTH = {"b": 8, "w": 16, "l": 32, "q": 64}
QTEST_LINE = re.compile(
    r"(?:write([bwlq]) 0x[0-9a-f]+ 0x([0-9a-f]+)|read[bwlq] 0x[0-9a-f]+|"
    r"clock_step [1-9][0-9]*|write 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+))"
)


def ops(seed: int, n: int) -> list[tuple[str, object]]:
    gen = Generator(random.Random(seed))
    return [op for _ in range(n) for op in gen.next()]


def test_the_generator_is_seeded() -> None:
    assert ops(5, 2000) == ops(5, 2000)
    assert ops(5, 2000) != ops(6, 2000)


def test_every_request_is_well_formed_and_every_kind_is_used() -> None:
    qmp_props = set()
    for kind, what in ops(1, 20_000):
        if kind == "q":
            assert isinstance(what, str)
            m = QTEST_LINE.fullmatch(what)
            assert m, what
            if m.group(1):
                assert int(m.group(2), 16) < 1 << WIDTH[m.group(1)], what
            if m.group(3):
                assert len(m.group(4)) == 2 * int(m.group(3), 16), what
        else:
            assert kind == "qmp"
            command, args = what  # type: ignore[misc]
            json.dumps(args)
            qmp_props.add((command, args.get("property")))
    for prop in ("latency-ns", "jitter", "jitter-ns", "seed", "bandwidth", "irq-delay-ns",
                 "t-r-ns", "t-prog-ns", "t-bers-ns"):  # fmt: skip
        assert ("qom-set", prop) in qmp_props, prop
    assert ("system_reset", None) in qmp_props


def test_reproducer_files_are_read_back(tmp_path: Path) -> None:
    f = tmp_path / "r.qtest"
    qmp = json.dumps({"execute": "qom-set", "arguments": {"path": "/machine/sbox"}})
    f.write_text(f"# comment\nwritel 0x40008 0x21\n# flush\n\n# qmp {qmp}\nclock_step 5\n")
    assert list(read_reproducer(f)) == [
        ("q", "writel 0x40008 0x21"),
        None,
        ("qmp", ("qom-set", {"path": "/machine/sbox"})),
        ("q", "clock_step 5"),
    ]
    f.write_text("# qmp {not json\n")
    with pytest.raises(FuzzError, match=r"r\.qtest:1: not a QMP request"):
        list(read_reproducer(f))
    with pytest.raises(FuzzError, match="cannot read"):
        list(read_reproducer(tmp_path / "missing"))


def _cli(build: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TANGOLAB_BUILD=str(build))
    env.pop("TANGOLAB_QEMU", None)
    return subprocess.run(
        [sys.executable, "-m", "tangolab.cli", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ops", "0"], "must be at least 1"),
        (["--ops", "10k"], "not a whole number"),
        (["--seed", "x"], "bad seed"),
        (["--timeout", "0"], "must be positive"),
        (["--asan", "/nonexistent/qemu"], "no QEMU binary at /nonexistent/qemu"),
        (["--ops", "10"], "no QEMU binary at"),
        (["--replay", "/nonexistent.qtest", "--asan", "/bin/true"], "cannot read"),
    ],
)
def test_fuzz_usage_errors_are_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    res = _cli(tmp_path, "torture", "fuzz", *argv)
    assert res.returncode in (1, 2), res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0]


ASAN_REPORT = """=================================================================
==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011
WRITE of size 1 at 0x602000000011 thread T0
    #0 0x55d1 in tango4_nfc_write ../hw/block/tango4-nfc.c:123
SUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/block/tango4-nfc.c:123 in tango4_nfc_write
"""


def test_a_new_sanitizer_report_file_is_a_finding(tmp_path: Path) -> None:
    from tangolab.torture.fuzz import _exit_finding

    seen: set[Path] = set()
    assert _exit_finding(0, "", 10, tmp_path, seen) is None
    # a warning-only file is not a report
    (tmp_path / "sanitizer.4241").write_text("==4241==WARNING: ASan doesn't fully support\n")
    assert _exit_finding(0, "", 10, tmp_path, seen) is None
    (tmp_path / "sanitizer.4242").write_text(ASAN_REPORT)
    found = _exit_finding(0, "", 10, tmp_path, seen)
    assert found is not None and found.kind == "sanitizer"
    assert found.summary.startswith("SUMMARY: AddressSanitizer: heap-buffer-overflow")
    assert "tango4_nfc_write" in found.stderr_tail
    # the same file is not found twice; without a report dir stderr still counts
    assert _exit_finding(0, "", 11, tmp_path, seen) is None
    assert _exit_finding(1, "", 11, None, set()) is not None
    assert _exit_finding(0, "x.c:1: runtime error: shift", 11, None, set()) is not None
