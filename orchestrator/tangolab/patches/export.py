# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Export the guest kernel changes as a `git format-patch` series.

Each line of guest/patches/series becomes one commit on top of the pinned
pristine Linux tree: the patch mail is applied with `git am --signoff` and
the files listed after it (from guest/linux/) are added to the same commit,
authored by the chosen identity (see identity.py). The upstream series (the
lines before the `# local` marker) is written with `git format-patch
--cover-letter`, its cover letter filled from guest/patches/cover-letter.txt;
the local patches go to DIR/local/, numbered on from the series. The series
is checked with the kernel's checkpatch.pl --strict. Applying every patch to
a clean tree is part of the export, so a successful export proves the series
applies.

The QEMU glue series (qemu-patches/series, the hw-models/ files) is exported
the same way on the pristine QEMU tree (`--qemu`), checked with QEMU's own
checkpatch.pl, with a cover letter only if qemu-patches/cover-letter.txt
exists. In both, a MAINTAINERS section a patch adds without an `M:` line
gets one naming the maintainer.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..build import make_context
from ..build.context import BuildContext
from ..build.overlay import SeriesEntry, read_series_entries
from ..build.runner import BuildError, capture, step
from ..build.sources import SourceTree
from ..errors import UsageError
from .identity import PLACEHOLDER, Identities, Identity, personalize_mail
from .outdir import LOCAL_DIR, prepare_out, record_written
from .tree import BASE_TAG, base_repo, git, tool_env, work_clone


@dataclass(frozen=True)
class Project:
    """What is exported: a series file with its patch mails, the files laid
    over the upstream tree, and the upstream tree itself."""

    name: str  # "linux" or "qemu"
    patches: str  # the series and the mails, relative to the checkout
    overlay: str  # the files listed after each mail
    cover: str  # the cover letter's text (required for linux, optional for qemu)
    checkpatch: tuple[str, ...]  # run in the tree, with the patch appended

    def source(self, ctx: BuildContext) -> SourceTree:
        if self.name == "qemu":
            return ctx.upstreams.qemu(ctx.qemu_src)
        return ctx.upstreams.linux(ctx.linux_src)


LINUX = Project(
    "linux",
    "guest/patches",
    "guest/linux",
    "guest/patches/cover-letter.txt",
    ("perl", "scripts/checkpatch.pl", "--strict"),
)
QEMU = Project(
    "qemu",
    "qemu-patches",
    "hw-models",
    "qemu-patches/cover-letter.txt",
    ("perl", "scripts/checkpatch.pl"),
)
#: The kernel's cover letter: the subject line, an empty line, the body.
COVER_LETTER = LINUX.cover
#: The branch that ends at the last upstream patch.
UPSTREAM_BRANCH = "tangolab-upstream"
#: The subject of a mail is at most this long (with "[PATCH 0/N] ").
SUBJECT_MAX = 75


@dataclass
class ExportResult:
    tree: Path  # the work tree the series was applied in
    cover: Path | None  # None for a QEMU series without a cover letter file
    patches: list[Path]  # the upstream series, without the cover letter
    local: list[Path]
    checkpatch: dict[str, str] = field(default_factory=dict)  # patch name -> summary
    clean: bool = True


def read_cover_letter(path: Path) -> tuple[str, str]:
    """The (subject, body) of the cover letter file, checked."""
    try:
        text = path.read_text()
    except OSError as e:
        raise BuildError(f"cannot read the cover letter {path}: {e.strerror}") from None
    lines = text.split("\n")
    subject = lines[0].strip()
    body = "\n".join(lines[2:]).strip("\n")
    if not subject or len(lines) < 3 or lines[1].strip() or not body.strip():
        raise BuildError(
            f"{path}: give the subject on the first line, an empty line, then the body"
        )
    if len(subject) > SUBJECT_MAX - len("[PATCH 0/00] "):
        raise BuildError(
            f"{path}:1: subject of {len(subject)} characters; keep it to "
            f"{SUBJECT_MAX - len('[PATCH 0/00] ')}"
        )
    return subject, body


def _copy_files(overlay: Path, tree: Path, entry: SeriesEntry, ids: Identities) -> None:
    for rel in entry.files:
        src = overlay / rel
        if not src.is_file():
            raise BuildError(f"series: {entry.patch.name} lists {rel}, missing in {overlay.name}/")
        dst = tree / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes().replace(PLACEHOLDER.encode(), str(ids.maintainer).encode())
        dst.write_bytes(data)


_MAINT_FIELD = re.compile(r"^[A-Z]:\s")


def add_maintainer_lines(tree: Path, maintainer: Identity) -> bool:
    """Give each MAINTAINERS section the last commit added without an `M:`
    line one naming the maintainer, after its title; whether any was added."""
    diff = capture(["git", "diff", "-U0", "HEAD~1", "HEAD", "--", "MAINTAINERS"], cwd=tree)
    added: set[int] = set()  # 0-based line numbers in the new file
    for m in re.finditer(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, re.M):
        start, count = int(m.group(1)), int(m.group(2) or "1")
        added |= set(range(start - 1, start - 1 + count))
    path = tree / "MAINTAINERS"
    lines = path.read_text().split("\n")
    titles = []
    for n in sorted(added):
        starts_section = n == 0 or not lines[n - 1].strip()
        if not lines[n].strip() or _MAINT_FIELD.match(lines[n]) or not starts_section:
            continue
        end = next((k for k in range(n + 1, len(lines)) if not lines[k].strip()), len(lines))
        fields = lines[n + 1 : end]
        if fields and not any(f.startswith("M:") for f in fields):
            sep = fields[0][2] if len(fields[0]) > 2 else " "
            titles.append((n, f"M:{sep}{maintainer}"))
    for n, line in reversed(titles):
        lines.insert(n + 1, line)
    if titles:
        path.write_text("\n".join(lines))
    return bool(titles)


