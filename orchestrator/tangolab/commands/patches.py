# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches export|check`: the guest kernel series as git format-patch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tangolab.errors import TangolabError
from tangolab.paths import build_dir, repo_root


def _export(args: argparse.Namespace, check: bool) -> tuple[Any, Path]:
    from tangolab.patches import check_out, resolve_identities
    from tangolab.patches.export import LINUX, QEMU, export

    project = QEMU if getattr(args, "qemu", False) else LINUX
    default = "qemu-patches" if project is QEMU else "patches"
    out = Path(args.out).absolute() if args.out else build_dir() / default
    check_out(out)
    ids = resolve_identities(repo_root(), args.author, args.signoff, args.maintainer)
    res = export(out, ids, check=check, project=project)
    if res.cover:
        print(f"{res.cover.name}  (cover letter)")
    for p in res.patches:
        print(f"{p.name}  {res.checkpatch.get(p.name, '')}")
    cover = " and a cover letter" if res.cover else ""
    print(
        f"{len(res.patches)} patches{cover} in {out}, from {ids.author}, signed off by "
        f"{ids.signoff} (applied on a clean tree of the pinned {project.name})"
    )
    if res.local:
        print(f"{len(res.local)} local patches (not for posting) in {out / 'local'}")
    if check and not res.clean:
        raise TangolabError(f"checkpatch found problems: see {build_dir() / 'logs' / 'export.log'}")
    return res, out


def cmd_export(args: argparse.Namespace) -> int:
    _export(args, check=not args.no_check)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from tangolab.patches.check import check_series, print_table

    res, _ = _export(args, check=False)
    results = check_series(res.tree, res.patches)
    print_table(results)
    failed = [r.patch.name for r in results if not r.ok]
    if failed:
        raise TangolabError(
            f"{len(failed)} of {len(results)} patches failed a check "
            f"(first: {failed[0]}): see {build_dir() / 'logs' / 'patches-check.log'}"
        )
    print(f"{len(results)} patches: every check passed")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default build/patches): new, empty, or one an export wrote; "
        "only the files a previous export wrote there are replaced",
    )
    ident = "'Name <mail>'"
    p.add_argument(
        "--author",
        metavar=ident,
        help="author of every patch (From:); default git's user.name and user.email",
    )
    p.add_argument(
        "--signoff",
        metavar=ident,
        help="the Signed-off-by: of every patch; default git's user.name and user.email",
    )
    p.add_argument(
        "--maintainer",
        metavar=ident,
        help="who the MAINTAINERS M: lines (added to a new section that has none), "
        "binding maintainers and MODULE_AUTHOR name; default the author",
    )


def register(sub: Any) -> None:
    p = sub.add_parser("patches", help="the guest kernel patch series")
    psub = p.add_subparsers(dest="patches", metavar="ACTION", required=True)
    e = psub.add_parser(
        "export",
        help="write the series with git format-patch and check it with checkpatch",
        description="Write the upstream series (the lines of guest/patches/series before "
        "its `# local` marker) with a cover letter to DIR, and the local patches (built, "
        "not posted) to DIR/local/, numbered on from the series.",
    )
    _common(e)
    e.add_argument("--no-check", action="store_true", help="skip checkpatch.pl --strict")
    e.add_argument(
        "--qemu",
        action="store_true",
        help="export the QEMU glue series instead (qemu-patches/series with the hw-models/ "
        "files; default DIR build/qemu-patches; checked with QEMU's checkpatch.pl)",
    )
    e.set_defaults(func=cmd_export)
    c = psub.add_parser(
        "check",
        help="export, then check the series patch by patch on a pristine tree",
        description="Export the series (as `export` does), apply it with git am on the "
        "pristine kernel tree and check each patch: checkpatch.pl --strict, the kernel "
        "builds, W=1 and sparse (C=2) find nothing new in the objects of the C files it "
        "touches, "
        "dt_binding_check on the bindings it adds, CHECK_DTBS on the dtb it changes. "
        "Prints a table; exits non-zero when any check fails.",
    )
    _common(c)
    c.set_defaults(func=cmd_check)
