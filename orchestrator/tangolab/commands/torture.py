# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture`: reliability campaigns that print their figures.

Killed runs leave nothing behind
--------------------------------

    tangolab torture kill --runs 30 --seed 1

runs ``tangolab boot --run "sleep 30"`` N times (every other run with
``--scratch-nand 64``, an erased NAND image in the run directory) and kills
each orchestrator with SIGINT, SIGTERM and SIGKILL in turn, after a seeded
random delay (uniform in 0..``--max-delay`` s from the start; with
``--after-qemu``, from the moment its QEMU process exists). After each kill
it checks that run's own leftovers: a QEMU process (found by its run
directory, never other QEMU processes on the host), an entry in
``tangolab ps``, a socket, ``instance.json`` or scratch image in the run
directory, a Python traceback on the output. It prints one line per run and
the leftovers per signal, and exits 1 if any run left something (the run
directory and the orchestrator's output are kept in ``build/torture/kill``).
One run takes a few seconds; runs go one after another (one QEMU at a time).

How the orchestrator cleans up: SIGINT and SIGTERM (and SIGHUP) unwind the
command, which stops QEMU (QMP ``quit``, SIGTERM, SIGKILL) and removes its
sockets, scratch image and registry entry. On SIGKILL the kernel sends QEMU
SIGTERM (PR_SET_PDEATHSIG, set between fork and exec) and QEMU removes its
sockets as it exits; the dead entry and the scratch image are pruned by the
next ``tangolab ps`` (any listing of instances).

A seeded fuzzer against the device models
-----------------------------------------

    tangolab torture fuzz --ops 200000 --seed 1 [--asan QEMU_BINARY]
    tangolab torture fuzz --replay build/torture/fuzz/seed1-crash.qtest

drives the tango4 machine under qtest (no guest, virtual clock) with random
but mostly well-formed MMIO: sbox resets and routes, memory-channel programs
into RAM (single, double, rectangle; random addresses and counts; STOP),
NFC configurations and FLASH_CMD (with aborts), PBUS chip cycles, PAD_MODE,
with malformed accesses (random offsets, widths and values) mixed in, clock
steps, and QMP ``qom-set`` of the fault properties (sbox latency, jitter,
seed, bandwidth; channel irq-delay-ns; chip timings) at random moments,
within and outside their ranges (a refusal is fine, a crash is not). It
prints operations per second and every finding: QEMU exiting (crash, abort,
assertion, sanitizer report) or not answering in time. The qtest requests
of a run are logged; on a finding the log is saved as ``<seed>-<kind>.qtest``
(QMP requests as ``# qmp`` lines), and ``--replay FILE`` sends it again to a
fresh QEMU. ``--asan`` runs another QEMU binary (e.g. one built with
``--enable-asan --enable-ubsan``); its sanitizer reports end up in the
finding. Exit status 1 if there was a finding.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from tangolab.commands.options import positive_float
from tangolab.paths import build_dir


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a seed (an integer): {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0: {text!r}")
    return value


def _build(args: argparse.Namespace) -> Path:
    return Path(args.build_dir).absolute() if args.build_dir else build_dir()


def cmd_kill(args: argparse.Namespace) -> int:
    from tangolab.build.artifacts import BOOT, load_artifacts
    from tangolab.torture.kill import SIGNALS, describe, plan_runs, run_once

    build = _build(args)
    load_artifacts(build).check(*BOOT)  # a missing build: one line, before any run
    log_dir = Path(args.out).absolute() if args.out else build / "torture" / "kill"
    plans = plan_runs(args.runs, args.seed, args.max_delay, after_qemu=args.after_qemu)
    runs: Counter[str] = Counter()
    dirty: Counter[str] = Counter()
    for plan in plans:
        result = run_once(
            plan, build, log_dir=log_dir, name=f"torture-{args.seed}-{plan.index}", keep=args.keep
        )
        runs[plan.sig.name] += 1
        dirty[plan.sig.name] += 0 if result.clean else 1
        print(describe(result), flush=True)
    total = sum(dirty.values())
    print(f"\n{'signal':8} {'runs':>5} {'with leftovers':>15}")
    for sig in SIGNALS:
        if runs[sig.name]:
            print(f"{sig.name:8} {runs[sig.name]:5} {dirty[sig.name]:15}")
    print(f"{'all':8} {sum(runs.values()):5} {total:15}")
    if total:
        print(f"runs with leftovers keep their output in {log_dir}")
        return 1
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "torture",
        help="reliability campaigns: killed runs, a fuzzer against the models",
        description="Reliability campaigns that print their figures (see "
        "`tangolab torture kill --help`, `tangolab torture fuzz --help`).",
    )
    actions = p.add_subparsers(dest="torture", metavar="ACTION", required=True)

    k = actions.add_parser(
        "kill",
        help="kill `tangolab boot` runs at random moments; check nothing is left",
        description="Run `tangolab boot --run 'sleep 30'` N times (every other run with a "
        "scratch NAND image), kill each with SIGINT, SIGTERM, SIGKILL in turn at a seeded "
        "random moment, and check that the run left no QEMU process, no instance in "
        "`tangolab ps`, no socket, instance.json or scratch image in its run directory and "
        "no traceback. Exit 0: nothing left by any run; 1: leftovers (listed).",
    )
    k.add_argument("--runs", type=_count, default=30, metavar="N", help="runs (30)")
    k.add_argument("--seed", type=_seed, default=1, metavar="S", help="seed of the delays (1)")
    k.add_argument(
        "--max-delay",
        type=positive_float,
        default=6.0,
        metavar="S",
        help="kill after 0..S seconds, uniform (6: about two boots)",
    )
    k.add_argument(
        "--after-qemu",
        action="store_true",
        help="count the delay from the moment the run's QEMU process exists",
    )
    k.add_argument("--keep", action="store_true", help="keep the run directories of clean runs")
    k.add_argument("--out", metavar="DIR", help="output of runs (default build/torture/kill)")
    k.set_defaults(func=cmd_kill)
