# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench build`: the cold build, as a fresh machine meets it.

Each run exports a revision of this checkout (``git archive``) into an empty
directory and runs *that revision's own* ``tangolab build all`` there, with
an empty download cache (``TANGOLAB_CACHE``: Debian's source packages are
fetched and unpacked), an empty ccache and an empty build tree; the user's
own source trees (``TANGOLAB_QEMU_SRC``, ``TANGOLAB_LINUX_SRC``) are not
passed on. Wall time and the CPU time of the build and everything it ran are
measured. With several ``--ref``, the runs alternate between the revisions,
so a comparison's two sides meet the same machine in the same run; medians
and the ratio to the first revision are printed. A benchmark, not a test:
nothing is asserted but that each build succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tangolab.commands.bench import add_runs_option
from tangolab.commands.options import whole
from tangolab.errors import TangolabError, UsageError
from tangolab.paths import repo_root

#: environment that would let a build use something already on this machine
NOT_PASSED_ON = ("TANGOLAB_QEMU_SRC", "TANGOLAB_LINUX_SRC", "TANGOLAB_BUILD", "CCACHE_DIR")

#: the child: the exported revision's own command line
CHILD = "import sys; from tangolab.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Timed:
    """How long a command took: wall seconds and CPU seconds (user + system)
    of the command and every descendant it waited for."""

    wall: float
    cpu: float
    status: int


def run_timed(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Timed:
    """Run argv with its output to `log`; its rusage comes from wait4, so it
    counts exactly this command's process tree (not other children of ours)."""
    with log.open("wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    return Timed(wall, usage.ru_utime + usage.ru_stime, proc.returncode)


def resolve_ref(repo: Path, ref: str) -> tuple[str, str]:
    """(full commit id, one-line description) of `ref` in the checkout."""
    if ref.startswith("-"):
        raise UsageError(f"--ref {ref!r}: not a revision")
    got = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if got.returncode != 0:
        raise UsageError(f"--ref {ref!r}: no such commit in {repo}")
    commit = got.stdout.strip()
    line = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h %s", commit],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return commit, line


def export(repo: Path, commit: str, dest: Path) -> None:
    """The revision's files (no .git) into `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], stdout=subprocess.PIPE
    )
    assert archive.stdout is not None
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        raise TangolabError(f"could not export {commit[:12]} into {dest}")


def cold_env(work: Path) -> dict[str, str]:
    """The environment of one cold build: empty cache and ccache under
    `work`, the exported tree's orchestrator on the path, nothing of ours."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED_ON}
    env["TANGOLAB_CACHE"] = str(work / "cache")
    env["TANGOLAB_CCACHE"] = str(work / "ccache")
    env["PYTHONPATH"] = str(work / "src" / "orchestrator")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def cold_build(repo: Path, commit: str, work: Path, jobs: int | None) -> Timed:
    """One cold build of `commit` in the empty directory `work`."""
    src = work / "src"
    export(repo, commit, src)
    argv = [sys.executable, "-c", CHILD, "build", "all"]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    log = work / "build.log"
    timed = run_timed(argv, cwd=src, env=cold_env(work), log=log)
    if timed.status != 0:
        tail = log.read_text(errors="replace").rstrip().splitlines()[-15:]
        raise TangolabError(
            f"the cold build of {commit[:12]} failed (exit {timed.status}) after "
            f"{timed.wall:.0f} s; its log: {log}" + "".join(f"\n  | {t}" for t in tail)
        )
    return timed


def cmd_bench_build(args: argparse.Namespace) -> int:
    repo = repo_root()
    refs = args.ref or ["HEAD"]
    revisions = [resolve_ref(repo, r) for r in refs]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[Timed]] = {commit: [] for commit, _ in revisions}
    load_before = os.getloadavg()
    for n in range(args.runs):
        for commit, line in revisions:
            work = Path(tempfile.mkdtemp(prefix="tangolab-bench-build-", dir=args.workdir))
            print(f"run {n + 1}/{args.runs}: cold build of {line} in {work}", flush=True)
            try:
                timed = cold_build(repo, commit, work, args.jobs)
            except BaseException:
                print(f"  (kept {work})", flush=True)
                raise
            print(f"  {timed.wall:.0f} s wall, {timed.cpu:.0f} CPU-s", flush=True)
            runs[commit].append(timed)
            shutil.rmtree(work, ignore_errors=True)
    result = summary(revisions, runs)
    result["host"] = {
        "cpus": os.cpu_count(),
        "jobs": args.jobs,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
    return 0


def summary(revisions: list[tuple[str, str]], runs: dict[str, list[Timed]]) -> dict[str, Any]:
    """Medians per revision and, from the second on, ratios to the first."""
    out: list[dict[str, Any]] = []
    for commit, line in revisions:
        walls = [t.wall for t in runs[commit]]
        cpus = [t.cpu for t in runs[commit]]
        out.append(
            {
                "commit": commit,
                "describe": line,
                "wall_s": walls,
                "cpu_s": cpus,
                "median_wall_s": statistics.median(walls),
                "median_cpu_s": statistics.median(cpus),
            }
        )
    first = out[0]
    for r in out[1:]:
        r["wall_ratio_to_first"] = r["median_wall_s"] / first["median_wall_s"]
        r["cpu_ratio_to_first"] = r["median_cpu_s"] / first["median_cpu_s"]
    return {"revisions": out}


def table(result: dict[str, Any]) -> str:
    lines = []
    for r in result["revisions"]:
        walls = " ".join(f"{w:.0f}" for w in r["wall_s"])
        lines.append(
            f"{r['describe'][:60]}\n"
            f"  cold build: median {r['median_wall_s'] / 60:.1f} min wall "
            f"({r['median_wall_s']:.0f} s; runs: {walls}), "
            f"{r['median_cpu_s']:.0f} CPU-s"
        )
        if "wall_ratio_to_first" in r:
            lines.append(
                f"  against the first: wall x{r['wall_ratio_to_first']:.2f}, "
                f"CPU x{r['cpu_ratio_to_first']:.2f}"
            )
    host = result.get("host")
    if host:
        fmt = "/".join(f"{x:.1f}" for x in host["load_before"])
        lines.append(f"host: {host['cpus']} CPUs, load average {fmt} before")
    return "\n".join(lines)


def register(bsub: Any) -> None:
    b = bsub.add_parser(
        "build",
        help="a cold build (empty cache and ccache) of one or more revisions",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    b.add_argument(
        "--ref",
        action="append",
        metavar="REV",
        help="a revision of this checkout to build; repeat to compare (HEAD)",
    )
    add_runs_option(b, "cold builds per revision")
    b.add_argument(
        "--jobs", type=whole(1, 256), metavar="N", help="build jobs (the build's default)"
    )
    b.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where the runs' temporary trees go (the system's temporary directory)",
    )
    b.add_argument("--json", action="store_true", help="every run's figures as JSON")
    b.set_defaults(func=cmd_bench_build)
