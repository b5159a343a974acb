# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The power-cut campaign's journal check, kernel-log verdict and plan, and
the writer (guest/tools/fswriter.c built for the host) against the check,
with doctored files and journals; `tangolab torture powercut` usage errors.
No QEMU."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tangolab.paths import repo_root
from tangolab.torture.powercut import (
    CutResult,
    Listed,
    PowercutError,
    Summary,
    check_journal,
    journal_lines,
    judge_kernel_log,
    parse_journal,
    parse_listing,
    plan_cuts,
)


def problems(journal: str, found: dict[str, Listed]) -> list[str]:
    return check_journal(parse_journal(journal.strip().splitlines()), found)


def test_durable_files_must_hold_their_bytes() -> None:
    journal = "D 1.0 100\nD 2.0 50\nD 1.0 300\n"
    assert problems(journal, {"1.0": Listed(300, 300), "2.0": Listed(80, 80)}) == []
    # more than was made durable is fine (written back before the cut)
    assert problems(journal, {"1.0": Listed(900, 900), "2.0": Listed(50, 50)}) == []
    (lost,) = problems(journal, {"2.0": Listed(50, 50)})
    assert lost.startswith("1: durable as 1.0 with 300 bytes: missing")
    (short,) = problems(journal, {"1.0": Listed(299, 299), "2.0": Listed(50, 50)})
    assert "short" in short
    (bad,) = problems(journal, {"1.0": Listed(300, 17), "2.0": Listed(50, 50)})
    assert "corrupted" in bad and "the first 17 good" in bad
    (err,) = problems(journal, {"1.0": Listed(300, 4, "EIO"), "2.0": Listed(50, 50)})
    assert "read error EIO" in err


def test_renames_and_deletions() -> None:
    # issued but not durable: either name (not both), or gone
    journal = "D 1.0 10\nr 1.0 1.1\nD 2.0 10\nu 2.0\n"
    assert problems(journal, {"1.0": Listed(10, 10), "2.0": Listed(10, 10)}) == []
    assert problems(journal, {"1.1": Listed(10, 10)}) == []
    (both,) = problems(journal, {"1.0": Listed(10, 10), "1.1": Listed(10, 10)})
    assert "found under 2 names" in both
    # still there after an issued unlink: it must be intact
    assert problems(journal, {"1.1": Listed(10, 10), "2.0": Listed(10, 3)})
    # a durable rename and a durable deletion
    journal = "D 1.0 10\nr 1.0 1.1\nD 1.1 10\nD 2.0 5\nu 2.0\nU 2.0\n"
    assert problems(journal, {"1.1": Listed(10, 10)}) == []
    (old_name,) = problems(journal, {"1.0": Listed(10, 10)})
    assert old_name.endswith("missing")
    # a file never made durable promises nothing
    assert problems("r 3.0 3.1\nu 3.1\n", {}) == []


def test_bad_journal_and_listing_lines_are_errors() -> None:
    with pytest.raises(PowercutError, match="bad file name"):
        parse_journal(["D foo 10"])
    with pytest.raises(PowercutError, match="bad line"):
        parse_journal(["D 1.0 ten"])
    with pytest.raises(PowercutError, match="bad line"):
        parse_listing(["F 1.0 1 x"])
    found = parse_listing(["F 1.0 10 10", "F 2.0 8 4 Input/output error", "X junk", "checked 3"])
    assert found == {
        "1.0": Listed(10, 10),
        "2.0": Listed(8, 4, "Input/output error"),
        "junk": Listed(0, 0, "not a writer file name"),
    }


def test_journal_lines_come_from_console_output() -> None:
    text = "tangolab# x\r\nfsw: D 1.0 5\r\n[  3.1] kernel\nfsw: r 1.0 1.1\n"
    assert journal_lines(text) == ["D 1.0 5", "r 1.0 1.1"]


ECC = (
    "[    3.3] ubi0 warning: ubi_io_read: error -74 (ECC error) while reading 4 bytes from "
    "PEB {peb}:4096, read only 4 bytes, retry\n"
)
FS = "[    3.4] UBIFS error (ubi0:0 pid 61): ubifs_leb_read: reading 4 bytes from LEB 16:0 failed, error -74\n"  # noqa: E501
ATTACH = "[    2.4] ubi0: good PEBs: 64, bad PEBs: 0, corrupted PEBs: {n}\n"


