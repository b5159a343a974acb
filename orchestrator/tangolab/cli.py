# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
# ruff: noqa: E402 - the start-up signal handler goes in before the imports
"""The `tangolab` command.

    tangolab build [qemu|kernel|rootfs|all]     build what changed
    tangolab boot --run CMD [--ssh]             boot, run CMD, exit with its status
    tangolab boot [--ssh]                       boot and keep running until Ctrl-C
    tangolab shell                              boot and hand over the serial console
    tangolab ps [--json]                        running instances
    tangolab qmp [--instance NAME] CMD [JSON]   one QMP command against an instance
    tangolab info [--json]                      versions and artifact paths
    tangolab torture kill|fuzz ...              reliability campaigns (commands.torture)
    tangolab trace --policy P --latency L ...   a timeline of a few pages (commands.trace)
    tangolab debug --policy P --latency L ...   stop at a lost transfer, gdb backtraces

``boot`` and ``shell`` take ``--nand IMG`` (checked exactly against the chip
before QEMU starts; ``onfi-nand.blocks`` follows the image) or
``--scratch-nand BLOCKS`` (an erased image in the run directory, deleted at
the end). User errors print one line (or, for a misbehaving guest, the line
and the tails of its logs) and exit non-zero, without a traceback. Ctrl-C,
SIGTERM and SIGHUP stop QEMU and clean up; after a SIGKILL, QEMU gets SIGTERM
from the kernel and the next `tangolab ps` prunes what is left.
"""

from __future__ import annotations

import signal
import sys


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


# Ctrl-C while the command starts up (imports take a good part of a second)
# exits 130 without a traceback; main() installs the real handlers. Only in
# the `tangolab` program: importing this module must not change a host
# program's signal handling.
_STARTUP_SIGINT = __name__ == "__main__" or sys.argv[0].rsplit("/", 1)[-1] == "tangolab"
if _STARTUP_SIGINT:
    signal.signal(signal.SIGINT, _exit_quietly)

import argparse
import contextlib
import importlib
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from rich.text import Text

from tangolab import __version__, instances
from tangolab.build import TARGETS
from tangolab.commands.options import add_artifact_options, artifacts_from_args, positive_float
from tangolab.errors import QmpCommandError, TangolabError, UsageError
from tangolab.paths import build_dir, runs_dir
from tangolab.term import stderr_console

if TYPE_CHECKING:
    from tangolab.machine import Machine

_err = stderr_console()


def _say(message: str) -> None:
    _err.print(Text.assemble(("tangolab: ", "bold"), message))


def _error(message: str) -> None:
    _err.print(Text.assemble(("error: ", "bold red"), message))


# --- argument parsing ----------------------------------------------------------


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1..65535: {value}")
    return value


def _target(text: str) -> str:
    if text not in TARGETS:
        raise argparse.ArgumentTypeError(
            f"unknown target {text!r} (choose from {', '.join(TARGETS)})"
        )
    return text


