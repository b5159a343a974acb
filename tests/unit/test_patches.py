# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches export --out DIR` deletes nothing it did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tangolab.errors import UsageError
from tangolab.patches import OUT_RECORD, check_out, prepare_out


def test_new_and_empty_directories(tmp_path: Path) -> None:
    prepare_out(tmp_path / "a" / "b")
    assert json.loads((tmp_path / "a" / "b" / OUT_RECORD).read_text()) == []
    (tmp_path / "empty").mkdir()
    prepare_out(tmp_path / "empty")
    assert [p.name for p in (tmp_path / "empty").iterdir()] == [OUT_RECORD]


def test_a_foreign_directory_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="directory not empty and not written by"):
        prepare_out(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="exists and is not a directory"):
        prepare_out(tmp_path / "notes.txt")


def test_only_the_previous_exports_files_are_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_out(out)
    for name in ("0001-a.patch", "0002-b.patch"):
        (out / name).write_text("old")
    (out / OUT_RECORD).write_text(json.dumps(["0001-a.patch", "0002-b.patch", "../escape"]))
    (out / "README").write_text("added by hand")
    (out / "0003-mine.patch").write_text("added by hand")
    (tmp_path / "escape").write_text("outside")
    prepare_out(out)
    assert {p.name for p in out.iterdir()} == {"0003-mine.patch", OUT_RECORD, "README"}
    assert (tmp_path / "escape").read_text() == "outside"


def test_a_broken_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / OUT_RECORD).write_text("{not json")
    with pytest.raises(UsageError, match="not a record of an export"):
        prepare_out(tmp_path)


def test_the_local_subdirectory_is_ours_only_through_the_record(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "local").mkdir(parents=True)
    (out / "local" / "0009-l.patch").write_text("old")
    (out / "other").mkdir()
    (out / "other" / "x.patch").write_text("not ours")
    record = ["local/0009-l.patch", "other/x.patch", "local/../x", "local/a/b"]
    (out / OUT_RECORD).write_text(json.dumps(record))
    prepare_out(out)
    assert not (out / "local").exists()  # emptied, so removed
    assert (out / "other" / "x.patch").read_text() == "not ours"


def test_check_out_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / OUT_RECORD).write_text(json.dumps(["0001-a.patch"]))
    (out / "0001-a.patch").write_text("old")
    assert check_out(out) == ["0001-a.patch"]
    assert (out / "0001-a.patch").read_text() == "old"
    assert check_out(tmp_path / "missing") == []
    assert not (tmp_path / "missing").exists()
