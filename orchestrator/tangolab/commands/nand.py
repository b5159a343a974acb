# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab nand`: raw NAND images offline (tangolab.nand).

    tangolab nand check IMAGE [geometry/ECC options] [--expect-seed S --expect-pages A-B]
                        [--json] [--only-problems] [--all]
    tangolab nand new IMAGE [--blocks N] [--force]

``check`` decodes every page with BCH (bchlib) and classifies it (erased,
good, corrected, erased-bitflips, bad-block-marker, partially-programmed,
uncorrectable; see tangolab.nand.check). With ``--expect-seed`` each page of
``--expect-pages`` (default: all) must hold the seeded pattern of the guest
tool ``tangonand``. The table lists every page that is not erased (``--all``:
every page; ``--only-problems``: only problems), then a summary.

Exit status: 0 if every page is erased, good, corrected or erased with
bit flips (a bad-block marker alone is not a failure) and every expected page
matches; 1 if some page is uncorrectable, partially programmed or holds other
data than expected; 2 for usage errors and for images that cannot be read
as the geometry says (missing, truncated, wrong size).

``new`` writes an erased image (every byte 0xff) of ``blocks * 64 *
(2048 + 64)`` bytes, the size the ``onfi-nand`` model requires for
``-drive if=mtd`` (with ``-global onfi-nand.blocks=N`` for N != 1024).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tangolab.errors import UsageError
from tangolab.nand.check import CheckReport, PageRow, PageStatus, check_image
from tangolab.nand.image import ImageError, write_erased_image
from tangolab.nand.layout import EccLayout, Geometry, LayoutError, compute_layout
from tangolab.nand.pattern import PatternExpectation

#: statuses that make `nand check` fail (exit status 1)
FAILING = frozenset({PageStatus.UNCORRECTABLE, PageStatus.PARTIAL})
#: statuses shown by --only-problems (besides mismatches)
PROBLEMS = FAILING | {PageStatus.ERASED_BITFLIPS, PageStatus.BAD_BLOCK_MARKER}

#: onfi-nand: `blocks` is a power of 2 up to 1024 (HARDWARE.md)
MAX_CHIP_BLOCKS = 1024

_STYLE = {
    PageStatus.ERASED: "dim",
    PageStatus.GOOD: "green",
    PageStatus.CORRECTED: "yellow",
    PageStatus.ERASED_BITFLIPS: "yellow",
    PageStatus.BAD_BLOCK_MARKER: "magenta",
    PageStatus.PARTIAL: "bold red",
    PageStatus.UNCORRECTABLE: "bold red",
}


def _positive(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()):
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _natural(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()):
        raise argparse.ArgumentTypeError(f"not a non-negative integer: {text!r}")
    return int(text)


