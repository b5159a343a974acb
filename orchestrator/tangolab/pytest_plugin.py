# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""pytest plugin: boot a tango4 guest in a test in a few lines.

Installed with the package (entry point ``pytest11``: ``tangolab``)::

    import pytest

    @pytest.mark.tangolab(blocks=64, icount=4)
    def test_write_pages(tango_machine, tango_faults, tango_nand_image):
        tango_faults.set_route_latency("50us")
        res = tango_machine.run("tangonand write --dev /dev/mtd0 --seed 1 "
                                "--start-page 64 --pages 8")
        assert res.status == 0, res.output

Command-line options:

``--tangolab-build DIR``
    build directory with the artifacts (default: $TANGOLAB_BUILD or the
    checkout's ``build/``). $TANGOLAB_QEMU still overrides the QEMU binary.
``--tangolab-icount SHIFT|SPEC``
    run every machine with ``-icount`` (a marker's ``icount`` wins).
``--tangolab-keep-logs``
    keep the run directories (console log, QEMU stderr) of passing tests
    too; by default only those of failed tests are kept.
``--tangolab-sanitize``
    test QEMU built with ASan and UBSan (``tangolab build qemu --sanitize``;
    $TANGOLAB_QEMU still overrides it): every process the tests start gets
    the ASAN_OPTIONS/UBSAN_OPTIONS of `tangolab.sanitizers`, which make the
    first report fatal and write it to a file; a test during which a report
    appears fails with it (a report at teardown, e.g. a leak found when QEMU
    exits, is an error of that test).

Marker ``@pytest.mark.tangolab(...)`` (on a test, a class or the module's
``pytestmark``; the closest one wins, key by key): ``blocks`` (NAND chip
size, a power of 2 up to 1024; default 64 = 8 MiB, passed as ``-global
onfi-nand.blocks=N``), ``ssh`` (forward SSH), ``icount`` (shift or spec),
``append`` (kernel command line), ``memory`` (MiB), ``smp``, ``qemu_args``
(extra QEMU arguments, a list), ``boot_timeout`` (s), ``bad_blocks`` (blocks
marked bad in the fresh image, as a factory marks them: Linux finds them when
it scans at boot, which a ``mark-bad`` injected later does not give).

Fixtures:

``tangolab_artifacts``
    the build's artifacts; skips the test, naming the build command, if one
    is missing.
``tango_nand_image``
    a fresh erased NAND image (``blocks`` and ``bad_blocks`` from the marker)
    in the test's tmp_path.
``tango_machine``
    a booted `tangolab.machine.Machine` with that image on chip select 0
    (one per test); ``tango_machine_module`` is one per module (its marker
    comes from the module's ``pytestmark``, its image from a module tmp dir);
    ``tango_machine_class`` one per test class (marker: the class's, then the
    module's; a function outside a class has its own).
``tango_qmp``
    the machine's ``qmp(command, arguments)`` (of ``tango_machine_module`` or
    ``tango_machine_class`` if the test uses one, else of ``tango_machine``).
``tango_faults``
    a `tangolab.faults.Faults` on the same machine.

`skip_or_fail(reason)` skips a test whose prerequisite is missing, or fails
it when TANGOLAB_REQUIRE_SYSTEM=1 (CI); the plugin's fixtures use it too.

When a test fails, the report gets the tail of each machine's console log
and QEMU's stderr, and the path of the run directory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tangolab.errors import MissingArtifactError, TangolabError
from tangolab.paths import build_dir

if TYPE_CHECKING:
    from tangolab.build.artifacts import Artifacts
    from tangolab.faults import Faults
    from tangolab.machine import Machine

MARKER = "tangolab"
DEFAULT_BLOCKS = 64
MAX_BLOCKS = 1024
#: lines of the console log (and of QEMU's stderr) attached to a failure report
TAIL_LINES = 60

_failed_key = pytest.StashKey[set[int]]()
_sanitize_key = pytest.StashKey["_Sanitize"]()


@dataclass(frozen=True)
class MachineConfig:
    """How the plugin's fixtures start a machine (from options and markers)."""

    blocks: int = DEFAULT_BLOCKS
    ssh: bool = False
    icount: int | str | None = None
    append: str = ""
    memory: int = 512
    smp: int = 2
    qemu_args: Sequence[str] = ()
    boot_timeout: float = 180.0
    bad_blocks: Sequence[int] = ()

    def extra_args(self) -> list[str]:
        return ["-global", f"onfi-nand.blocks={self.blocks}", *self.qemu_args]


_MARKER_KEYS = {f for f in MachineConfig.__dataclass_fields__}


def _check_config(cfg: MachineConfig, where: str) -> MachineConfig:
    blocks = cfg.blocks
    if isinstance(blocks, bool) or not isinstance(blocks, int):
        raise pytest.UsageError(f"{where}: tangolab(blocks=...) must be an int, not {blocks!r}")
    if not 1 <= blocks <= MAX_BLOCKS or blocks & (blocks - 1):
        raise pytest.UsageError(
            f"{where}: tangolab(blocks={blocks}): the onfi-nand chip takes a power of 2 "
            f"from 1 to {MAX_BLOCKS}"
        )
    if isinstance(cfg.qemu_args, str):
        raise pytest.UsageError(f"{where}: tangolab(qemu_args=...) must be a list of arguments")
    bad = tuple(cfg.bad_blocks) if not isinstance(cfg.bad_blocks, int | str) else None
    if bad is None or any(
        isinstance(b, bool) or not isinstance(b, int) or not 0 <= b < blocks for b in bad
    ):
        raise pytest.UsageError(
            f"{where}: tangolab(bad_blocks={cfg.bad_blocks!r}) must be a list of block "
            f"numbers 0..{blocks - 1}"
        )
    return replace(cfg, qemu_args=tuple(str(a) for a in cfg.qemu_args), bad_blocks=bad)


def machine_config(node: pytest.Item | pytest.Collector, config: pytest.Config) -> MachineConfig:
    """The configuration for `node`: defaults, then --tangolab-icount, then
    the markers from the farthest (module) to the closest (test)."""
    cfg = MachineConfig()
    icount = config.getoption("tangolab_icount")
    if icount is not None:
        cfg = replace(cfg, icount=int(icount) if str(icount).isdigit() else str(icount))
    for mark in reversed(list(node.iter_markers(MARKER))):
        if mark.args:
            raise pytest.UsageError(
                f"{node.nodeid}: @pytest.mark.tangolab takes keyword arguments only"
            )
        unknown = sorted(set(mark.kwargs) - _MARKER_KEYS)
        if unknown:
            raise pytest.UsageError(
                f"{node.nodeid}: unknown tangolab marker argument(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(_MARKER_KEYS))})"
            )
        cfg = replace(cfg, **mark.kwargs)
    return _check_config(cfg, node.nodeid)


# --- options, markers, hooks ------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tangolab", "tango4 machines (tangolab)")
    group.addoption(
        "--tangolab-build",
        metavar="DIR",
        default=None,
        help="tangolab build directory (default: $TANGOLAB_BUILD or <checkout>/build)",
    )
    group.addoption(
        "--tangolab-icount",
        metavar="SHIFT|SPEC",
        default=None,
        help="run the guests with -icount shift=SHIFT (or a whole -icount spec)",
    )
    group.addoption(
        "--tangolab-keep-logs",
        action="store_true",
        default=False,
        help="keep the run directories of passing tests too",
    )
    group.addoption(
        "--tangolab-sanitize",
        action="store_true",
        default=False,
        help="test the QEMU built by `tangolab build qemu --sanitize` (ASan + UBSan); "
        "a sanitizer report fails the test it appears in",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tangolab(blocks=64, ssh=False, icount=None, append='', memory=512, smp=2, "
        "qemu_args=(), boot_timeout=180, bad_blocks=()): configure the tango4 machine "
        "of tango_machine",
    )
    config.stash[_failed_key] = set()
    if config.getoption("tangolab_sanitize"):
        config.stash[_sanitize_key] = _Sanitize.start(config)


@dataclass
class _Sanitize:
    """--tangolab-sanitize: the sanitized QEMU in $TANGOLAB_QEMU, the sanitizer
    options in the environment (restored at the end), and the reports seen."""

    report_dir: Path
    saved_env: dict[str, str | None]
    seen: set[Path]

    @classmethod
    def start(cls, config: pytest.Config) -> _Sanitize:
        from tangolab.build.artifacts import Artifacts, build_command
        from tangolab.sanitizers import environment

        option = config.getoption("tangolab_build")
        try:
            build = Path(option).expanduser().absolute() if option else build_dir()
        except TangolabError as e:
            raise pytest.UsageError(f"--tangolab-sanitize: {e}") from None
        qemu = os.environ.get("TANGOLAB_QEMU") or str(Artifacts.in_dir(build).qemu_asan)
        if not Path(qemu).is_file():
            raise pytest.UsageError(
                f"--tangolab-sanitize: no QEMU at {qemu}: run `{build_command('qemu_asan')}`"
            )
        (build / "sanitizer").mkdir(parents=True, exist_ok=True)
        report_dir = Path(tempfile.mkdtemp(prefix="reports-", dir=build / "sanitizer"))
        env = {"TANGOLAB_QEMU": qemu, **environment(report_dir)}
        saved = {var: os.environ.get(var) for var in env}
        os.environ.update(env)
        return cls(report_dir, saved, set())

    def new_reports(self) -> str:
        """The text of the reports that appeared since the last call."""
        from tangolab.sanitizers import reports

        found = reports(self.report_dir, self.seen)
        self.seen.update(r.path for r in found)
        return "\n".join(
            f"sanitizer report of process {r.pid} ({r.path}): {r.summary()}\n{r.text}"
            for r in found
        )

    def finish(self) -> None:
        for var, value in self.saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if not self.seen:
            shutil.rmtree(self.report_dir, ignore_errors=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    sanitize = config.stash.get(_sanitize_key, None)
    if sanitize is not None:
        sanitize.finish()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Reports no test saw (a process that outlived its test) fail the run."""
    sanitize = session.config.stash.get(_sanitize_key, None)
    if sanitize is None:
        return
    late = sanitize.new_reports()
    if late:
        sys.stderr.write(f"\ntangolab: sanitizer reports after the last test:\n{late}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    sanitize = config.stash.get(_sanitize_key, None)
    if sanitize is None:
        return
    if sanitize.seen:
        terminalreporter.write_line(
            f"tangolab: {len(sanitize.seen)} sanitizer report(s) kept in {sanitize.report_dir}",
            red=True,
        )
    else:
        terminalreporter.write_line("tangolab: no sanitizer report (ASan, UBSan, LSan)")


def _machines_of(item: pytest.Item) -> list[Machine]:
    module = sys.modules.get("tangolab.machine")
    if module is None:  # nothing imported it: no machine in this test
        return []
    found: list[Machine] = []
    for value in getattr(item, "funcargs", {}).values():
        owner = getattr(value, "__self__", None)  # bound methods like tango_qmp
        for candidate in (value, owner):
            if isinstance(candidate, module.Machine) and candidate not in found:
                found.append(candidate)
    return found


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a log file (console logs have \\r\\n)."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(text.splitlines()[-lines:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    sanitize = item.config.stash.get(_sanitize_key, None)
    if sanitize is not None:
        found = sanitize.new_reports()
        if found:
            if report.failed:
                report.sections.append(("tangolab: sanitizer report", found))
            else:
                report.outcome = "failed"
                report.longrepr = f"sanitizer report while the test ran:\n{found}"
                if hasattr(report, "wasxfail"):
                    del report.wasxfail  # a memory error is not the expected failure
    if not report.failed:
        return
    for machine in _machines_of(item):
        item.config.stash[_failed_key].add(id(machine))
        console = tail(machine.console_log)
        report.sections.append(
            (
                f"tangolab {machine.name}: console, last {TAIL_LINES} lines "
                f"({machine.console_log})",
                console or "(no console output)",
            )
        )
        stderr = tail(machine.stderr_log)
        if stderr.strip():
            report.sections.append((f"tangolab {machine.name}: QEMU stderr", stderr))


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tangolab_build(pytestconfig: pytest.Config) -> Path:
    """The build directory (--tangolab-build, $TANGOLAB_BUILD, <checkout>/build)."""
    option = pytestconfig.getoption("tangolab_build")
    if option:
        return Path(option).expanduser().absolute()
    try:
        return build_dir()
    except TangolabError as e:
        raise pytest.UsageError(f"tangolab: {e} (or give --tangolab-build DIR)") from None


def skip_or_fail(reason: str, *, allow_module_level: bool = False) -> NoReturn:
    """Skip a test whose prerequisite is missing; fail instead when
    TANGOLAB_REQUIRE_SYSTEM=1 (CI), where nothing may be silently skipped."""
    if os.environ.get("TANGOLAB_REQUIRE_SYSTEM") == "1":
        pytest.fail(f"{reason} (TANGOLAB_REQUIRE_SYSTEM=1: not skipped)", pytrace=False)
    pytest.skip(reason, allow_module_level=allow_module_level)


@pytest.fixture(scope="session")
def tangolab_artifacts(tangolab_build: Path) -> Artifacts:
    """The build's artifacts; skips (naming the build command) if one is missing."""
    from tangolab.build.artifacts import BOOT, load_artifacts

    qemu = os.environ.get("TANGOLAB_QEMU")
    try:
        artifacts = load_artifacts(tangolab_build).with_files(qemu=Path(qemu) if qemu else None)
        artifacts.check(*BOOT)
    except MissingArtifactError as e:
        skip_or_fail(f"tangolab: {e}")
    except TangolabError as e:
        skip_or_fail(f"tangolab: unusable build in {tangolab_build}: {e}")
    return artifacts


def _instance_name(nodeid: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid.rsplit("/", 1)[-1]).strip("-.") or "test"
    return f"pt-{slug[:36]}-{secrets.token_hex(3)}"


def _new_image(path: Path, cfg: MachineConfig) -> Path:
    """An erased image with the factory bad-block markers of the configuration
    (byte 0 of the spare area of each bad block's first page is 0x00)."""
    from tangolab.nand.image import write_erased_image
    from tangolab.nand.layout import Geometry

    geo = Geometry(blocks=cfg.blocks)
    write_erased_image(path, geo.image_size, force=True)
    with path.open("r+b") as f:
        for block in cfg.bad_blocks:
            f.seek(block * geo.pages_per_block * geo.raw_page_size + geo.page_size)
            f.write(b"\x00")
    return path


def _start(
    cfg: MachineConfig,
    artifacts: Artifacts,
    build: Path,
    image: Path,
    nodeid: str,
) -> Machine:
    from tangolab.machine import Machine

    if cfg.ssh:
        try:
            artifacts.check("ssh_key")
        except MissingArtifactError as e:
            skip_or_fail(f"tangolab: {e}")
    machine = Machine(
        artifacts,
        name=_instance_name(nodeid),
        memory=cfg.memory,
        smp=cfg.smp,
        icount=cfg.icount,
        nand=image,
        append=cfg.append,
        extra_args=cfg.extra_args(),
        ssh=cfg.ssh,
        build=build,
        boot_timeout=cfg.boot_timeout,
    )
    return machine.start()


def _finish(machine: Machine, config: pytest.Config) -> None:
    machine.close()
    failed = id(machine) in config.stash[_failed_key]
    config.stash[_failed_key].discard(id(machine))
    if not failed and not config.getoption("tangolab_keep_logs"):
        shutil.rmtree(machine.run_dir, ignore_errors=True)


@pytest.fixture
def tango_machine_config(request: pytest.FixtureRequest) -> MachineConfig:
    """The machine configuration of this test (options and markers)."""
    return machine_config(request.node, request.config)


@pytest.fixture
def tango_nand_image(tmp_path: Path, tango_machine_config: MachineConfig) -> Path:
    """A fresh erased NAND image of the marker's size, in tmp_path."""
    return _new_image(tmp_path / "nand.img", tango_machine_config)


@pytest.fixture
def tango_machine(
    request: pytest.FixtureRequest,
    tangolab_artifacts: Artifacts,
    tangolab_build: Path,
    tango_machine_config: MachineConfig,
    tango_nand_image: Path,
) -> Iterator[Machine]:
    """A booted tango4 machine with `tango_nand_image` on chip select 0."""
    machine = _start(
        tango_machine_config, tangolab_artifacts, tangolab_build, tango_nand_image,
        request.node.nodeid,
    )  # fmt: skip
    try:
        yield machine
    finally:
        _finish(machine, request.config)


def _shared_machine(
    request: pytest.FixtureRequest,
    artifacts: Artifacts,
    build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Machine]:
    """A machine for the fixture's scope (`request.node`: module or class),
    configured by that node's markers, with a fresh image in a tmp dir."""
    cfg = machine_config(request.node, request.config)
    image = _new_image(tmp_path_factory.mktemp("tango-nand") / "nand.img", cfg)
    machine = _start(cfg, artifacts, build, image, request.node.nodeid)
    try:
        yield machine
    finally:
        _finish(machine, request.config)


@pytest.fixture(scope="module")
def tango_machine_module(
    request: pytest.FixtureRequest,
    tangolab_artifacts: Artifacts,
    tangolab_build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Machine]:
    """One booted tango4 machine for the whole module (marker: the module's pytestmark)."""
    yield from _shared_machine(request, tangolab_artifacts, tangolab_build, tmp_path_factory)


@pytest.fixture(scope="class")
def tango_machine_class(
    request: pytest.FixtureRequest,
    tangolab_artifacts: Artifacts,
    tangolab_build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Machine]:
    """One booted tango4 machine per test class (marker: the class's, then the
    module's); a function outside a class has its own."""
    yield from _shared_machine(request, tangolab_artifacts, tangolab_build, tmp_path_factory)


def _the_machine(request: pytest.FixtureRequest) -> Machine:
    shared = ("tango_machine_module", "tango_machine_class")
    name = next((n for n in shared if n in request.fixturenames), "tango_machine")
    machine: Machine = request.getfixturevalue(name)
    return machine


@pytest.fixture
def tango_qmp(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``qmp(command, arguments=None, **kwargs)`` of the test's machine."""
    return _the_machine(request).qmp


@pytest.fixture
def tango_faults(request: pytest.FixtureRequest) -> Faults:
    """`tangolab.faults.Faults` on the test's machine."""
    from tangolab.faults import Faults

    return Faults(_the_machine(request))
