# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches check`: the parts that need no kernel tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangolab.errors import BuildError
from tangolab.patches import check
from tangolab.patches.check import CHECKS, FAIL, OK, PatchResult, format_table, touched_paths


def test_touched_paths(tmp_path: Path) -> None:
    p = tmp_path / "0001-x.patch"
    p.write_text(
        "Subject: [PATCH] x\n\n---\n"
        "diff --git a/drivers/a.c b/drivers/a.c\n--- a/drivers/a.c\n+++ b/drivers/a.c\n"
        "diff --git a/Documentation/x.yaml b/Documentation/x.yaml\nnew file mode 100644\n"
        "diff --git a/old.h b/new.h\nrename from old.h\nrename to new.h\n"
        "diff --git a/drivers/a.c b/drivers/a.c\n"
    )
    assert touched_paths(p) == ["drivers/a.c", "Documentation/x.yaml", "new.h"]


def test_diagnostics_are_relative_and_without_line_numbers(tmp_path: Path) -> None:
    ck = check.Checker.__new__(check.Checker)
    ck.tree, ck.obj = tmp_path / "linux", tmp_path / "obj"
    lines = [
        "  CC      drivers/dma/tangox-dma.o",
        f"{tmp_path}/linux/drivers/dma/x.c:12:5: warning: unused variable 'a' [-Wunused]",
        "../linux/drivers/dma/x.c:40: error: bad thing",
        "include/linux/y.h:3:1: warning: sparse says so",
        "x.c:1:2: note: not a finding",
    ]
    assert ck.diagnostics(lines) == [
        "drivers/dma/x.c: warning: unused variable 'a' [-Wunused]",
        "drivers/dma/x.c: error: bad thing",
        "include/linux/y.h: warning: sparse says so",
    ]


def test_only_new_findings_count() -> None:
    before = ["a.c: warning: w1", "a.c: warning: w2"]
    after = ["a.c: warning: w2", "a.c: warning: w1", "a.c: warning: w1", "a.c: warning: w3"]
    assert sorted(check._new(after, before)) == ["a.c: warning: w1", "a.c: warning: w3"]
    assert check._new(before, before) == []


def test_a_missing_tool_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = check.shutil.which
    monkeypatch.setattr(
        check.shutil, "which", lambda p, path=None: None if p == "sparse" else real(p, path=path)
    )
    with pytest.raises(BuildError, match=r"^patches check needs sparse: install the Debian"):
        check.require_tools()


def test_the_table_and_findings(tmp_path: Path) -> None:
    good = PatchResult(tmp_path / "0001-good.patch", seconds=3.4)
    good.status.update(apply=OK, checkpatch=OK, build=OK)
    bad = PatchResult(tmp_path / "0002-bad.patch")
    bad.status.update(apply=OK, checkpatch=OK, build=OK)
    bad.fail("sparse", [f"x.c: warning: w{i}" for i in range(check.SHOWN + 2)])
    skipped = PatchResult(tmp_path / "0003-after.patch")
    assert good.ok and not bad.ok and skipped.ok
    rows = format_table([good, bad, skipped])
    assert rows[0].split() == ["patch", *CHECKS, "time"]
    assert rows[1].split() == ["0001-good.patch", OK, OK, OK, "-", "-", "-", "-", "3s"]
    assert rows[2].split()[CHECKS.index("sparse") + 1] == FAIL
    assert rows[4] == "0002-bad.patch:"
    assert rows[5] == "  sparse: x.c: warning: w0"
    assert rows[-1] == "  ... 2 more in the log"


@pytest.mark.parametrize(
    ("printed", "status", "clean"),
    [
        ("total: 0 errors, 0 warnings, 0 checks, 9 lines checked", 0, True),
        ("total: 0 errors, 0 warnings, 9 lines checked", 0, True),  # QEMU's
        ("total: 0 errors, 1 warnings, 9 lines checked", 0, False),  # QEMU exits 0
        ("total: 0 errors, 0 warnings, 2 checks, 9 lines checked", 1, False),
        ("Can't open the patch", 2, False),
    ],
)
def test_checkpatch_counts_decide(tmp_path: Path, printed: str, status: int, clean: bool) -> None:
    from tangolab.patches.export import QEMU, checkpatch

    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "checkpatch.pl").write_text(f'print "{printed}\\n"; exit {status};\n')
    ok, summary, _ = checkpatch(tmp_path, tmp_path / "x.patch", QEMU)
    assert (ok, summary) == (clean, printed)


def test_checkpatch_findings_name_file_and_line() -> None:
    from tangolab.patches.check import checkpatch_findings

    printed = [
        "CHECK: Alignment should match open parenthesis",
        "#1865: FILE: include/trace/events/tangox_dma.h:28:",
        "+DECLARE_EVENT_CLASS(tangox_dma_xfer,",
        "",
        "WARNING: Missing commit description - Add an appropriate one",
        "",
        "total: 0 errors, 1 warnings, 1 checks, 12 lines checked",
    ]
    assert checkpatch_findings(printed) == [
        "include/trace/events/tangox_dma.h:28: CHECK: Alignment should match open parenthesis",
        "WARNING: Missing commit description - Add an appropriate one",
    ]


def test_a_missing_python_module_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = check.importlib.util.find_spec
    monkeypatch.setattr(
        check.importlib.util, "find_spec", lambda m: None if m == "git" else real(m)
    )
    with pytest.raises(BuildError, match=r"^patches check needs the Python module git: install"):
        check.require_tools()


def test_git_am_gets_an_absolute_patch_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out build/patches` is relative to where the user ran the command,
    but git am runs in the kernel tree (found by the CI dry run)."""
    monkeypatch.chdir(tmp_path)
    patch = Path("out") / "0001-x.patch"
    patch.parent.mkdir()
    patch.write_text("Subject: [PATCH] x\n\n---\n")
    calls: list[list[str]] = []

    class Fake:
        def object_diagnostics(self, files: list[str]) -> dict[str, int]:
            return {}

        def run(self, argv: list[str], title: str) -> tuple[int, list[str]]:
            calls.append(argv)
            return 1, ["patch does not apply"]

    res, applied = check.check_patch(Fake(), patch)  # type: ignore[arg-type]
    assert not applied and res.status["apply"] == FAIL
    assert Path(calls[0][-1]) == tmp_path / patch
