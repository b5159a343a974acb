# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Record a batch cell with QEMU's record/replay, and replay it.

`-icount shift=N,rr=record,rrfile=F,rrsnapshot=S` logs every
non-deterministic input (here: the console's, the clocks' reads) and takes
the VM snapshot S before the first instruction; `rr=replay` loads S and
runs the same instructions again. The snapshot is what reverse debugging
(tangolab.trace.reverse) starts from.

A recording directory DIR holds:
- nand-initial.img: the raw NAND image the cell starts from (erased), unless
  the user gave one (`tangolab debug --rr DIR --nand IMG`). It is only ever
  a backing file, opened read-only: its SHA-256 is in the recording and
  checked before and after every replay;
- nand-record.qcow2: the overlay the record ran on (backing file the raw
  image: nand-initial.img relative, so DIR can move; the user's by its
  absolute path), with the internal snapshot S: RAM, devices and the
  overlay's disk state at the start;
- cell.rr: the event log; recording.json: the cell, the command-line
  settings, the snapshot, and the SHA-256 of the build's files (a replay
  needs the very same QEMU, kernel, dtb and initramfs);
- after a replay: nand-replay.qcow2 (a copy of the record's overlay; loading
  S reverts its disk state to the record's start), and, from `replay`,
  nand-record.img / nand-replay.img (each run's final NAND, raw) and
  qemu-trace-{record,replay}.log.

What this machine allows **(ours: found by trying)**:
- one vCPU only: QEMU refuses record/replay with -smp 2, so the replayed
  cell runs on one CPU (its timing differs from the experiment's);
- no blkreplay: the NAND chip model reads and writes its image
  synchronously from the vCPU (blk_pread/blk_pwrite), and blkreplay
  completes requests only at replay checkpoints, which that vCPU would
  have to reach: the guest hangs at its first NAND read. The overlay is
  used directly, which is deterministic because no block request is ever
  in flight across instructions;
- no networking (a batch cell needs none).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tangolab.build.artifacts import BOOT, Artifacts
from tangolab.errors import UsageError
from tangolab.experiment.cells import CALLBACK_POLICIES, FIRST_BLOCK, CellSpec
from tangolab.machine import Machine, check_nand_image
from tangolab.nand.image import write_erased_image
from tangolab.nand.layout import Geometry

from .parse import QEMU_EVENTS, Event, TraceError, parse_qemu

RR_SHIFT = 4
#: the VM snapshot the record takes at its start and the replay loads
SNAPSHOT = "rr-start"
RECORDING, RRFILE, BASE = "recording.json", "cell.rr", "nand-initial.img"
#: the files a record or replay (re)writes in the recording's directory, beside those
OUTPUTS = frozenset(f"nand-{run}.{ext}" for run in ("record", "replay") for ext in ("qcow2", "img"))
#: the QOM path of the switch box
SBOX_PATH = "/machine/sbox"
DROP_EVENT = "TANGO4_SBOX_DROP"


@dataclass(frozen=True)
class Pass:
    console: str  # the cell's sections (before .. end)
    bytes_dropped: int
    events: list[Event]  # QEMU's timeline events
    image: bytes  # the NAND at the end (raw)


def _cell_args(spec: CellSpec, blocks: int) -> tuple[str, list[str]]:
    start = FIRST_BLOCK * Geometry(blocks=8).pages_per_block
    wait = int(spec.policy in CALLBACK_POLICIES)
    cell = f"{spec.policy},{spec.delay_us},{wait},{start},{spec.pages},{spec.seed}"
    settings = {
        "tango4-sbox.fifo-depth": spec.fifo_depth,
        "tango4-sbox.seed": spec.seed,
        "tango4-sbox.jitter": spec.jitter,
        "tango4-sbox.jitter-ns": spec.jitter_ns,
        "tango4-sbox.latency-ns": spec.latency_ns,
        "onfi-nand.blocks": blocks,
    }
    return f"loglevel=1 tangolab.cell={cell}", [
        a for k, v in settings.items() for a in ("-global", f"{k}={v}")
    ]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def boot_artifacts() -> Artifacts:
    """The files a `Machine` boots (the build's, $TANGOLAB_QEMU for QEMU)."""
    return Machine().artifacts


def build_identity(art: Artifacts) -> dict[str, str]:
    """The SHA-256 of each file a replay must share with its record."""
    art.check(*BOOT)
    paths = art.paths()
    return {name: sha256(paths[name]) for name in BOOT}


def qemu_img(art: Artifacts, *args: str, cwd: Path) -> str:
    """Run the build's qemu-img; its output (TraceError, one line, on failure)."""
    art.check("qemu_img")
    try:
        res = subprocess.run(
            [str(art.qemu_img), *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as e:
        raise TraceError(f"cannot run {art.qemu_img}: {e.strerror or e}") from None
    if res.returncode != 0:
        err = " ".join(res.stderr.split()) or f"exit status {res.returncode}"
        raise TraceError(f"qemu-img {args[0]} failed: {err}")
    return res.stdout


@dataclass(frozen=True)
class Recording:
    """A recorded cell in `dir` (see the module documentation)."""

    dir: Path
    spec: CellSpec
    base: Path  # the raw image the cell starts from (absolute)
    blocks: int  # its blocks
    build: dict[str, str]  # artifact -> SHA-256
    base_sha256: str
    snapshot_bytes: int  # the VM state saved in the snapshot

    @property
    def rrfile(self) -> Path:
        return self.dir / RRFILE

    @property
    def overlay(self) -> Path:
        return self.dir / "nand-record.qcow2"

    def icount(self, mode: str) -> str:
        return f"shift={RR_SHIFT},rr={mode},rrfile={self.rrfile},rrsnapshot={SNAPSHOT}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "base": str(
                self.base.relative_to(self.dir) if self.base.parent == self.dir else self.base
            ),
            "blocks": self.blocks,
            "snapshot": SNAPSHOT,
            "snapshot_bytes": self.snapshot_bytes,
            "build": self.build,
            "base_sha256": self.base_sha256,
        }

    @classmethod
    def load(cls, where: Path, art: Artifacts) -> Recording:
        """The recording in `where`, checked against the build `art` (one-line errors)."""
        meta = where / RECORDING
        _check_path(where)
        if not where.is_dir():
            raise UsageError(
                f"{where}: no such directory (record one with `tangolab debug --rr DIR`)"
                if not where.exists()
                else f"{where} is not a directory (a recording is a directory)"
            )
        try:
            data = json.loads(meta.read_text())
            rec = cls(
                dir=where.absolute(),
                spec=CellSpec.from_dict(data["spec"]),
                base=where.absolute() / str(data["base"]),
                blocks=int(data["blocks"]),
                build={str(k): str(v) for k, v in data["build"].items()},
                base_sha256=str(data["base_sha256"]),
                snapshot_bytes=int(data["snapshot_bytes"]),
            )
        except FileNotFoundError:
            raise UsageError(
                f"{where} is not a recording (no {RECORDING}): record one with "
                "`tangolab debug --rr DIR`"
            ) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise UsageError(f"{meta} is not a recording's description: {e}") from None
        for f in (rec.rrfile, rec.overlay):
            if not f.is_file():
                raise UsageError(f"{where} is an incomplete recording: {f.name} is missing")
        if not rec.base.is_file():
            raise UsageError(f"{where}: the recording's NAND image {rec.base} is missing")
        now = build_identity(art)
        other = [name for name in BOOT if rec.build.get(name) != now[name]]
        if other:
            raise TraceError(
                f"{where} was recorded with another build ({', '.join(other)} differ): a "
                "replay needs the same files; record again with `tangolab debug --rr DIR`"
            )
        rec.check_base()
        return rec

    def check_base(self) -> None:
        """The raw image is as the record found it."""
        if sha256(self.base) != self.base_sha256:
            raise TraceError(f"{self.base} changed since the recording: the replay cannot start")


def _machine(
    rec: Recording, mode: str, overlay: Path, extra: list[str], *, wait_ready: bool = True
) -> Machine:
    append, settings = _cell_args(rec.spec, rec.blocks)
    if mode == "replay":
        # The record ended with QEMU's quit, recorded as a shutdown that the
        # replay repeats as soon as it gets there (the guest idles: at once
        # in host time); paused instead, the machine still answers QMP
        # (bytes dropped) until it is closed.
        extra = ["-action", "shutdown=pause", *extra]
    return Machine(
        name=f"rr-{mode}-{rec.spec.policy}-{rec.dir.stat().st_ino % 10**6}",
        smp=1,
        icount=rec.icount(mode),
        append=append,
        extra_args=[*settings, "-drive", f"if=mtd,index=0,format=qcow2,file={overlay}", *extra],
        boot_timeout=max(300.0, rec.spec.timeout_s),
        wait_ready=wait_ready,
    )


def _trace_args(out: Path, mode: str) -> tuple[Path, list[str]]:
    events_file, log = out / "qemu-events.txt", out / f"qemu-trace-{mode}.log"
    events_file.write_text("".join(f"{e}\n" for e in QEMU_EVENTS))
    log.unlink(missing_ok=True)
    return log, ["-trace", f"events={events_file},file={log}"]


def _finish(m: Machine, mode: str, log: Path, image: Path) -> Pass:
    text = m.console_log.read_text(errors="replace").replace("\r", "")
    start, end = text.find("tangolab-cell: before"), text.find("tangolab-cell: end")
    if start < 0 or end < 0:
        raise TraceError(f"the {mode} run printed no cell output (see {m.console_log})")
    dropped = int(m.qom_get(SBOX_PATH, "bytes-dropped"))
    return Pass(text[start:end], dropped, parse_qemu(log.read_text()), image.read_bytes())


def _raw(art: Artifacts, overlay: Path) -> Path:
    """The overlay's disk content as a raw image beside it."""
    raw = overlay.with_suffix(".img")
    qemu_img(art, "convert", "-f", "qcow2", "-O", "raw", overlay.name, raw.name, cwd=overlay.parent)
    return raw


def _snapshot_bytes(art: Artifacts, overlay: Path) -> int:
    """The VM state size of SNAPSHOT in `overlay` (TraceError if it is not there)."""
    info = json.loads(
        qemu_img(art, "info", "--output=json", "-f", "qcow2", overlay.name, cwd=overlay.parent)
    )
    for sn in info.get("snapshots", []):
        if sn.get("name") == SNAPSHOT:
            return int(sn.get("vm-state-size", 0))
    raise TraceError(f"the record took no snapshot {SNAPSHOT!r} in {overlay}")


def _check_path(where: Path) -> None:
    text = str(where.absolute())
    if "," in text or any(c.isspace() for c in text):
        raise UsageError(
            f"{where}: QEMU's -icount rrfile= cannot take a path with a comma or a space"
        )


def record(spec: CellSpec, out: Path, nand: Path | None = None) -> tuple[Recording, Pass]:
    """Record the cell into `out` (replacing an earlier recording there).

    The cell starts from the raw image `nand` (only read, as the overlay's
    backing file), by default from an erased image OUT/nand-initial.img.
    """
    _check_path(out)
    spec.check()
    blocks = spec.blocks
    if nand is not None:
        nand = nand.absolute()
        blocks = check_nand_image(nand, writable=False)
        if blocks < spec.blocks:
            raise UsageError(
                f"NAND image {nand} has {blocks} blocks: the cell needs at least {spec.blocks}"
            )
        if nand.parent == out.absolute() and nand.name in OUTPUTS:
            raise UsageError(f"NAND image {nand}: a recording writes that file; move it")
    art = boot_artifacts()
    art.check(*BOOT, "qemu_img")
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORDING).unlink(missing_ok=True)
    if nand is None:
        nand = write_erased_image(out / BASE, Geometry(blocks=blocks).image_size, force=True)
    overlay = out / "nand-record.qcow2"
    overlay.unlink(missing_ok=True)
    backing = nand.name if nand.parent == out else str(nand)
    qemu_img(art, "create", "-q", "-f", "qcow2", "-b", backing, "-F", "raw", overlay.name, cwd=out)
    rec = Recording(out, spec, nand, blocks, build_identity(art), sha256(nand), 0)
    log, trace = _trace_args(out, "record")
    with _machine(rec, "record", overlay, trace) as m:
        pass_ = _finish(m, "record", log, overlay)
    rec = replace(rec, snapshot_bytes=_snapshot_bytes(art, overlay))
    rec.check_base()
    pass_ = Pass(pass_.console, pass_.bytes_dropped, pass_.events, _raw(art, overlay).read_bytes())
    (out / RECORDING).write_text(json.dumps(rec.to_dict(), indent=2) + "\n")
    return rec, pass_


def _replay_overlay(rec: Recording) -> Path:
    """A fresh copy of the record's overlay (the replay writes to it)."""
    rec.check_base()
    copy = rec.dir / "nand-replay.qcow2"
    shutil.copyfile(rec.overlay, copy)
    return copy


def replay(rec: Recording) -> Pass:
    """Replay the whole recording (QEMU trace on), as `record` ran it."""
    art = boot_artifacts()
    overlay = _replay_overlay(rec)
    log, trace = _trace_args(rec.dir, "replay")
    with _machine(rec, "replay", overlay, trace) as m:
        pass_ = _finish(m, "replay", log, overlay)
    rec.check_base()
    return Pass(pass_.console, pass_.bytes_dropped, pass_.events, _raw(art, overlay).read_bytes())


@contextmanager
def replay_to_loss(rec: Recording, gdb_port: int, timeout: float) -> Iterator[tuple[Machine, Any]]:
    """Replay with the gdbstub on `gdb_port` until the box drops bytes.

    Yields the machine, paused at the loss with pause-on-drop off again (a
    reverse execution runs through that store once more), and the
    TANGO4_SBOX_DROP event's data. TraceError if the replay ends without a
    loss within `timeout` seconds.
    """
    overlay = _replay_overlay(rec)
    extra = [
        "-global", "tango4-sbox.pause-on-drop=on",
        "-gdb", f"tcp:127.0.0.1:{gdb_port}",
    ]  # fmt: skip
    with _machine(rec, "replay", overlay, extra, wait_ready=False) as m:
        deadline = time.monotonic() + timeout
        drop = None
        while drop is None and time.monotonic() < deadline:
            for ev in m.qmp_events(wait=1.0):
                if ev.get("event") == DROP_EVENT:
                    drop = ev.get("data", {})
            if drop is None and "tangolab-cell: end" in m.console_log.read_text(errors="replace"):
                break
        if drop is None and time.monotonic() >= deadline:
            raise TraceError(f"the replay of {rec.dir} reached no loss within {timeout:g} s")
        if drop is None:
            raise TraceError(
                f"the replay of {rec.dir} reached no loss: the {rec.spec.policy} cell "
                "dropped no bytes (record a cell that loses a page, e.g. --policy irq)"
            )
        m.qom_set(SBOX_PATH, "pause-on-drop", False)
        yield m, drop
    rec.check_base()


def record_and_replay(spec: CellSpec, out: Path, nand: Path | None = None) -> tuple[Pass, Pass]:
    """Record the cell into OUT (from `nand`, see `record`), replay it; both
    passes (and OUT/replay.json)."""
    rec, first = record(spec, out, nand)
    again = replay(rec)
    (rec.dir / "replay.json").write_text(
        json.dumps(
            {
                "spec": spec.to_dict(),
                "bytes_dropped": [first.bytes_dropped, again.bytes_dropped],
                "qemu_events": [len(first.events), len(again.events)],
                "same": same(first, again),
            },
            indent=2,
        )
        + "\n"
    )
    return first, again


def same(a: Pass, b: Pass) -> dict[str, bool]:
    return {
        "console": a.console == b.console,
        "bytes_dropped": a.bytes_dropped == b.bytes_dropped,
        "qemu_trace": a.events == b.events,
        "nand_image": a.image == b.image,
    }