def test_kernel_log_errors_of_the_cut_page_are_tolerated_only_there() -> None:
    log = judge_kernel_log(ATTACH.format(n=0) + ECC.format(peb=41) + FS, cut_peb=41)
    assert log.corrupted_pebs == 0 and log.ecc_pebs == {41}
    assert log.fs_errors == [] and len(log.tolerated) == 1 and len(log.ubi_messages) == 1
    # the same messages about another PEB: an error
    log = judge_kernel_log(ATTACH.format(n=0) + ECC.format(peb=7) + FS, cut_peb=41)
    assert log.ecc_pebs == {7} and len(log.fs_errors) == 1
    # any other UBIFS error is never tolerated
    other = (
        "[ 3.5] UBIFS error (ubi0:0 pid 61): ubifs_read_node: bad node type (255 but expected 1)\n"
    )
    log = judge_kernel_log(ATTACH.format(n=1) + other, cut_peb=41)
    assert log.corrupted_pebs == 1 and log.fs_errors == [other.strip()]
    assert judge_kernel_log("", None).corrupted_pebs is None


def test_cut_plans_are_seeded_and_in_range() -> None:
    a = plan_cuts(50, 7, 30)
    assert a == plan_cuts(50, 7, 30) and a != plan_cuts(50, 8, 30)
    assert all(1 <= p.pages <= 30 for p in a) and len({p.writer_seed for p in a}) == 50


@pytest.fixture(scope="module")
def fswriter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler for guest/tools/fswriter.c")
    out = tmp_path_factory.mktemp("fswriter") / "fswriter"
    src = repo_root() / "guest" / "tools" / "fswriter.c"
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src], check=True)
    return out


def _writer(fswriter: Path, *argv: str) -> list[str]:
    res = subprocess.run([fswriter, *argv], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return journal_lines(res.stdout)


def test_the_writer_and_the_check_agree_and_doctoring_is_caught(
    fswriter: Path, tmp_path: Path
) -> None:
    d = tmp_path / "w"
    journal = _writer(fswriter, "run", str(d), "--seed", "5", "--ops", "300")
    assert journal[0] == f"start seed=5 dir={d}" and journal[-1] == "done ops=300"
    assert {line[0] for line in journal[1:-1]} == {"D", "U", "r", "u"}
    again = _writer(fswriter, "run", str(tmp_path / "again"), "--seed", "5", "--ops", "300")
    assert journal[1:] == again[1:]
    promised = parse_journal(journal)
    assert len(promised) >= 3

    def check() -> list[str]:
        return check_journal(promised, parse_listing(_writer(fswriter, "check", str(d))))

    assert check() == []
    fid, rec, name = max(
        ((f, r, n) for f, r in promised.items() for n in r.names if (d / n).exists()),
        key=lambda frn: frn[1].size,
    )
    path = d / name
    content = path.read_bytes()
    # a byte flipped inside the durable part
    path.write_bytes(content[:5] + bytes([content[5] ^ 1]) + content[6:])
    (bad,) = check()
    assert bad.startswith(f"{fid}: ") and "corrupted" in bad and "the first 5 good" in bad
    # cut short
    path.write_bytes(content[: rec.size - 1])
    (short,) = check()
    assert "short" in short
    # gone
    path.unlink()
    (gone,) = check()
    assert gone.endswith("missing")
    path.write_bytes(content)
    assert check() == []
    # a doctored journal: more bytes promised than the file holds
    doctored = parse_journal([*journal, f"D {name} {len(content) + 1}"])
    (lie,) = check_journal(doctored, parse_listing(_writer(fswriter, "check", str(d))))
    assert "short" in lie


def _cli(build: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TANGOLAB_BUILD=str(build))
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
        (["--cuts", "0"], "must be at least 1"),
        (["--cuts", "many"], "not a whole number"),
        (["--seed", "-1"], "a seed is 0 .. 2^32-1"),
        (["--max-pages", "0"], "must be at least 1"),
        (["--cuts", "1"], "missing build artifact"),
    ],
)
def test_powercut_usage_errors_are_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    res = _cli(tmp_path, "torture", "powercut", *argv)
    assert res.returncode in (1, 2), res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0]


def test_the_summary_counts_each_kind_of_failure_once() -> None:
    plan = plan_cuts(1, 1, 10)[0]
    log = judge_kernel_log(ATTACH.format(n=0) + ECC.format(peb=3), cut_peb=3)
    good = CutResult(plan, attached=True, mounted=True, cut_peb=3, log=log, seconds=5.0)
    lost = CutResult(plan, attached=True, mounted=True, cut_peb=3, log=log, lost=["1: missing"])
    unmounted = CutResult(plan, attached=True, mounted=False, cut_peb=3, log=log, lost=["x"])
    writer = CutResult(plan, writer_error="the writer stopped before the cut")
    s = Summary()
    for r in (good, lost, unmounted, writer):
        s.add(r)
    assert good.survived and not lost.survived and not writer.survived
    assert (s.cuts, s.survived, s.mount_failures, s.lost_files, s.writer_failures) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert s.too_many_corrupted == 0
    assert s.lines([2.5])[0] == "cuts survived: 1 of 4"
