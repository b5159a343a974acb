# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches check`: the exported series, patch by patch.

The series is applied with `git am` on the pristine tree (branch
`tangolab-check` of the export's work tree), and after each patch:

- checkpatch.pl --strict on the patch;
- the kernel builds (`make all`, ARCH=arm) without a warning, with the
  project's configuration (allnoconfig + guest/config/tango4.config, as
  `tangolab build kernel` makes it) plus COMPILE_TEST, so that the drivers
  build before the patch that adds their platform;
- W=1 finds nothing new in the objects of the C files the patch touches,
  and sparse (C=2) nothing new in them: each is compared with the same
  object before the patch (for a new file, everything is new);
- `make dt_binding_check` on the bindings the patch adds or changes;
- `make CHECK_DTBS=y` on the tango4 dtb when the patch touches a dts.

One object tree (build/patches-tree/obj) is kept between runs, and the
compiler cache is used, so a run rebuilds only what the patches change.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..build import make_context
from ..build.context import BuildContext
from ..build.kernel import ARCH, CROSS, DTB, FRAGMENT, make_args
from ..build.runner import BuildError, step
from .tree import BASE_TAG, git, tool_env

CHECKS = ("apply", "checkpatch", "build", "W=1", "sparse", "bindings", "dtbs")
OK, FAIL, NOT_RUN = "ok", "FAIL", "-"
#: Options added to the fragment for the check (see the module's docstring).
CHECK_OPTIONS = "CONFIG_COMPILE_TEST=y\n"
#: The tools a check needs besides git, perl, make and the cross compiler:
#: (program, Debian or Python package).
TOOLS = (
    ("sparse", "the Debian package sparse"),
    ("dt-doc-validate", "the Python package dtschema"),
    ("dt-mk-schema", "the Python package dtschema"),
    ("dt-validate", "the Python package dtschema"),
    ("yamllint", "the Python package yamllint"),
)
#: git am in the check's tree (the patches carry their authors).
GIT_AM = ["git", "-c", "user.name=tangolab", "-c", "user.email=tangolab@users.noreply.invalid"]
GIT_AM += ["am", "-q", "--keep-cr"]
#: Findings shown per check on the terminal (the log has them all).
SHOWN = 15

_DIAG = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"(?P<kind>warning|error): (?P<msg>.*)$"
)
_DIFF_PATHS = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)
#: kbuild's progress lines ("  CC      drivers/x.o") and make's own.
_QUIET = re.compile(r"^(  [A-Z0-9_-]+ +\S.*|make(\[\d+\])?: (Entering|Leaving) directory .*)$")


@dataclass
class PatchResult:
    patch: Path
    status: dict[str, str] = field(default_factory=lambda: dict.fromkeys(CHECKS, NOT_RUN))
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return FAIL not in self.status.values()

    def fail(self, check: str, lines: Sequence[str]) -> None:
        self.status[check] = FAIL
        self.findings += [f"{check}: {line}" for line in lines]


def require_tools() -> None:
    """One clear error for the first missing tool."""
    path = tool_env()["PATH"]
    for prog, package in (
        ("git", "the Debian package git"),
        ("perl", "the Debian package perl"),
        ("make", "the Debian package make"),
        *TOOLS,
    ):
        if not shutil.which(prog, path=path):
            raise BuildError(f"patches check needs {prog}: install {package}")
    # checkpatch's SPDX check runs scripts/spdxcheck.py with this Python
    for module, package in (("ply", "ply"), ("git", "GitPython")):
        if importlib.util.find_spec(module) is None:
            raise BuildError(
                f"patches check needs the Python module {module}: install the Python "
                f"package {package}"
            )


def checkpatch_findings(lines: Sequence[str]) -> list[str]:
    """checkpatch's messages, each with the file and line it names
    ("#12: FILE: drivers/x.c:40:" follows the message)."""
    out = []
    for i, line in enumerate(lines):
        if re.match(r"^(ERROR|WARNING|CHECK):", line):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            where = re.match(r"^#\d+: FILE: (\S+?):?$", nxt)
            out.append(f"{where.group(1)}: {line}" if where else line)
    return out


def touched_paths(patch: Path) -> list[str]:
    """The files a patch creates, changes or deletes (new names of renames)."""
    seen: dict[str, None] = {}
    for m in _DIFF_PATHS.finditer(patch.read_text(errors="replace")):
        seen[m.group(2)] = None
    return list(seen)