def apply_series(
    ctx: BuildContext, project: Project, entries: list[SeriesEntry], ids: Identities, log: Path
) -> Path:
    """The work tree with one commit per entry on branch `tangolab`, and
    branch UPSTREAM_BRANCH at the last entry before the local section."""
    src = project.source(ctx)
    base = base_repo(src.path, ctx.cache, f"{project.name}-{src.version}", log)
    tree = work_clone(base, ctx.build / "patches-tree" / f"{project.name}-{src.version}", log)
    signer = (ids.signoff.name, ids.signoff.mail)
    author = f"--author={ids.author}"
    with tempfile.TemporaryDirectory(prefix="tangolab-export-") as tmp:
        for i, entry in enumerate(entries):
            if entry.local and (i == 0 or not entries[i - 1].local):
                git(tree, "branch", "-f", UPSTREAM_BRANCH, log=log)
            step(f"export: {entry.patch.name}{' (local)' if entry.local else ''}")
            mail = Path(tmp) / entry.patch.name
            mail.write_text(personalize_mail(entry.patch.read_text(), ids))
            git(tree, "am", "-q", "--keep-cr", "--signoff", str(mail), log=log, ident=signer)
            _copy_files(ctx.repo / project.overlay, tree, entry, ids)
            if entry.files:
                git(tree, "add", "-f", *entry.files, log=log)
            if add_maintainer_lines(tree, ids.maintainer):
                git(tree, "add", "MAINTAINERS", log=log)
            git(tree, "commit", "-q", "--amend", "--no-edit", author, log=log, ident=signer)
    if not entries[-1].local:
        git(tree, "branch", "-f", UPSTREAM_BRANCH, log=log)
    return tree


def _format_patch(tree: Path, out: Path, ids: Identities, *args: str) -> list[Path]:
    # the cover letter is from the committer: the author, like the patches
    who = ["-c", f"user.name={ids.author.name}", "-c", f"user.email={ids.author.mail}"]
    printed = capture(["git", *who, "format-patch", "-o", str(out), *args], cwd=tree)
    return [out / Path(line).name for line in printed.splitlines() if line.strip()]


def checkpatch(tree: Path, patch: Path, project: Project = LINUX) -> tuple[bool, str, str]:
    """(clean, summary line, full output) of the tree's checkpatch.pl on a patch."""
    argv = [*project.checkpatch, str(patch)]
    try:
        res = subprocess.run(
            argv,
            cwd=tree,
            env={**os.environ, **tool_env()},
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as e:
        raise BuildError(f"cannot run perl: {e.strerror}", command=argv) from None
    summary = next(
        (line for line in res.stdout.splitlines() if line.startswith("total:")),
        (res.stdout + res.stderr).strip()[-200:],
    )
    # QEMU's checkpatch.pl exits 0 on warnings: the counts decide
    counts = re.match(r"total: (\d+) errors, (\d+) warnings(?:, (\d+) checks)?", summary)
    found = [int(c or 0) for c in counts.groups()] if counts else [1]
    clean = res.returncode == 0 and not any(found)
    return clean, summary, res.stdout + res.stderr


def export(
    out: Path, ids: Identities, check: bool = True, project: Project = LINUX
) -> ExportResult:
    """Export the series into `out` (see `prepare_out`), checked unless not `check`."""
    ctx = make_context()
    log = ctx.logs / "export.log"
    entries = read_series_entries(ctx.repo / project.patches)
    if not entries or entries[0].local:
        raise UsageError(f"{project.patches}/series lists no patch before its `# local` marker")
    cover_file = ctx.repo / project.cover
    cover_text = read_cover_letter(cover_file) if project is LINUX or cover_file.exists() else None
    prepare_out(out)
    tree = apply_series(ctx, project, entries, ids, log)
    args = [f"{BASE_TAG}..{UPSTREAM_BRANCH}"]
    if cover_text:
        subject, body = cover_text
        description = f"{subject}\n\n{body}\n"
        git(tree, "config", f"branch.{UPSTREAM_BRANCH}.description", description, log=log)
        args[:0] = ["--cover-letter", "--cover-from-description=subject"]
    series = _format_patch(tree, out, ids, *args)
    cover, patches = (series[0], series[1:]) if cover_text else (None, series)
    local: list[Path] = []
    if entries[-1].local:
        local = _format_patch(
            tree,
            out / LOCAL_DIR,
            ids,
            f"--start-number={len(patches) + 1}",
            f"{UPSTREAM_BRANCH}..tangolab",
        )
    record_written(out, [*series, *local])
    res = ExportResult(tree, cover, patches, local)
    if check:
        for p in patches:
            ok, summary, text = checkpatch(tree, p, project)
            res.checkpatch[p.name] = summary
            if not ok:
                res.clean = False
                with open(log, "a") as f:
                    f.write(f"\ncheckpatch {p.name}:\n{text}")
    return res
