# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab torture`: reliability campaigns that print their figures.

Killed runs leave nothing behind
--------------------------------

    tangolab torture kill --runs 30 --seed 1

runs ``tangolab boot --run "sleep 30"`` N times (every other run with
``--scratch-nand 64``, an erased NAND image in the run directory; with
``--kinds boot,nand,experiment`` also one-cell ``tangolab experiment`` runs,
whose cell boots on a temporary image) and kills each orchestrator with
SIGINT, SIGTERM and SIGKILL in turn, after a seeded
random delay (uniform in 0..``--max-delay`` s from the start; with
``--after-qemu``, from the moment its QEMU process exists). After each kill
it checks that run's own leftovers: a QEMU process (found by its run
directory, never other QEMU processes on the host), an entry in
``tangolab ps``, a socket, ``instance.json`` or scratch image in the run
directory, a temporary image of an experiment cell, a Python traceback from
tangolab's code on the output (Ctrl-C during the interpreter's own start-up,
before any tangolab code runs, is only noted). It prints one line per run and
the leftovers per signal, and exits 1 if any run left something (the run
directory and the orchestrator's output are kept in ``build/torture/kill``).
One run takes a few seconds; runs go one after another (one QEMU at a time).

How the orchestrator cleans up: SIGINT and SIGTERM (and SIGHUP) unwind the
command, which stops QEMU (QMP ``quit``, SIGTERM, SIGKILL) and removes its
sockets, scratch image and registry entry. On SIGKILL the kernel sends QEMU
SIGTERM (PR_SET_PDEATHSIG, set between fork and exec) and QEMU removes its
sockets as it exits; the dead entry and the scratch image are pruned by the
next ``tangolab ps`` (any listing of instances), which also marks a live
QEMU whose orchestrator is gone as ``(orphaned)``. An experiment cell's
image is a scratch image in its run directory, pruned the same way. The
QEMU of a cell run by a Dask worker (``--jobs N``) and the qtest QEMU of
``tangolab torture fuzz`` get the same PR_SET_PDEATHSIG (`tangolab.lifetime`);
the temporary directories of a SIGKILLed fuzzer (``/tmp/tlqt-<pid>-*``,
``/tmp/tangolab-fuzz-<pid>-*``) are removed by the next run.

Bad input: ``tangolab boot --nand IMG`` checks the image's size exactly
before QEMU starts (whole 135168-byte blocks, a power of 2 up to 1024, the
same as ``-global onfi-nand.blocks`` if given; otherwise that is set from the
image) and refuses a bad one in one line, leaving it untouched.

A seeded fuzzer against the device models
-----------------------------------------

    tangolab torture fuzz --ops 200000 --seed 1 [--asan QEMU_BINARY]
    tangolab torture fuzz --replay build/torture/fuzz/seed1-crash.qtest

drives the tango4 machine under qtest (no guest, virtual clock; 64 MiB of
RAM, two 16-block NAND chips on scratch images) with random but mostly
well-formed MMIO: sbox resets and routes, memory-channel programs into RAM
(single, double, rectangle; random addresses and counts; STOP), whole
transfers channel to channel and through the loopback, the NAND driver's
page program and read with a random abort, PAD_MODE switch or torn-down
route, NFC configurations and FLASH_CMD, PBUS chip cycles and whole ONFI
command sequences, with malformed accesses (random offsets, widths and
values in and around every block) mixed in, guest memory writes, clock
steps, and QMP at random moments: ``qom-set`` of the fault properties (sbox
latency-ns, jitter, jitter-ns, seed, bandwidth; channel irq-delay-ns; chip
t-r/t-prog/t-bers-ns, fail-next-*, mark-bad, flip-bits, power-cut) within
and outside their ranges (a refusal is fine, a crash is not),
``qom-get`` of counters and ``system_reset``; with ``--migrate``, also
migration to a file and back into a fresh QEMU (``# migrate`` in a
reproducer; a state the models refuse to load is a finding). A fresh QEMU
is started every
``--session-ops`` operations. It prints operations per second (25000 to
45000 on 2 cores) and every finding: QEMU exiting (crash, abort, assertion),
a sanitizer report on its stderr, or no answer within ``--timeout``. The
requests of a session are logged; on a finding the log is saved as
``seed<S>-<n>-<kind>.qtest`` (qtest lines as sent, ``# flush`` after each
batch, QMP requests as ``# qmp JSON`` lines), and ``--replay FILE`` sends it
again, batch by batch, to a fresh QEMU set up the same way. ``--asan`` runs
another QEMU binary (e.g. ``build/qemu-asan/qemu-system-arm`` from ``tangolab
build qemu --sanitize``) with the options of ``tangolab.sanitizers``, as the
pytest harness does: the first error ends QEMU, reports are files in
OUT/sanitizer, and a new one is a finding (its text in the reproducer). Exit
status 1 if there was a finding.

Power cuts under UBIFS
----------------------

    tangolab torture powercut --cuts 100 --seed 1

formats a 64-block NAND image with UBI and one UBIFS volume and cuts the
chip's power N times under a seeded in-guest writer (``fswriter``: files
created, appended, renamed, deleted; the file and its directory fsynced
after about half of the operations, each durable step printed on the
console as a journal line). Each cut sets the chip's ``power-cut`` once
the chip has programmed a seeded number of pages (1..``--max-pages``)
since the writer started, which cuts the program or erase in progress or
the next one halfway (a page partially programmed); QEMU is stopped and
booted again on the same image, UBI attached and UBIFS mounted, and that
boot checks: attach and mount succeed; no UBIFS error in the kernel log
other than reads of the cut PEB failing ECC; UBI's attach reports at most
one corrupted PEB and no PEB but the cut one fails ECC; every file the
journal made durable is there (under its name, or the name of a rename
issued later), holding at least its durable bytes of its pattern, read
back byte for byte (unless its deletion was issued later). That boot then
runs the next cut's writer. It prints one line per cut and: cuts
survived, mount failures, lost fsynced files, time per cut (about 7 s:
one boot of 2.5 s, the writer, the check). Every cut's journal
(``cutN.journal``), and the kernel log, the problems and a copy of the
image of a failed cut, are kept in ``build/torture/powercut/seed<S>``
(the image itself is removed when every cut survived). Exit status 1 if a
cut failed (see `tangolab.torture.powercut`).

Save and load under load
------------------------

    tangolab torture migrate --count 30 --seed 1

runs race cells of the experiment (``client`` policy by default: 64 pages
written through the DMA driver with 20 us mean route latencies (``--latency``), read back,
checked on the image; under ``-icount 4``) and, in each, saves and loads
the whole machine ``--per-run`` times at seeded random moments of its write
and verify phases (QMP ``stop``, ``snapshot-save`` to a qcow2 node added
with ``blockdev-create``, ``snapshot-load`` of it, ``cont``). Each run is
compared with the same cell run once without interruption: pages lost
(must be 0 under ``client``), every field of the cell's result and every
model counter (sbox, memory channels, NFC, chip) must be equal; fields
that measure time (write time, atomic wait, channel held, sbox stalls) are
shown when they differ but tolerated (a stopped VM resumes with QEMU's
icount timer deadlines re-aligned). Exit status 1 if a run lost a page
under ``client`` or a counter differed (see `tangolab.torture.migrate`).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tangolab.commands.options import comma_list, latency, positive_float, seed, whole
from tangolab.errors import UsageError
from tangolab.paths import build_dir

if TYPE_CHECKING:
    from tangolab.torture.fuzz import FuzzReport


_count = whole(1)
_pages = whole(1, 4096, "pages")


def _kinds(text: str) -> tuple[str, ...]:
    from tangolab.torture.kill import ALL_KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"bad kind {(bad or [text])[0]!r} (choose from {', '.join(ALL_KINDS)})"
        )
    return kinds


