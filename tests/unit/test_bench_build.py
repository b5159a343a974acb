# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab bench build`: what it measures and what it hands the build,
on real processes and a real (tiny) git checkout standing in for tangolab."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tangolab.commands import bench_build
from tangolab.errors import TangolabError, UsageError

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _fake_checkout(tmp_path: Path, cli_body: str) -> Path:
    """A git checkout shaped like tangolab's whose `tangolab build all` is
    `cli_body` (the function main(), in orchestrator/tangolab/cli.py)."""
    repo = tmp_path / "repo"
    pkg = repo / "orchestrator" / "tangolab"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text(textwrap.dedent(cli_body))
    _git(repo.parent, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "fake build")
    return repo


def test_the_cpu_time_is_the_command_tree_s_only(tmp_path: Path) -> None:
    # the command's grandchild burns 0.4 CPU-s; a sibling of ours burns 1 s meanwhile
    sibling = subprocess.Popen([sys.executable, "-c", BURN.format(s=1.0)])
    try:
        script = (
            "import subprocess, sys\n"
            f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.4)!r}], check=True)\n"
        )
        timed = bench_build.run_timed(
            [sys.executable, "-c", script], cwd=tmp_path, env={}, log=tmp_path / "log"
        )
    finally:
        sibling.wait()
    assert timed.status == 0
    assert 0.4 <= timed.cpu < 0.9  # the grandchild counted, the sibling not
    assert timed.wall >= 0.4


def test_a_failing_command_s_status_is_kept(tmp_path: Path) -> None:
    timed = bench_build.run_timed(
        [sys.executable, "-c", "print('out'); raise SystemExit(3)"],
        cwd=tmp_path,
        env={},
        log=tmp_path / "log",
    )
    assert timed.status == 3
    assert (tmp_path / "log").read_text() == "out\n"


def test_refs_resolve_to_commits_or_are_refused(tmp_path: Path) -> None:
    repo = _fake_checkout(tmp_path, "def main(): return 0\n")
    commit, line = bench_build.resolve_ref(repo, "HEAD")
    assert commit == _git(repo, "rev-parse", "HEAD") and line.endswith("fake build")
    for bad in ("no-such-branch", "HEAD~5", "-p"):
        with pytest.raises(UsageError, match="--ref"):
            bench_build.resolve_ref(repo, bad)


def test_the_cold_environment_has_nothing_of_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in bench_build.NOT_PASSED_ON:
        monkeypatch.setenv(name, "/somewhere/warm")
    monkeypatch.setenv("TANGOLAB_CACHE", "/warm/cache")
    monkeypatch.setenv("TANGOLAB_CCACHE", "/warm/ccache")
    env = bench_build.cold_env(tmp_path)
    assert not set(bench_build.NOT_PASSED_ON) & set(env)
    assert env["TANGOLAB_CACHE"] == str(tmp_path / "cache")
    assert env["TANGOLAB_CCACHE"] == str(tmp_path / "ccache")
    assert env["PYTHONPATH"] == str(tmp_path / "src" / "orchestrator")


def test_a_cold_build_runs_the_revision_s_own_build_in_an_empty_tree(tmp_path: Path) -> None:
    # the fake build records what it was run with
    repo = _fake_checkout(
        tmp_path,
        """\
        import json, os, sys
        from pathlib import Path
        def main():
            cache = Path(os.environ["TANGOLAB_CACHE"])
            Path("seen.json").write_text(json.dumps({
                "argv": sys.argv[1:], "cwd": os.getcwd(), "cache_exists": cache.exists(),
                "git": Path(".git").exists(),
            }))
            return 0
        """,
    )
    commit, _ = bench_build.resolve_ref(repo, "HEAD")
    work = tmp_path / "work"
    timed = bench_build.cold_build(repo, commit, work, jobs=2)
    assert timed.status == 0
    seen = json.loads((work / "src" / "seen.json").read_text())
    assert seen == {
        "argv": ["build", "all", "--jobs", "2"],
        "cwd": str(work / "src"),
        "cache_exists": False,
        "git": False,
    }


def test_a_failed_cold_build_says_so_with_its_log(tmp_path: Path) -> None:
    repo = _fake_checkout(
        tmp_path,
        """\
        def main():
            print("error: configure failed: no meson")
            return 1
        """,
    )
    commit, _ = bench_build.resolve_ref(repo, "HEAD")
    with pytest.raises(TangolabError, match=r"failed \(exit 1\)(.|\n)*no meson"):
        bench_build.cold_build(repo, commit, tmp_path / "work", jobs=None)


def test_the_summary_has_medians_and_ratios_to_the_first() -> None:
    t = bench_build.Timed
    revs = [("a" * 40, "aaaa before"), ("b" * 40, "bbbb after")]
    runs = {
        "a" * 40: [t(600, 1000, 0), t(620, 1010, 0), t(900, 1200, 0)],
        "b" * 40: [t(300, 800, 0), t(310, 790, 0), t(305, 805, 0)],
    }
    out = bench_build.summary(revs, runs)["revisions"]
    assert out[0]["median_wall_s"] == 620 and out[1]["median_wall_s"] == 305
    assert out[1]["wall_ratio_to_first"] == pytest.approx(305 / 620)
    assert out[1]["cpu_ratio_to_first"] == pytest.approx(800 / 1010)
    assert "wall_ratio_to_first" not in out[0]
    text = bench_build.table({"revisions": out})
    assert "median 10.3 min wall (620 s; runs: 600 620 900)" in text
    assert "wall x0.49" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ref", "no-such-revision"], "no such commit"),
        (["--runs", "0"], "invalid choice"),
        (["--jobs", "0"], "must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tangolab.cli import main

    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["bench", "build", *argv]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
