# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Who a series is posted as: "Name <mail>" identities and git's default.

The patch mails in guest/patches and the files in guest/linux name the
placeholder identity `PLACEHOLDER`. On export it is replaced: in each
commit's author by --author, in its Signed-off-by: by --signoff, and
everywhere else (MAINTAINERS `M:` lines, binding `maintainers:`,
MODULE_AUTHOR) by --maintainer.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

PLACEHOLDER = "tangolab developers <tangolab@users.noreply.invalid>"

_IDENT = re.compile(r"^(?P<name>[^<>@\s][^<>@]*?)\s*<(?P<mail>[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)>$")


@dataclass(frozen=True)
class Identity:
    name: str
    mail: str

    def __str__(self) -> str:
        return f"{self.name} <{self.mail}>"


def parse_identity(text: str, option: str) -> Identity:
    """`Name <user@host.domain>`, or a UsageError naming the option."""
    text = text.strip()
    m = _IDENT.match(text)
    if not m or any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise UsageError(f"{option} {text!r}: give an identity as 'Full Name <user@example.org>'")
    return Identity(m.group("name"), m.group("mail"))


def git_identity(repo: Path) -> Identity | None:
    """git's user.name and user.email as seen in `repo`, when both are set."""
    values = []
    for key in ("user.name", "user.email"):
        try:
            res = subprocess.run(
                ["git", "config", "--get", key],
                cwd=repo,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as e:
            raise UsageError(
                f"cannot run git: {e.strerror} (install the Debian package git)"
            ) from None
        values.append(res.stdout.strip())
    name, mail = values
    if not name or not mail:
        return None
    return parse_identity(f"{name} <{mail}>", "git config user.name/user.email:")


@dataclass(frozen=True)
class Identities:
    author: Identity
    signoff: Identity
    maintainer: Identity


def resolve_identities(
    repo: Path, author: str | None, signoff: str | None, maintainer: str | None
) -> Identities:
    """The identities of an export: each option, else git's user (author,
    sign-off), else the author (maintainer). A clear error when an option is
    missing and git has no user.name/user.email."""
    default: Identity | None = None
    if author is None or signoff is None:
        default = git_identity(repo)
    ids: dict[str, Identity] = {}
    for option, value in (("--author", author), ("--signoff", signoff)):
        if value is not None:
            ids[option] = parse_identity(value, option)
        elif default is not None:
            ids[option] = default
        else:
            raise UsageError(
                f"no {option} given and git has no user.name/user.email: give "
                f"{option} 'Full Name <user@example.org>' or set them with git config"
            )
    main = parse_identity(maintainer, "--maintainer") if maintainer else ids["--author"]
    return Identities(ids["--author"], ids["--signoff"], main)


_PLACEHOLDER_SOB = re.compile(
    r"^Signed-off-by:[ \t]*" + re.escape(PLACEHOLDER) + r"[ \t]*(?:\n|\Z)", re.M
)


def personalize_mail(text: str, ids: Identities) -> str:
    """A patch mail with the placeholder's sign-off lines removed (git am
    --signoff adds the --signoff one) and every other mention of the
    placeholder naming the maintainer. The author is set on the commit."""
    head, sep, rest = text.partition("\n---\n")
    if not sep:
        head, rest = text, ""
    head = _PLACEHOLDER_SOB.sub("", head)
    return (head + sep + rest).replace(PLACEHOLDER, str(ids.maintainer))