def _build(args: argparse.Namespace) -> Path:
    return Path(args.build_dir).absolute() if args.build_dir else build_dir()


def cmd_kill(args: argparse.Namespace) -> int:
    from tangolab.build.artifacts import BOOT, load_artifacts
    from tangolab.torture.kill import SIGNALS, describe, plan_runs, run_once

    build = _build(args)
    load_artifacts(build).check(*BOOT)  # a missing build: one line, before any run
    log_dir = Path(args.out).absolute() if args.out else build / "torture" / "kill"
    plans = plan_runs(
        args.runs, args.seed, args.max_delay, after_qemu=args.after_qemu, kinds=args.kinds
    )
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


def cmd_fuzz(args: argparse.Namespace) -> int:
    from tangolab.build.artifacts import Artifacts
    from tangolab.sanitizers import environment
    from tangolab.torture.fuzz import fuzz, replay

    build = _build(args)
    qemu = Path(args.asan).absolute() if args.asan else Artifacts.in_dir(build).qemu
    out = Path(args.out).absolute() if args.out else build / "torture" / "fuzz"
    sanitizer_dir = None
    if args.asan:
        # the options of every sanitized run (tangolab.sanitizers): reports
        # are files in OUT/sanitizer, the first error is fatal, leaks at exit
        sanitizer_dir = out / "sanitizer"
        os.environ.update(environment(sanitizer_dir))
    if args.replay is not None:
        found = replay(
            Path(args.replay), qemu=qemu, timeout=args.timeout, sanitizer_dir=sanitizer_dir
        )
        if found is None:
            print(f"{args.replay}: replayed; QEMU survived")
            return 0
        print(f"{args.replay}: reproduced: {found.kind}: {found.summary} (after {found.ops} ops)")
        if found.stderr_tail:
            print(found.stderr_tail)
        return 1

    def progress(report: FuzzReport) -> None:
        if not args.quiet:
            print(
                f"  {report.ops} ops, {report.ops_per_second:.0f} ops/s, "
                f"{len(report.findings)} findings",
                flush=True,
            )

    report = fuzz(
        args.ops,
        args.seed,
        qemu=qemu,
        out_dir=out,
        session_ops=args.session_ops,
        batch=args.batch,
        timeout=args.timeout,
        migrate=args.migrate,
        progress=progress,
        sanitizer_dir=sanitizer_dir,
    )
    print(
        f"{report.ops} operations in {report.seconds:.1f} s: {report.ops_per_second:.0f} ops/s "
        f"(seed {args.seed}, {report.sessions} QEMU sessions, {report.migrations} migrations, "
        f"{report.qmp_refused} QMP refusals, QEMU {qemu})"
    )
    print(f"findings: {len(report.findings)}")
    for f in report.findings:
        print(f"  {f.kind}: {f.summary} (after {f.ops} ops of its session)")
        print(f"    reproducer: {f.reproducer} (tangolab torture fuzz --replay FILE)")
        for line in f.stderr_tail.splitlines()[-6:]:
            print(f"    | {line}")
    return 1 if report.findings else 0


