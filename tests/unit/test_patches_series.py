# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The series file's `# local` section and the cover letter file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangolab.build.overlay import read_series, read_series_entries
from tangolab.errors import BuildError
from tangolab.patches.export import COVER_LETTER, SUBJECT_MAX, read_cover_letter
from tangolab.paths import repo_root


def series_dir(tmp_path: Path, text: str, patches: tuple[str, ...]) -> Path:
    for name in patches:
        (tmp_path / name).write_text("mail\n")
    (tmp_path / "series").write_text(text)
    return tmp_path


def test_patches_after_the_marker_are_local(tmp_path: Path) -> None:
    d = series_dir(
        tmp_path,
        "# the upstream part\n0001-a.patch x/a.c  # trailing comment\n0002-b.patch\n"
        "\n  # local: the test-only patches\n0003-c.patch y.c z.h\n",
        ("0001-a.patch", "0002-b.patch", "0003-c.patch"),
    )
    entries = read_series_entries(d)
    assert [(e.patch.name, e.files, e.local) for e in entries] == [
        ("0001-a.patch", ["x/a.c"], False),
        ("0002-b.patch", [], False),
        ("0003-c.patch", ["y.c", "z.h"], True),
    ]
    # the build applies everything, in order
    assert read_series(d) == [(e.patch, e.files) for e in entries]


@pytest.mark.parametrize("comment", ["# locale settings", "# not local", "#localhost"])
def test_other_comments_are_not_the_marker(tmp_path: Path, comment: str) -> None:
    d = series_dir(tmp_path, f"{comment}\n0001-a.patch\n", ("0001-a.patch",))
    assert [e.local for e in read_series_entries(d)] == [False]


def test_without_marker_nothing_is_local(tmp_path: Path) -> None:
    d = series_dir(tmp_path, "0001-a.patch\n0002-b.patch\n", ("0001-a.patch", "0002-b.patch"))
    assert not any(e.local for e in read_series_entries(d))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0001-a.patch\n# local\n# local again\n", r"series:3: a second `# local` marker"),
        ("0001-a.patch\n0009-missing.patch\n", r"series:2: no patch 0009-missing.patch"),
        ("0001-a.patch\n0001-a.patch\n", r"series:2: 0001-a.patch is listed twice"),
        ("../0001-a.patch\n", r"series:1: \.\./0001-a.patch: a patch is named by its file name"),
    ],
)
def test_bad_series_files(tmp_path: Path, text: str, message: str) -> None:
    d = series_dir(tmp_path, text, ("0001-a.patch",))
    with pytest.raises(BuildError, match=message):
        read_series_entries(d)


def test_the_projects_series_keeps_the_loopback_client_local() -> None:
    entries = read_series_entries(repo_root() / "guest" / "patches")
    local = [e for e in entries if e.local]
    upstream = [e for e in entries if not e.local]
    assert upstream and local
    assert entries == upstream + local  # one local section, at the end
    files = [f for e in local for f in e.files]
    assert "drivers/dma/tangox-loopback-test.c" in files
    assert not any("loopback" in f for e in upstream for f in e.files)


def test_the_projects_cover_letter_parses() -> None:
    subject, body = read_cover_letter(repo_root() / COVER_LETTER)
    assert len(subject) <= SUBJECT_MAX - len("[PATCH 0/00] ")
    assert max(len(line) for line in body.splitlines()) <= 75


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give the subject on the first line"),
        ("subject only\n", "give the subject on the first line"),
        ("subject\nno empty line\nbody\n", "give the subject on the first line"),
        ("subject\n\n\n", "give the subject on the first line"),
        ("x" * 70 + "\n\nbody\n", r"cover.txt:1: subject of 70 characters; keep it to 62"),
    ],
)
def test_bad_cover_letters(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "cover.txt"
    f.write_text(text)
    with pytest.raises(BuildError, match=message):
        read_cover_letter(f)


def test_a_missing_cover_letter(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="cannot read the cover letter"):
        read_cover_letter(tmp_path / "none.txt")