class Checker:
    """Runs the checks in one work tree and one object tree."""

    def __init__(self, ctx: BuildContext, tree: Path, log: Path) -> None:
        self.ctx, self.tree, self.log = ctx, tree, log
        self.obj = tree.parent / "obj"
        self.obj.mkdir(parents=True, exist_ok=True)
        self.make = make_args(ctx, self.obj)
        self.env = {**ctx.ccache_env(), **tool_env()}

    def run(self, argv: Sequence[str], title: str) -> tuple[int, list[str]]:
        """Run a command in the tree; its exit status and output lines (logged)."""
        with open(self.log, "a") as logf:
            logf.write(f"\n$ {' '.join(argv)}\n")
        try:
            res = subprocess.run(
                list(argv),
                cwd=self.tree,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                check=False,
            )
        except OSError as e:
            raise BuildError(f"{title}: cannot run {argv[0]}: {e.strerror}") from None
        with open(self.log, "a") as logf:
            logf.write(res.stdout)
        return res.returncode, res.stdout.splitlines()

    def make_quiet(self, *targets: str, title: str) -> tuple[int, list[str]]:
        """make the targets; its status and what it printed besides progress."""
        rc, lines = self.run([*self.make, f"-j{self.ctx.jobs}", *targets], title)
        return rc, [line for line in lines if line.strip() and not _QUIET.match(line)]

    def configure(self) -> None:
        """allnoconfig + the fragment + CHECK_OPTIONS, as the kernel build does."""
        extra = self.obj / "tangolab-check.config"
        extra.write_text(CHECK_OPTIONS)
        merge = [
            str(self.tree / "scripts/kconfig/merge_config.sh"),
            "-m",
            "-O",
            str(self.obj),
            str(self.obj / ".config"),
            str(self.ctx.repo / FRAGMENT),
            str(extra),
        ]
        for argv, title in (
            ([*self.make, "allnoconfig"], "make allnoconfig"),
            (merge, "merge the config fragment"),
            ([*self.make, "olddefconfig"], "make olddefconfig"),
        ):
            with_arch = {"ARCH": ARCH, "CROSS_COMPILE": CROSS}
            saved, self.env = self.env, {**self.env, **with_arch}
            try:
                rc, lines = self.run(argv, title)
            finally:
                self.env = saved
            if rc != 0:
                raise BuildError(f"{title} failed", log=self.log, tail="\n".join(lines[-15:]))

    def diagnostics(self, lines: Sequence[str]) -> list[str]:
        """The compiler's and sparse's warnings and errors, with paths made
        relative to the tree and without line numbers (so that code moved by
        a patch compares equal)."""
        out = []
        for line in lines:
            m = _DIAG.match(line)
            if not m:
                continue
            path = Path(m.group("file"))
            full = Path(os.path.normpath(path if path.is_absolute() else self.obj / path))
            rel = full.relative_to(self.tree).as_posix() if full.is_relative_to(self.tree) else path
            out.append(f"{rel}: {m.group('kind')}: {m.group('msg')}")
        return out

    def object_diagnostics(self, c_files: Sequence[str]) -> dict[str, list[str]]:
        """W=1 and sparse findings of the objects of C files the configuration
        builds (the others: nothing to check)."""
        w1: list[str] = []
        sparse: list[str] = []
        for c in c_files:
            o = self.obj / (c[:-2] + ".o")
            if not o.is_file() or not (self.tree / c).is_file():
                continue
            o.unlink()
            _, lines = self.make_quiet("W=1", o.relative_to(self.obj).as_posix(), title="W=1")
            w1 += self.diagnostics(lines)
            _, lines = self.make_quiet("C=2", o.relative_to(self.obj).as_posix(), title="sparse")
            sparse += self.diagnostics(lines)
        return {"W=1": w1, "sparse": sparse}

    def dtb_lines(self, *flags: str) -> tuple[int, list[str]]:
        dtb = self.obj / "arch" / ARCH / "boot" / "dts" / DTB
        dtb.unlink(missing_ok=True)
        return self.make_quiet(*flags, DTB, title=f"make {' '.join(flags)} {DTB}")


def _new(after: list[str], before: list[str]) -> list[str]:
    return list((Counter(after) - Counter(before)).elements())