def cmd_powercut(args: argparse.Namespace) -> int:
    from tangolab.build.artifacts import BOOT, load_artifacts
    from tangolab.torture.powercut import Campaign, describe, run_campaign

    build = _build(args)
    artifacts = load_artifacts(build)
    artifacts.check(*BOOT)
    out = Path(args.out).absolute() if args.out else build / "torture" / "powercut"
    out = out / f"seed{args.seed}"
    campaign = Campaign(
        args.cuts, args.seed, out, max_pages=args.max_pages, artifacts=artifacts, build=build
    )
    print(
        f"{args.cuts} power cuts, seed {args.seed}, a cut after 1..{args.max_pages} pages "
        f"programmed (image and logs in {out})",
        flush=True,
    )
    summary = run_campaign(campaign, lambda r: print(describe(r), flush=True))
    print()
    for line in summary.lines(campaign.boot_seconds):
        print(line)
    if summary.survived == summary.cuts:
        campaign.image.unlink(missing_ok=True)
        return 0
    print(f"failed cuts keep their journal, kernel log and image in {out}")
    return 1


def cmd_migrate(args: argparse.Namespace) -> int:
    from tangolab.build.artifacts import BOOT, load_artifacts
    from tangolab.experiment.cells import POLICIES
    from tangolab.torture.migrate import campaign, describe, plan_runs

    bad = [p for p in args.policies if p not in POLICIES]
    if bad:
        raise UsageError(f"policy {bad[0]!r}: choose from {', '.join(POLICIES)}")
    load_artifacts(_build(args)).check(*BOOT)
    plans = plan_runs(
        args.count, args.seed, tuple(args.policies), args.per_run, args.latency_ns, args.pages
    )
    print(
        f"{args.count} save/load cycles in {len(plans)} cell runs, seed {args.seed}, "
        f"policies {', '.join(args.policies)}",
        flush=True,
    )
    migrations = lost = failed = tolerated = 0
    phases: Counter[str] = Counter()
    for report in campaign(plans, lambda line: print(line, flush=True)):
        print(describe(report), flush=True)
        migrations += len(report.run.migrations)
        phases.update(m.phase for m in report.run.migrations)
        lost += report.pages_lost if report.plan.spec.policy == "client" else 0
        failed += not report.ok
        tolerated += bool(report.timing_differences)
    print()
    print(f"save/load cycles done: {migrations} of {args.count} ({dict(phases)})")
    print(f"pages lost under client: {lost}")
    print(f"runs with counters unlike the uninterrupted run: {failed} of {len(plans)}")
    print(f"runs with timing fields unlike it (tolerated): {tolerated}")
    return 1 if failed else 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "torture",
        help="reliability campaigns: killed runs, a fuzzer, power cuts, save/load under load",
        description="Reliability campaigns that print their figures (see "
        "`tangolab torture kill --help`, `tangolab torture fuzz --help`, "
        "`tangolab torture powercut --help`, `tangolab torture migrate --help`).",
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
    k.add_argument("--seed", type=seed, default=1, metavar="S", help="seed of the delays (1)")
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
    k.add_argument(
        "--kinds",
        type=_kinds,
        default=("boot", "nand"),
        metavar="K[,K...]",
        help="what the runs start, in turn: boot (tangolab boot), nand (the same with a "
        "scratch NAND image), experiment (one cell of tangolab experiment) (boot,nand)",
    )
    k.add_argument("--keep", action="store_true", help="keep the run directories of clean runs")
    k.add_argument("--out", metavar="DIR", help="output of runs (default build/torture/kill)")
    k.set_defaults(func=cmd_kill)

    f = actions.add_parser(
        "fuzz",
        help="a seeded fuzzer against the device models (qtest, no guest)",
        description="Drive the tango4 machine under qtest with N random operations "
        "(register writes with real field values, malformed accesses, DMA into RAM, NFC "
        "and PBUS commands, clock steps, QMP fault properties) from seed S. Prints "
        "operations per second and every finding (QEMU crash, abort, sanitizer report, "
        "no answer in time) with a reproducer file; --replay FILE runs one again. "
        "Exit 0: no finding; 1: findings (or the replay reproduced one).",
    )
    f.add_argument("--ops", type=_count, default=100_000, metavar="N", help="operations (100000)")
    f.add_argument("--seed", type=seed, default=1, metavar="S", help="(1)")
    f.add_argument(
        "--asan",
        metavar="QEMU_BINARY",
        help="fuzz this qemu-system-arm (e.g. built with --enable-asan --enable-ubsan) instead "
        "of the build's",
    )
    f.add_argument("--replay", metavar="FILE", help="send a saved reproducer to a fresh QEMU")
    f.add_argument(
        "--session-ops",
        type=_count,
        default=20_000,
        metavar="N",
        help="start a fresh QEMU every N operations (20000; also the reproducer's length)",
    )
    f.add_argument("--batch", type=_count, default=32, metavar="N", help="qtest lines a write (32)")
    f.add_argument(
        "--timeout", type=positive_float, default=10.0, metavar="S", help="a hang after S s (10)"
    )
    f.add_argument(
        "--migrate",
        action="store_true",
        help="also save the machine and load it into a fresh QEMU at random moments "
        "(a state the models refuse to load is a finding)",
    )
    f.add_argument("--out", metavar="DIR", help="reproducers (default build/torture/fuzz)")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    f.set_defaults(func=cmd_fuzz)

    pc = actions.add_parser(
        "powercut",
        help="cut the NAND chip's power under a UBIFS writer N times; check what was fsynced",
        description="Format a NAND image with UBI/UBIFS, then N times: run a seeded writer in "
        "the guest, cut the chip's power after a seeded number of programmed pages (a page "
        "left partially programmed), boot again on the image and check that UBI attaches, "
        "UBIFS mounts without errors, no PEB but the cut one is corrupted, and every file "
        "fsynced before the cut is intact. Exit 0: every cut survived; 1: some did not.",
    )
    pc.add_argument("--cuts", type=_count, default=100, metavar="N", help="power cuts (100)")
    pc.add_argument("--seed", type=seed, default=1, metavar="S", help="(1)")
    pc.add_argument(
        "--max-pages",
        type=_count,
        default=300,
        metavar="P",
        help="cut after 1..P pages programmed by the writer, uniform (300)",
    )
    pc.add_argument("--out", metavar="DIR", help="image and logs (default build/torture/powercut)")
    pc.set_defaults(func=cmd_powercut)

    mg = actions.add_parser(
        "migrate",
        help="save and load the machine during race cells; compare with uninterrupted runs",
        description="Run race cells of the experiment under -icount and save and load the "
        "machine (snapshot-save, snapshot-load) at seeded random moments of their write and "
        "verify phases; compare pages lost and every counter with the same cell run without "
        "interruption. Exit 0: no page lost under client, counters equal; 1 otherwise.",
    )
    mg.add_argument("--count", type=_count, default=30, metavar="N", help="save/loads (30)")
    mg.add_argument("--seed", type=seed, default=1, metavar="S", help="(1)")
    mg.add_argument(
        "--per-run", type=_count, default=3, metavar="K", help="save/loads per cell run (3)"
    )
    mg.add_argument(
        "--policies",
        type=comma_list(str, "policy"),  # checked in cmd_migrate: POLICIES loads the machine
        default=["client"],
        metavar="P[,P...]",
        help="tear-down policies of the cells, in turn (client)",
    )
    mg.add_argument(
        "--latency",
        dest="latency_ns",
        type=latency,
        default=20_000,
        metavar="T",
        help="mean route latency of the cells, e.g. 20us (20us)",
    )
    mg.add_argument("--pages", type=_pages, default=64, metavar="N", help="pages a cell (64)")
    mg.set_defaults(func=cmd_migrate)