class _Parser(argparse.ArgumentParser):
    """Reports bad arguments in one line, like every other error (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def _blocks(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of blocks: {text!r}") from None
    if not 1 <= value <= instances.MAX_SCRATCH_BLOCKS:
        raise argparse.ArgumentTypeError(
            f"{value} blocks: the chip has 1..{instances.MAX_SCRATCH_BLOCKS}"
        )
    return value


def _icount(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _add_machine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("machine")
    g.add_argument("--name", help="instance name (default: random tango4-XXXXXX)")
    g.add_argument("--memory", "-m", type=int, default=512, help="guest RAM in MiB (512)")
    g.add_argument("--smp", type=int, default=2, help="CPUs (2)")
    g.add_argument(
        "--icount",
        type=_icount,
        metavar="SHIFT|SPEC",
        help="deterministic instruction counting: -icount shift=SHIFT, or a whole spec",
    )
    g.add_argument("--nand", type=Path, metavar="IMG", help="raw NAND image for chip select 0")
    g.add_argument(
        "--scratch-nand",
        type=_blocks,
        metavar="BLOCKS",
        help="instead of --nand: an erased image of BLOCKS blocks (1..1024) in the run "
        "directory, deleted when the instance ends",
    )
    g.add_argument("--append", default="", metavar="ARGS", help="extra kernel command line")
    g.add_argument(
        "--qemu-args",
        action="append",
        default=[],
        metavar="ARGS",
        help="extra QEMU arguments (shell-quoted string; repeatable)",
    )
    g.add_argument("--ssh-port", type=_port, metavar="PORT", help="host port for SSH (free one)")
    g.add_argument(
        "--boot-timeout", type=positive_float, default=180.0, metavar="S", help="(180 s)"
    )
    add_artifact_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tangolab",
        description="Emulated Sigma Designs tango4 (SMP8758) lab: build, boot, inspect.",
    )
    parser.add_argument("--version", action="version", version=f"tangolab {__version__}")
    parser.add_argument(
        "--build-dir",
        type=Path,
        metavar="DIR",
        help="build directory (default: $TANGOLAB_BUILD or <checkout>/build)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("build", help="build QEMU, the guest kernel and/or the rootfs")
    p.add_argument(
        "targets",
        nargs="*",
        type=_target,  # not choices=: argparse rejects an empty list against choices
        metavar="TARGET",
        help="qemu, kernel, rootfs or all (default: all)",
    )
    p.add_argument("--qemu-src", type=Path, metavar="DIR", help="use this QEMU source tree")
    p.add_argument("--linux-src", type=Path, metavar="DIR", help="use this Linux source tree")
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="parallel build jobs")

    p = sub.add_parser("boot", help="boot the guest; run a command or stay up")
    p.add_argument("--run", metavar="CMD", help="run CMD in the guest, print its output, exit")
    p.add_argument("--ssh", action="store_true", help="forward SSH; with --run, run CMD over SSH")
    p.add_argument("--run-timeout", type=positive_float, default=600.0, metavar="S", help="(600 s)")
    _add_machine_options(p)

    p = sub.add_parser("shell", help="boot the guest and attach to its serial console")
    p.add_argument("--ssh", action="store_true", help="also forward SSH to a host port")
    _add_machine_options(p)

    p = sub.add_parser("qmp", help="one QMP command against a running instance")
    p.add_argument("--instance", "-i", metavar="NAME", help="instance (default: the only one)")
    p.add_argument("--timeout", type=positive_float, default=30.0, metavar="S", help="(30 s)")
    p.add_argument("qmp_command", metavar="CMD", help="QMP command, e.g. query-status")
    p.add_argument("qmp_args", nargs="?", metavar="ARGS-JSON", help="arguments, a JSON object")

    p = sub.add_parser("ps", help="list running instances")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("info", help="versions and paths of the built artifacts")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    # Further commands live in tangolab.commands.<name>; each module has
    # register(subparsers), which adds its parsers with set_defaults(func=...).
    for name in COMMAND_MODULES:
        importlib.import_module(f"tangolab.commands.{name}").register(sub)
    return parser


COMMAND_MODULES: tuple[str, ...] = (
    "bench",
    "debug",
    "experiment",
    "inject",
    "nand",
    "patches",
    "torture",
    "trace",
)


# --- helpers -------------------------------------------------------------------


def _build(args: argparse.Namespace) -> Path:
    return Path(args.build_dir).absolute() if args.build_dir else build_dir()


def _make_machine(args: argparse.Namespace, *, ssh: bool) -> Machine:
    import shlex

    from tangolab.machine import Machine  # heavy imports only for the commands that boot

    extra: list[str] = []
    for chunk in args.qemu_args:
        try:
            extra += shlex.split(chunk)
        except ValueError as e:
            raise UsageError(f"--qemu-args {chunk!r}: {e}") from None
    return Machine(
        artifacts_from_args(args, _build(args)),
        name=args.name,
        memory=args.memory,
        smp=args.smp,
        icount=args.icount,
        nand=args.nand,
        scratch_nand=args.scratch_nand,
        append=args.append,
        extra_args=extra,
        ssh=ssh or args.ssh_port is not None,
        ssh_port=args.ssh_port,
        qemu=args.qemu,
        build=_build(args),
        boot_timeout=args.boot_timeout,
    )


def _access_hints(machine: Machine) -> None:
    _say(f"instance {machine.name} is ready (QEMU pid {machine.pid}; logs in {machine.run_dir})")
    _say(f"QMP from another terminal: tangolab qmp --instance {machine.name} query-status")
    if machine.ssh_port is not None:
        _say(
            f"SSH: ssh -p {machine.ssh_port} -i {machine.artifacts.ssh_key} "
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1"
        )


def _exit_status(status: int) -> int:
    return status if 0 <= status <= 255 else 255


# --- commands ------------------------------------------------------------------


def cmd_boot(args: argparse.Namespace) -> int:
    machine = _make_machine(args, ssh=args.ssh)
    _say(f"booting instance {machine.name} ...")
    with machine:
        if args.run is not None:
            if args.ssh:
                status, output = machine.ssh_run(args.run, args.run_timeout)
            else:
                status, output = machine.run(args.run, args.run_timeout)
            sys.stdout.write(output)
            sys.stdout.flush()
            return _exit_status(status)
        _access_hints(machine)
        _say("running; stop it with Ctrl-C")
        try:
            while machine.is_running():
                time.sleep(0.2)
        except KeyboardInterrupt:
            _say(f"stopping instance {machine.name}")
            return 0
        code = machine.wait_exit(1.0)
        _say(f"QEMU exited with status {code}")
        return 0 if code == 0 else 1


def cmd_shell(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("`tangolab shell` needs a terminal; use `tangolab boot --run CMD`")
    machine = _make_machine(args, ssh=args.ssh)
    _say(f"booting instance {machine.name} ...")
    with machine:
        _access_hints(machine)
        _say("serial console follows; leave it with Ctrl-] (stops the instance)")
        machine.console.send(b"\n")  # a fresh prompt for the user
        machine.interact()
        sys.stdout.write("\n")
    return 0


def parse_qmp_args(text: str | None) -> dict[str, Any]:
    """The ARGS-JSON of `tangolab qmp`: a JSON object (UsageError otherwise)."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"ARGS-JSON is not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(value, dict):
        raise UsageError(f"ARGS-JSON must be a JSON object, got {type(value).__name__}")
    return value


