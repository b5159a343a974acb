# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Fault injection on a live tango4 instance, over QMP (HARDWARE.md's QOM properties).

    with Machine(nand=img) as m:
        f = Faults(m)
        f.set_route_latency("50us")          # or 50_000 (ns)
        f.set_irq_delay("all", 20_000)
        f.flip_bits(0, 12, [(100, 3), (200, 0)])
        print(f.counters()["sbox"]["teardowns-in-flight"])

    with Faults.for_instance("tango4-1a2b3c") as f:   # a `tangolab shell` elsewhere
        f.power_cut(0)

A `Faults` works on anything that runs QMP commands: a `tangolab.machine.Machine`,
a connected `tangolab.qmp.QmpClient`, or a function ``qmp(command, arguments)``.

Every value is checked before anything is changed: ranges as HARDWARE.md gives
them, the chip select must have a chip, pages and blocks must be inside that
chip's geometry (its ``blocks`` property). A bad value raises
`FaultValueError` (a `UsageError`) and the instance is left as it was. If
QEMU refuses a value anyway, `FaultError` says what was refused and why;
settings made of several properties (all channels' delays, several chip
timings) are then restored to their previous values.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tangolab import instances
from tangolab.closing import Closing
from tangolab.errors import QmpCommandError, TangolabError, UsageError
from tangolab.paths import runs_dir
from tangolab.qmp import QmpClient
from tangolab.units import format_bandwidth, format_duration, parse_bandwidth, parse_duration

#: ``qmp(command, arguments) -> return value``; QEMU's errors raise QmpCommandError.
QmpFunction = Callable[[str, Mapping[str, object]], Any]


class QmpOwner(Protocol):
    """Anything with a ``qmp(command, arguments)`` method, e.g. `tangolab.machine.Machine`."""

    def qmp(self, cmd: str, args: Mapping[str, object] | None = None, /) -> Any: ...


SBOX = "/machine/sbox"
NFC = "/machine/nfc"
MACHINE = "/machine"

NUM_MCHAN = 4
NUM_CS = 4
#: sbox latency-ns and mchan irq-delay-ns: at most 1 s
MAX_DELAY_NS = 1_000_000_000
#: sbox bandwidth: 0 (unlimited) or at least this many bytes/s
MIN_BANDWIDTH = 1024
#: ... and at most (1 TB/s)
MAX_BANDWIDTH = 10**12
#: how the sbox draws each burst's latency (tango4-sbox `jitter`)
JITTERS = ("none", "uniform", "exponential")
U64_MAX = (1 << 64) - 1
#: onfi-nand t-r-ns / t-prog-ns / t-bers-ns: at most 65535 us
MAX_CHIP_TIME_NS = 65_535_000
#: onfi-nand geometry (fixed; only `blocks` is configurable)
PAGE_SIZE = 2048
SPARE_SIZE = 64
PAGE_TOTAL = PAGE_SIZE + SPARE_SIZE
PAGES_PER_BLOCK = 64
CHIP_TYPE = "onfi-nand"

#: read-only counters per kind of device (HARDWARE.md)
COUNTERS: dict[str, tuple[str, ...]] = {
    "sbox": ("bytes-moved", "bytes-dropped", "bytes-in-flight", "teardowns-in-flight", "stalls"),
    "mchan": ("bytes", "transfers", "errors", "refused", "stops"),
    "nfc": ("ecc-corrected", "ecc-failed", "refused", "aborts", "bytes-flushed"),
    "nand": ("pages-programmed", "blocks-erased"),
    "loopback": ("bytes",),
}
LOOPBACK = "/machine/loopback"

#: chip timing names accepted by set_chip_timing -> QOM property
CHIP_TIMINGS: dict[str, str] = {"tR": "t-r-ns", "tPROG": "t-prog-ns", "tBERS": "t-bers-ns"}


class FaultValueError(UsageError, ValueError):
    """A fault-injection value that is out of range or names nothing (nothing was sent)."""


class FaultError(TangolabError):
    """QEMU refused a fault-injection setting (the message gives QEMU's reason)."""


def mchan_path(channel: int) -> str:
    return f"/machine/mchan{channel}"


def chip_path(cs: int) -> str:
    return f"/machine/nand{cs}"


@dataclass(frozen=True)
class ChipInfo:
    """A NAND chip of the instance: its chip select and geometry."""

    cs: int
    blocks: int

    @property
    def path(self) -> str:
        return chip_path(self.cs)

    @property
    def pages(self) -> int:
        return self.blocks * PAGES_PER_BLOCK