def _seed(text: str) -> int:
    try:
        value = int(text.strip(), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer (decimal or 0x hex): {text!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"seed {text!r} is not a 32-bit unsigned value")
    return value


def parse_page_ranges(text: str, pages: int) -> frozenset[int]:
    """``"0-63,128,200-201"`` -> those pages (inclusive ranges), all < `pages`."""
    result: set[int] = set()
    for item in text.split(","):
        m = re.fullmatch(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?", item)
        if m is None:
            raise UsageError(f"--expect-pages {text!r}: expected A-B[,C-D...] or page numbers")
        first = int(m[1])
        last = int(m[2]) if m[2] is not None else first
        if last < first:
            raise UsageError(f"--expect-pages {item.strip()!r}: the range ends before it starts")
        if last >= pages:
            raise UsageError(
                f"--expect-pages {item.strip()!r}: the image has pages 0..{pages - 1} only"
            )
        result.update(range(first, last + 1))
    return frozenset(result)


def _geometry(args: argparse.Namespace) -> Geometry:
    """The geometry from the options; without --blocks, from the image size."""
    blocks = args.blocks
    if Path(args.image).exists() and not Path(args.image).is_file():
        raise UsageError(f"{args.image}: not a regular file")
    if blocks is None:
        try:
            size = Path(args.image).stat().st_size
        except FileNotFoundError:
            raise UsageError(f"{args.image}: no such NAND image") from None
        except OSError as e:
            raise UsageError(f"{args.image}: {e.strerror}") from None
        block_bytes = args.pages_per_block * (args.page_size + args.oob_size)
        blocks, rest = divmod(size, block_bytes)
        if rest or not blocks:
            raise UsageError(
                f"{args.image}: {size} bytes is not a whole number of blocks of "
                f"{args.pages_per_block} x ({args.page_size} + {args.oob_size}) = {block_bytes} "
                f"bytes (truncated or another geometry? give --blocks and the page sizes)"
            )
    return Geometry(
        page_size=args.page_size,
        oob_size=args.oob_size,
        pages_per_block=args.pages_per_block,
        blocks=blocks,
    )


def is_problem(row: PageRow) -> bool:
    return row.status in PROBLEMS or row.match is False


def is_failure(row: PageRow) -> bool:
    return row.status in FAILING or row.match is False


def _packets(row: PageRow) -> str:
    return " ".join("fail" if n < 0 else str(n) for n in row.packets) or "-"


def _match(row: PageRow) -> Text:
    if row.match is None:
        return Text("-", style="dim")
    if row.match:
        return Text("yes", style="green")
    detail = f"no ({row.mismatched_bytes} bytes differ"
    if row.first_mismatch is not None:
        detail += f", first at {row.first_mismatch}"
    return Text(detail + ")", style="bold red")


def _print_report(
    report: CheckReport, rows: list[PageRow], console: Console, expectation: bool
) -> None:
    geo, ecc = report.layout.geometry, report.layout.ecc
    console.print(
        f"{report.image}: {geo.blocks} blocks x {geo.pages_per_block} pages x "
        f"({geo.page_size} + {geo.oob_size}) bytes; ECC {report.layout.steps} x "
        f"{ecc.step_size} bytes, strength {ecc.strength}, metadata {ecc.metadata_size}"
    )
    if rows:
        table = Table(show_edge=False, pad_edge=False)
        for name, justify in (("page", "right"), ("block", "right"), ("status", "left"),
                              ("bitflips", "right"), ("packets", "left")):  # fmt: skip
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        if expectation:
            table.add_column("pattern")
        for row in rows:
            status = Text(str(row.status), style=_STYLE[row.status])
            if row.programmed_end is not None:
                status.append(f" (to {row.programmed_end})", style="dim")
            cells: list[str | Text] = [
                str(row.page),
                str(row.block),
                status,
                str(row.bitflips),
                _packets(row),
            ]
            if expectation:
                cells.append(_match(row))
            table.add_row(*cells)
        console.print(table)
    s = report.summary()
    counts = ", ".join(f"{k} {v}" for k, v in s["status"].items() if v)
    console.print(f"pages: {s['pages']} ({counts})")
    if s["bitflips_corrected"]:
        console.print(
            f"corrected bit flips: {s['bitflips_corrected']} "
            f"(at most {s['max_packet_bitflips']} in one packet)"
        )
    if s["bad_blocks"]:
        console.print(f"bad blocks: {', '.join(map(str, s['bad_blocks']))}")
    if expectation:
        line = f"pattern: {s['compared']} pages compared, {len(s['mismatched_pages'])} mismatched"
        if s["silent_mismatches"]:
            line += f", {len(s['silent_mismatches'])} of them decode cleanly (silent corruption)"
        console.print(line)


def cmd_check(args: argparse.Namespace) -> int:
    if args.expect_pages is not None and args.expect_seed is None:
        raise UsageError("--expect-pages needs --expect-seed")
    if args.only_problems and args.all:
        raise UsageError("--only-problems and --all exclude each other")
    try:
        geometry = _geometry(args)
        layout = compute_layout(
            geometry,
            EccLayout(
                step_size=args.step,
                strength=args.strength,
                metadata_size=args.metadata,
                bbm_offset=args.bbm_offset,
            ),
        )
        expected = None
        if args.expect_seed is not None:
            pages = (
                parse_page_ranges(args.expect_pages, geometry.pages)
                if args.expect_pages is not None
                else None
            )
            expected = PatternExpectation(args.expect_seed, geometry.page_size, pages)
        report = check_image(Path(args.image), layout, expected)
    except (ImageError, LayoutError) as e:
        raise UsageError(str(e)) from None
    failed = [r.page for r in report.rows if is_failure(r)]
    status = 1 if failed else 0
    if args.only_problems:
        rows = [r for r in report.rows if is_problem(r)]
    elif args.all:
        rows = list(report.rows)
    else:
        rows = [r for r in report.rows if r.status is not PageStatus.ERASED or r.match is not None]
    if args.json:
        data: dict[str, Any] = report.to_dict(all_pages=True)
        data["pages"] = [r.to_dict() for r in rows]
        data["failed_pages"] = failed
        data["ok"] = not failed
        print(json.dumps(data, indent=2))
        return status
    console = Console(highlight=False, soft_wrap=True)
    _print_report(report, rows, console, expected is not None)
    if failed:
        shown = ", ".join(map(str, failed[:10])) + (" ..." if len(failed) > 10 else "")
        console.print(Text(f"FAILED: {len(failed)} page(s): {shown}", style="bold red"))
    else:
        console.print(Text("OK", style="bold green"))
    return status


def cmd_new(args: argparse.Namespace) -> int:
    blocks = args.blocks
    if blocks > MAX_CHIP_BLOCKS or blocks & (blocks - 1):
        raise UsageError(
            f"--blocks {blocks}: the onfi-nand chip takes a power of 2 from 1 to {MAX_CHIP_BLOCKS}"
        )
    geometry = Geometry(blocks=blocks)
    path = Path(args.image)
    try:
        write_erased_image(path, geometry.image_size, force=args.force)
    except OSError as e:
        raise UsageError(f"{path}: cannot write the image: {e.strerror or e}") from None
    print(f"{path}: erased NAND image, {blocks} blocks, {geometry.image_size} bytes")
    if blocks != MAX_CHIP_BLOCKS:
        print(f"use it with: -global onfi-nand.blocks={blocks} (tangolab boot --nand {path} "
              f"--qemu-args '-global onfi-nand.blocks={blocks}')")  # fmt: skip
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("nand", help="raw NAND images: check pages offline, create erased ones")
    actions = p.add_subparsers(dest="nand_action", metavar="ACTION", required=True)

    q = actions.add_parser(
        "check",
        help="decode and classify every page of a raw image",
        description="Decode every page (BCH, bchlib) and classify it; compare with the "
        "seeded pattern of tangonand. Exit 0: all good; 1: uncorrectable, partially "
        "programmed or mismatching pages; 2: usage error or unreadable image.",
    )
    q.add_argument("image", metavar="IMAGE", help="raw image (main + spare of every page)")
    g = q.add_argument_group("geometry and ECC (defaults: the modelled chip and driver)")
    g.add_argument("--page-size", type=_positive, default=2048, metavar="N", help="(2048)")
    g.add_argument("--oob-size", type=_natural, default=64, metavar="N", help="(64)")
    g.add_argument("--pages-per-block", type=_positive, default=64, metavar="N", help="(64)")
    g.add_argument("--blocks", type=_positive, metavar="N", help="(from the image size)")
    g.add_argument("--step", type=_positive, default=1024, metavar="N", help="ECC step (1024)")
    g.add_argument("--strength", type=_positive, default=14, metavar="T", help="(14)")
    g.add_argument("--metadata", type=_natural, default=4, metavar="N", help="bytes (4)")
    g.add_argument("--bbm-offset", type=_natural, metavar="N", help="bad-block marker (page size)")
    g = q.add_argument_group("expected data")
    g.add_argument("--expect-seed", type=_seed, metavar="S", help="tangonand's --seed")
    g.add_argument("--expect-pages", metavar="A-B[,...]", help="pages written (default all)")
    g = q.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="the report as JSON")
    g.add_argument("--only-problems", action="store_true", help="list problem pages only")
    g.add_argument("--all", action="store_true", help="list erased pages too")
    q.set_defaults(func=cmd_check)

    q = actions.add_parser("new", help="create an erased (0xff) image for -drive if=mtd")
    q.add_argument("image", metavar="IMAGE")
    q.add_argument("--blocks", type=_positive, default=MAX_CHIP_BLOCKS, metavar="N", help="(1024)")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=cmd_new)