def check_patch(ck: Checker, patch: Path) -> tuple[PatchResult, bool]:
    """Apply one patch and check it; (the result, whether it applied)."""
    res = PatchResult(patch)
    t0 = time.monotonic()
    paths = touched_paths(patch)
    c_files = [p for p in paths if p.endswith(".c")]
    before = ck.object_diagnostics(c_files)

    rc, lines = ck.run([*GIT_AM, str(patch.absolute())], "git am")  # runs in the tree
    if rc != 0:
        ck.run(["git", "am", "--abort"], "git am --abort")
        res.fail("apply", lines[-5:])
        return res, False
    res.status["apply"] = OK

    rc, lines = ck.run(["perl", "scripts/checkpatch.pl", "--strict", str(patch)], "checkpatch")
    if rc != 0:
        res.fail("checkpatch", checkpatch_findings(lines) or lines[-5:])
    else:
        res.status["checkpatch"] = OK

    if any(Path(p).name.startswith("Kconfig") for p in paths):
        ck.configure()
    rc, lines = ck.make_quiet("all", title="make all")
    found = [x for x in lines if _DIAG.match(x) or x.startswith(("WARNING:", "ERROR:"))]
    if rc != 0 or found:
        res.fail("build", found or lines[-10:] or [f"make all: exit status {rc}"])
        res.seconds = time.monotonic() - t0
        return res, True
    res.status["build"] = OK

    after = ck.object_diagnostics(c_files)
    for check in ("W=1", "sparse"):
        new = _new(after[check], before[check])
        if new:
            res.fail(check, new)
        elif c_files:
            res.status[check] = OK
    if any(p.endswith((".dts", ".dtsi")) for p in paths):
        _, lines = ck.dtb_lines("W=1")
        if lines:
            res.fail("W=1", lines)
        elif res.status["W=1"] == NOT_RUN:
            res.status["W=1"] = OK
        rc, lines = ck.dtb_lines("CHECK_DTBS=y")
        if rc != 0 or lines:
            res.fail("dtbs", lines or [f"exit status {rc}"])
        else:
            res.status["dtbs"] = OK

    bindings = [
        p
        for p in paths
        if p.startswith("Documentation/devicetree/bindings/")
        and p.endswith(".yaml")
        and (ck.tree / p).is_file()
    ]
    if bindings:
        files = "DT_SCHEMA_FILES=" + ":".join(bindings)
        rc, lines = ck.make_quiet("dt_binding_check", files, title="dt_binding_check")
        if rc != 0 or lines:
            res.fail("bindings", lines or [f"exit status {rc}"])
        else:
            res.status["bindings"] = OK
    res.seconds = time.monotonic() - t0
    return res, True


def check_series(tree: Path, patches: Sequence[Path]) -> list[PatchResult]:
    """Check each patch in order on the pristine tree (see the module's docstring)."""
    require_tools()
    ctx = make_context()
    log = ctx.logs / "patches-check.log"
    log.write_text("")
    git(tree, "checkout", "-q", "-f", "-B", "tangolab-check", BASE_TAG, log=log)
    git(tree, "clean", "-q", "-f", "-d", "-x", log=log)
    ck = Checker(ctx, tree, log)
    step("check: configure and build the pristine tree")
    ck.configure()
    rc, lines = ck.make_quiet("all", title="make all")
    if rc != 0:
        raise BuildError("the pristine tree does not build", log=log, tail="\n".join(lines[-15:]))
    results: list[PatchResult] = []
    applied = True
    for p in patches:
        if not applied:
            results.append(PatchResult(p))
            continue
        step(f"check: {p.name}")
        res, applied = check_patch(ck, p)
        results.append(res)
    return results


def format_table(results: Sequence[PatchResult]) -> list[str]:
    """The per-patch table and, under it, what each failed check found."""
    width = max(len(r.patch.name) for r in results)
    widths = [max(len(c), 4) for c in CHECKS]
    rows = [
        "  ".join(
            [f"{'patch':<{width}}", *(f"{c:<{w}}" for c, w in zip(CHECKS, widths, strict=True))]
        )
        + "  time"
    ]
    for r in results:
        cells = [f"{r.status[c]:<{w}}" for c, w in zip(CHECKS, widths, strict=True)]
        rows.append("  ".join([f"{r.patch.name:<{width}}", *cells]) + f"  {r.seconds:.0f}s")
    for r in results:
        if r.findings:
            rows.append(f"{r.patch.name}:")
            rows += [f"  {f}" for f in r.findings[:SHOWN]]
            if len(r.findings) > SHOWN:
                rows.append(f"  ... {len(r.findings) - SHOWN} more in the log")
    return rows


def print_table(results: Sequence[PatchResult]) -> None:
    print("\n".join(format_table(results)))