def _uint(name: str, value: object, maximum: int, minimum: int = 0) -> int:
    """`value` as an int in minimum..maximum (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultValueError(f"{name} must be an integer, not {value!r}")
    if not minimum <= value <= maximum:
        raise FaultValueError(f"{name} {value} out of range {minimum}..{maximum}")
    return value


def _duration(name: str, value: int | str, maximum: int) -> int:
    if isinstance(value, str):
        try:
            value = parse_duration(value)
        except ValueError as e:
            raise FaultValueError(f"{name}: {e}") from None
    ns = _uint(f"{name} (ns)", value, U64_MAX)
    if ns > maximum:
        raise FaultValueError(
            f"{name} {format_duration(ns)} ({ns} ns) is too long: at most "
            f"{format_duration(maximum)} ({maximum} ns)"
        )
    return ns


def parse_bit_list(text: str) -> list[tuple[int, int]]:
    """``"100.3,200.0"`` -> [(100, 3), (200, 0)] (offsets decimal or 0x hex)."""
    pairs: list[tuple[int, int]] = []
    for item in text.split(","):
        m = re.fullmatch(r"\s*(0[xX][0-9a-fA-F]+|[0-9]+)\.([0-9]+)\s*", item)
        if m is None:
            raise FaultValueError(
                f"bit list {text!r}: expected OFFSET.BIT[,OFFSET.BIT...] "
                f"(e.g. 100.3,200.0), got {item.strip()!r}"
            )
        pairs.append((int(m[1], 0), int(m[2])))
    return pairs


class Faults(Closing):
    """Typed fault injection on one live instance (see the module documentation)."""

    def __init__(self, target: QmpOwner | QmpClient | QmpFunction) -> None:
        self._owned: QmpClient | None = None
        self._qmp: QmpFunction
        if isinstance(target, QmpClient):
            self._qmp = target.command
        elif callable(method := getattr(target, "qmp", None)):
            self._qmp = method  # a Machine (or anything with the same qmp method)
        elif callable(target):
            self._qmp = target
        else:
            raise TypeError(
                f"Faults needs a Machine, a QmpClient or a qmp function, not {target!r}"
            )
        self._chips: dict[int, ChipInfo] | None = None

    @classmethod
    def for_instance(
        cls,
        name: str | None = None,
        *,
        build: Path | None = None,
        timeout: float = 30.0,
    ) -> Faults:
        """Connect to the QMP socket of a registered instance (default: the
        only one running). Close it with `close()` or a ``with`` block."""
        record = instances.get_instance(name, runs_dir(build))
        client = QmpClient(record.qmp_socket, timeout=timeout)
        try:
            client.connect(timeout=timeout, alive=lambda: instances.is_alive(record))
        except BaseException:
            client.close()
            raise
        faults = cls(client)
        faults._owned = client
        return faults

    def close(self) -> None:
        """Close the QMP connection opened by `for_instance` (no-op otherwise)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    # --- QOM plumbing ----------------------------------------------------------

    def qom_get(self, path: str, prop: str) -> Any:
        try:
            return self._qmp("qom-get", {"path": path, "property": prop})
        except QmpCommandError as e:
            raise FaultError(f"cannot read {prop} of {path}: {e.desc}") from None

    def _qom_set(self, path: str, prop: str, value: object, shown: str | None = None) -> None:
        try:
            self._qmp("qom-set", {"path": path, "property": prop, "value": value})
        except QmpCommandError as e:
            what = shown if shown is not None else repr(value)
            raise FaultError(f"QEMU refused {prop} = {what} on {path}: {e.desc}") from None

    def _set_all(self, changes: Sequence[tuple[str, str, object]]) -> None:
        """Set several properties; if QEMU refuses one, put back those already set."""
        old = [self.qom_get(path, prop) for path, prop, _ in changes]
        done: list[int] = []
        try:
            for i, (path, prop, value) in enumerate(changes):
                self._qom_set(path, prop, value)
                done.append(i)
        except FaultError:
            for i in reversed(done):
                path, prop, _ = changes[i]
                with contextlib.suppress(FaultError):
                    self._qom_set(path, prop, old[i])
            raise

    # --- chips -----------------------------------------------------------------

    def chips(self, *, refresh: bool = False) -> dict[int, ChipInfo]:
        """The NAND chips of the machine by chip select (read once, then cached:
        the chips are fixed when QEMU starts)."""
        if self._chips is None or refresh:
            try:
                children = self._qmp("qom-list", {"path": MACHINE})
            except QmpCommandError as e:
                raise FaultError(f"cannot list {MACHINE}: {e.desc}") from None
            found: dict[int, ChipInfo] = {}
            for child in children:
                m = re.fullmatch(r"nand([0-9])", str(child.get("name", "")))
                if m is None or child.get("type") != f"child<{CHIP_TYPE}>":
                    continue
                cs = int(m[1])
                blocks = self.qom_get(chip_path(cs), "blocks")
                found[cs] = ChipInfo(cs, int(blocks))
            self._chips = dict(sorted(found.items()))
        return dict(self._chips)

    def chip(self, cs: int) -> ChipInfo:
        """The chip on chip select `cs`; FaultValueError if there is none."""
        _uint("chip select", cs, NUM_CS - 1)
        chips = self.chips()
        if cs not in chips:
            have = ", ".join(str(c) for c in chips) or "none"
            raise FaultValueError(
                f"no NAND chip on chip select {cs} (chips on: {have}); chips 1..3 exist only "
                f"with -drive if=mtd,index=CS,format=raw,file=IMG"
            )
        return chips[cs]

    # --- sbox and memory channels ------------------------------------------------

    def set_route_latency(self, ns: int | str) -> None:
        """Latency of every sbox route (ns, or a string like "50us"); 0..1 s."""
        value = _duration("route latency", ns, MAX_DELAY_NS)
        self._qom_set(SBOX, "latency-ns", value, format_duration(value))

    def set_route_jitter(self, kind: str, ns: int | str = 0) -> None:
        """How each burst's latency is drawn: "none", "uniform" (latency +- ns)
        or "exponential" (latency + an exponential delay of mean ns); 0..1 s."""
        if kind not in JITTERS:
            raise FaultValueError(f"jitter {kind!r}: choose from {', '.join(JITTERS)}")
        value = _duration("route jitter", ns, MAX_DELAY_NS)
        self._qom_set(SBOX, "jitter", kind, kind)
        self._qom_set(SBOX, "jitter-ns", value, format_duration(value))

    def set_route_seed(self, seed: int) -> None:
        """Seed (0 .. 2^64-1) of the sbox's latency generator; restarts its sequence."""
        value = _uint("route seed", seed, U64_MAX)
        self._qom_set(SBOX, "seed", value, str(value))

    def set_route_bandwidth(self, bps: int | str) -> None:
        """Bandwidth of the sbox (bytes/s, or a string like "10MB/s"); 0 = unlimited,
        otherwise at least 1024 bytes/s."""
        if isinstance(bps, str):
            try:
                bps = parse_bandwidth(bps)
            except ValueError as e:
                raise FaultValueError(f"route bandwidth: {e}") from None
        value = _uint("route bandwidth (bytes/s)", bps, MAX_BANDWIDTH)
        if 0 < value < MIN_BANDWIDTH:
            raise FaultValueError(
                f"route bandwidth {value} B/s is too low: 0 (unlimited) or at least "
                f"{MIN_BANDWIDTH} B/s"
            )
        self._qom_set(SBOX, "bandwidth", value, format_bandwidth(value))

    def set_irq_delay(self, channel: int | str, ns: int | str) -> None:
        """Delay from a memory channel's end of transfer to its interrupt
        (channel 0..3 or "all"); 0..1 s."""
        if channel == "all":
            channels = list(range(NUM_MCHAN))
        elif isinstance(channel, str):
            raise FaultValueError(f"memory channel {channel!r}: give 0..{NUM_MCHAN - 1} or 'all'")
        else:
            channels = [_uint("memory channel", channel, NUM_MCHAN - 1)]
        value = _duration("interrupt delay", ns, MAX_DELAY_NS)
        self._set_all([(mchan_path(c), "irq-delay-ns", value) for c in channels])

    # --- NAND chips ------------------------------------------------------------

    def set_chip_timing(
        self,
        cs: int,
        *,
        tR: int | str | None = None,
        tPROG: int | str | None = None,
        tBERS: int | str | None = None,
    ) -> None:
        """Busy times of chip `cs` (ns or strings like "300us"); each at most
        65535 us. Applies from the chip's next busy period."""
        given = {"tR": tR, "tPROG": tPROG, "tBERS": tBERS}
        values = {
            name: _duration(name, v, MAX_CHIP_TIME_NS) for name, v in given.items() if v is not None
        }
        if not values:
            raise FaultValueError("chip timing: give at least one of tR, tPROG, tBERS")
        chip = self.chip(cs)
        self._set_all([(chip.path, CHIP_TIMINGS[name], v) for name, v in values.items()])

    def flip_bits(self, cs: int, page: int, bits: Iterable[tuple[int, int]]) -> None:
        """Flip stored bits of one page of chip `cs`: (physical offset 0..2111
        in main + spare, bit 0..7) pairs; written through to the image."""
        pairs = list(bits)
        if not pairs:
            raise FaultValueError("flip bits: give at least one OFFSET.BIT")
        seen: set[tuple[int, int]] = set()
        for pair in pairs:
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise FaultValueError(f"flip bits: {pair!r} is not an (offset, bit) pair")
            offset = _uint("flip bits: offset", pair[0], PAGE_TOTAL - 1)
            bit = _uint("flip bits: bit", pair[1], 7)
            if (offset, bit) in seen:
                raise FaultValueError(
                    f"flip bits: {offset}.{bit} is given twice (two flips would cancel)"
                )
            seen.add((offset, bit))
        chip = self.chip(cs)
        _uint("page", page, U64_MAX)
        if page >= chip.pages:
            raise FaultValueError(
                f"page {page} is beyond nand{cs} ({chip.blocks} blocks: pages 0..{chip.pages - 1})"
            )
        spec = f"{page}:" + ",".join(f"{o}.{b}" for o, b in pairs)
        self._qom_set(chip.path, "flip-bits", spec)

    def mark_bad(self, cs: int, block: int) -> None:
        """Mark a block of chip `cs` bad (byte 0 of the spare of its first page)."""
        chip = self.chip(cs)
        _uint("block", block, U64_MAX)
        if block >= chip.blocks:
            raise FaultValueError(f"block {block} is beyond nand{cs} (blocks 0..{chip.blocks - 1})")
        self._qom_set(chip.path, "mark-bad", block)

    def fail_next_program(self, cs: int) -> None:
        """The next page program of chip `cs` ends with status FAIL, the page unchanged."""
        self._qom_set(self.chip(cs).path, "fail-next-program", True)

    def fail_next_erase(self, cs: int) -> None:
        """The next block erase of chip `cs` ends with status FAIL, the block unchanged."""
        self._qom_set(self.chip(cs).path, "fail-next-erase", True)

    def power_cut(self, cs: int) -> None:
        """Cut chip `cs`'s power: at once during a program/erase, otherwise
        halfway through the next one. The chip stays off until a system reset."""
        self._qom_set(self.chip(cs).path, "power-cut", True)

    # --- reading back ------------------------------------------------------------

    def counters(self) -> dict[str, dict[str, int]]:
        """Every read-only counter: ``{"sbox": {...}, "mchan0".."mchan3": {...},
        "nfc": {...}, "nand0": {...}, ...}`` (only the chips that exist)."""
        result: dict[str, dict[str, int]] = {}
        targets = [("sbox", SBOX, "sbox")]
        targets += [(f"mchan{n}", mchan_path(n), "mchan") for n in range(NUM_MCHAN)]
        targets.append(("nfc", NFC, "nfc"))
        targets += [(f"nand{cs}", chip_path(cs), "nand") for cs in self.chips()]
        if self._has_loopback():
            targets.append(("loopback", LOOPBACK, "loopback"))
        for name, path, kind in targets:
            result[name] = {prop: int(self.qom_get(path, prop)) for prop in COUNTERS[kind]}
        return result

    def _has_loopback(self) -> bool:
        """Boards with the sbox loopback test device (port 4) have it as a child."""
        try:
            children = self._qmp("qom-list", {"path": MACHINE})
        except QmpCommandError as e:
            raise FaultError(f"cannot list {MACHINE}: {e.desc}") from None
        return any(str(c.get("name")) == "loopback" for c in children)

    def settings(self) -> dict[str, dict[str, Any]]:
        """The current fault settings (same layout as `counters`)."""
        result: dict[str, dict[str, Any]] = {
            "sbox": {
                p: self.qom_get(SBOX, p)
                for p in ("latency-ns", "jitter", "jitter-ns", "seed", "bandwidth")
            }
        }
        for n in range(NUM_MCHAN):
            result[f"mchan{n}"] = {"irq-delay-ns": self.qom_get(mchan_path(n), "irq-delay-ns")}
        props = (
            *CHIP_TIMINGS.values(),
            "fail-next-program",
            "fail-next-erase",
            "power-cut",
            "mark-bad",
            "flip-bits",
        )
        for cs, chip in self.chips().items():
            entry: dict[str, Any] = {"blocks": chip.blocks}
            entry.update({p: self.qom_get(chip.path, p) for p in props})
            result[f"nand{cs}"] = entry
        return result