def cmd_qmp(args: argparse.Namespace) -> int:
    from tangolab.qmp import QmpClient

    arguments = parse_qmp_args(args.qmp_args)
    record = instances.get_instance(args.instance, runs_dir(_build(args)))
    with QmpClient(record.qmp_socket, timeout=args.timeout) as client:
        client.connect(timeout=args.timeout, alive=lambda: instances.is_alive(record))
        try:
            result = client.command(args.qmp_command, arguments)
        except QmpCommandError as e:
            _error(f"QEMU: {e.error_class}: {e.desc}")
            return 1
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def cmd_ps(args: argparse.Namespace) -> int:
    live = instances.list_instances(runs_dir(_build(args)))
    if args.json:
        print(json.dumps([json.loads(r.to_json()) for r in live], indent=2))
        return 0
    if not live:
        print("no running instances")
        return 0
    now = time.time()
    rows = [("NAME", "PID", "STATE", "SSH", "UP", "QMP SOCKET")]
    for r in live:
        up = int(now - r.started) if r.started else 0
        rows.append(
            (
                r.name,
                str(r.pid),
                r.state if instances.owner_alive(r) else f"{r.state} (orphaned)",
                str(r.ssh_port) if r.ssh_port else "-",
                f"{up // 3600}:{up // 60 % 60:02d}:{up % 60:02d}",
                r.qmp_socket,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def collect_info(build: Path) -> dict[str, Any]:
    """Versions (from the records of completed builds) and artifact paths."""
    from tangolab.build.artifacts import ARTIFACTS_FILE, build_command, load_artifacts

    manifest = build / ARTIFACTS_FILE
    if not manifest.is_file():
        raise TangolabError(f"nothing built yet ({manifest} not found): run `tangolab build all`")
    artifacts = load_artifacts(build)
    paths = {
        name: {"path": str(path), "exists": path.is_file(), "made_by": build_command(name)}
        for name, path in artifacts.paths().items()
    }
    return {"build_dir": str(build), "versions": artifacts.versions, "artifacts": paths}


def cmd_info(args: argparse.Namespace) -> int:
    info = collect_info(_build(args))
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    print(f"build directory: {info['build_dir']}")
    for part, version in sorted(info["versions"].items()):
        if isinstance(version, dict):
            desc = ", ".join(f"{k} {v}" for k, v in version.items() if v is not None)
        else:
            desc = str(version)
        print(f"  {part}: {desc}")
    print("artifacts:")
    for attr, entry in info["artifacts"].items():
        mark = "" if entry["exists"] else f"   (missing: run `{entry['made_by']}`)"
        print(f"  {attr:8} {entry['path']}{mark}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from tangolab.build import build, make_context

    build(args.targets or ["all"], make_context(args.qemu_src, args.linux_src, args.jobs))
    return 0


COMMANDS = {
    "build": cmd_build,
    "boot": cmd_boot,
    "shell": cmd_shell,
    "qmp": cmd_qmp,
    "ps": cmd_ps,
    "info": cmd_info,
}


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM / SIGHUP unwind like Ctrl-C, so QEMU and the registry are cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        if _STARTUP_SIGINT and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        with _terminate_as_exit():
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.build_dir is not None:
                # The build pipeline and the machine read it through tangolab.paths.
                os.environ["TANGOLAB_BUILD"] = str(Path(args.build_dir).absolute())
            func = COMMANDS.get(args.command) or args.func
            return int(func(args))
    except TangolabError as e:
        _error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 141
    except OSError as e:  # the host refused something: a file, a directory, a program
        _error(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
