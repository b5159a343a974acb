# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""--author, --signoff, --maintainer: parsing, git's default, the mails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tangolab.errors import UsageError
from tangolab.patches import Identity, parse_identity, resolve_identities
from tangolab.patches.identity import PLACEHOLDER, Identities, personalize_mail


def test_parse_identity() -> None:
    assert parse_identity(" Måns Rullgård <mans@example.org> ", "--author") == Identity(
        "Måns Rullgård", "mans@example.org"
    )
    assert str(Identity("A B", "a@b.org")) == "A B <a@b.org>"


@pytest.mark.parametrize(
    "bad",
    ["", "just a name", "<a@b.org>", "A <ab.org>", "A <a@b>", "A <a@b.org> x", "A\nB <a@b.org>"],
)
def test_bad_identities(bad: str) -> None:
    with pytest.raises(UsageError, match=r"--signoff .*: give an identity as 'Full Name <"):
        parse_identity(bad, "--signoff")


def git_repo(path: Path, name: str | None, mail: str | None) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for key, value in (("user.name", name), ("user.email", mail)):
        if value:
            subprocess.run(["git", "-C", str(path), "config", key, value], check=True)
    return path


@pytest.fixture
def no_global_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.usefixtures("no_global_git")
def test_defaults_come_from_git(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", "Grace Hopper", "grace@example.org")
    ids = resolve_identities(repo, None, None, None)
    grace = Identity("Grace Hopper", "grace@example.org")
    assert ids == Identities(grace, grace, grace)
    ids = resolve_identities(repo, "A <a@x.org>", None, "M <m@x.org>")
    assert ids == Identities(Identity("A", "a@x.org"), grace, Identity("M", "m@x.org"))


@pytest.mark.usefixtures("no_global_git")
@pytest.mark.parametrize("user", [(None, None), ("Only Name", None), (None, "only@mail.org")])
def test_a_clear_error_without_git_user(tmp_path: Path, user: tuple[str, str]) -> None:
    repo = git_repo(tmp_path / "r", *user)
    with pytest.raises(UsageError, match=r"no --author given and git has no user.name/user"):
        resolve_identities(repo, None, "S <s@x.org>", None)
    with pytest.raises(UsageError, match=r"no --signoff given and git has no user.name/user"):
        resolve_identities(repo, "A <a@x.org>", None, None)
    ids = resolve_identities(repo, "A <a@x.org>", "S <s@x.org>", None)
    assert ids.maintainer == ids.author == Identity("A", "a@x.org")


MAIL = f"""From 1234 Mon Sep 17 00:00:00 2001
From: {PLACEHOLDER}
Subject: [PATCH] x: y

Body.

Signed-off-by: {PLACEHOLDER}
Signed-off-by: Someone Else <else@example.org>
---
 MAINTAINERS | 1 +

diff --git a/MAINTAINERS b/MAINTAINERS
@@ -1,3 +1,4 @@
 M:	{PLACEHOLDER}
+M:	{PLACEHOLDER}
+Signed-off-by: {PLACEHOLDER}
"""


def test_personalize_mail() -> None:
    ids = Identities(Identity("A", "a@x.org"), Identity("S", "s@x.org"), Identity("M", "m@x.org"))
    out = personalize_mail(MAIL, ids)
    assert PLACEHOLDER not in out
    msg, _, diff = out.partition("\n---\n")
    # the placeholder's sign-off goes (git am --signoff adds S's), others stay
    assert "Signed-off-by: Someone Else <else@example.org>" in msg
    assert msg.count("Signed-off-by:") == 1
    # in the diff, context and added lines alike name the maintainer
    assert " M:\tM <m@x.org>\n+M:\tM <m@x.org>\n+Signed-off-by: M <m@x.org>\n" in diff
    # the placeholder's sign-off as the message's last line goes too
    last = MAIL.replace("Signed-off-by: Someone Else <else@example.org>\n", "")
    msg = personalize_mail(last, ids).partition("\n---\n")[0]
    assert "Signed-off-by" not in msg
    assert msg.rstrip().endswith("Body.")


def test_a_new_maintainers_section_gets_an_m_line(tmp_path: Path) -> None:
    from tangolab.patches.export import add_maintainer_lines

    repo = git_repo(tmp_path / "r", "T", "t@x.org")
    old = "ARM Versatile\nM: Someone <s@x.org>\nF: hw/arm/versatile.c\n\nZ\nL: z@x.org\n"
    (repo / "MAINTAINERS").write_text(old)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "add", "MAINTAINERS"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    new = old.replace(
        "\nZ\n",
        "\nSigma tango4\nL: qemu-arm@nongnu.org\nF: hw/arm/tango4*\n\n"
        "Has one\nM:\tKept <k@x.org>\nF: x\n\nZ\n",
    )
    (repo / "MAINTAINERS").write_text(new)
    subprocess.run([*git, "commit", "-qam", "add"], check=True)
    m = Identity("Ada L", "ada@x.org")
    assert add_maintainer_lines(repo, m)
    assert (repo / "MAINTAINERS").read_text() == new.replace(
        "Sigma tango4\n", "Sigma tango4\nM: Ada L <ada@x.org>\n"
    )
    subprocess.run([*git, "commit", "-qam", "M: added"], check=True)
    assert not add_maintainer_lines(repo, m)  # nothing new without one
