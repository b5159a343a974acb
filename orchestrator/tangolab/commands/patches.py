# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches export`: the guest kernel series as git format-patch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tangolab.errors import TangolabError
from tangolab.paths import build_dir


def cmd_export(args: argparse.Namespace) -> int:
    from tangolab.patches import export

    out = Path(args.out) if args.out else build_dir() / "patches"
    res = export(out, check=not args.no_check)
    for p in res.patches:
        line = res.checkpatch.get(p.name, "")
        print(f"{p.name}  {line}")
    print(f"{len(res.patches)} patches in {out} (applied on a clean tree of the pinned kernel)")
    if not args.no_check and not res.clean:
        raise TangolabError(
            f"checkpatch --strict found problems: see {build_dir() / 'logs' / 'export.log'}"
        )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("patches", help="the guest kernel patch series")
    psub = p.add_subparsers(dest="patches", metavar="ACTION", required=True)
    e = psub.add_parser("export", help="write the series with git format-patch and check it")
    e.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default build/patches): new, empty, or one an export wrote; "
        "only the files a previous export wrote there are replaced",
    )
    e.add_argument("--no-check", action="store_true", help="skip checkpatch.pl --strict")
    e.set_defaults(func=cmd_export)
