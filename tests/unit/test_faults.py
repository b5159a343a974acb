# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab.faults and `tangolab inject` against an in-process fake of QEMU's QOM.

`FakeQom` answers qom-list / qom-get / qom-set for the tango4 objects with the
limits of HARDWARE.md and records every command, so the tests can check both
what reaches QEMU and that nothing does for a bad value. The same API runs
against the real models in tests/models/test_faults_qmp.py.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import pytest

from tangolab.cli import main
from tangolab.commands import inject
from tangolab.errors import QmpCommandError, TangolabError, UsageError
from tangolab.faults import FaultError, Faults, FaultValueError, parse_bit_list


class FakeQom:
    """QOM of a tango4 machine as far as fault injection sees it."""

    def __init__(self, chips: Mapping[int, int] = {0: 64}) -> None:
        self.props: dict[str, dict[str, Any]] = {
            "/machine/sbox": {
                "latency-ns": 0,
                "jitter": "none",
                "jitter-ns": 0,
                "seed": 0,
                "bandwidth": 0,
                "bytes-moved": 11,
                "bytes-dropped": 12,
                "bytes-in-flight": 13,
                "teardowns-in-flight": 14,
                "stalls": 15,
            },
            "/machine/nfc": {
                "ecc-corrected": 21,
                "ecc-failed": 22,
                "refused": 23,
                "aborts": 24,
                "bytes-flushed": 25,
            },
        }
        for n in range(4):
            self.props[f"/machine/mchan{n}"] = {
                "irq-delay-ns": 0,
                "bytes": 100 + n,
                "transfers": 200 + n,
                "errors": 300 + n,
                "refused": 400 + n,
                "stops": 700 + n,
            }
        for cs, blocks in chips.items():
            self.props[f"/machine/nand{cs}"] = {
                "blocks": blocks,
                "t-r-ns": 25000,
                "t-prog-ns": 200000,
                "t-bers-ns": 700000,
                "flip-bits": "",
                "mark-bad": 0xFFFFFFFF,
                "fail-next-program": False,
                "fail-next-erase": False,
                "power-cut": False,
                "pages-programmed": 500 + cs,
                "blocks-erased": 600 + cs,
            }
        self.read_only = {
            "bytes-moved", "bytes-dropped", "bytes-in-flight", "teardowns-in-flight", "stalls",
            "ecc-corrected", "ecc-failed", "refused", "aborts", "bytes-flushed", "stops",
            "bytes", "transfers", "errors", "blocks", "pages-programmed", "blocks-erased",
        }  # fmt: skip
        self.log: list[tuple[str, dict[str, Any]]] = []
        #: (path, property) pairs whose qom-set QEMU refuses regardless of the value
        self.refuse: set[tuple[str, str]] = set()

    @property
    def sets(self) -> list[tuple[str, str, Any]]:
        return [(a["path"], a["property"], a["value"]) for c, a in self.log if c == "qom-set"]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return json.loads(json.dumps(self.props))  # type: ignore[no-any-return]

    def __call__(self, cmd: str, args: Mapping[str, object]) -> Any:
        self.log.append((cmd, dict(args)))
        if cmd == "qom-list":
            assert args["path"] == "/machine"
            children = [{"name": "peripheral", "type": "child<container>"}]
            for path in self.props:
                name = path.rsplit("/", 1)[1]
                kind = {"sbox": "tango4-sbox", "nfc": "tango4-nfc"}.get(name)
                if kind is None:
                    kind = "onfi-nand" if name.startswith("nand") else "tango4-mchan"
                children.append({"name": name, "type": f"child<{kind}>"})
            children.append({"name": "nand7-decoy", "type": "child<onfi-nand>"})
            return children
        path, prop = str(args["path"]), str(args["property"])
        obj = self.props.get(path)
        if obj is None:
            raise QmpCommandError(cmd, "DeviceNotFound", f"Device '{path}' not found")
        if prop not in obj:
            raise QmpCommandError(cmd, "GenericError", f"Property '{prop}' not found")
        if cmd == "qom-get":
            return obj[prop]
        assert cmd == "qom-set", cmd
        value = args["value"]
        if prop in self.read_only:
            raise QmpCommandError(cmd, "GenericError", "Insufficient permission")
        if (path, prop) in self.refuse:
            raise QmpCommandError(cmd, "GenericError", f"{prop}: refused by the test")
        limits = {"latency-ns": 10**9, "irq-delay-ns": 10**9, "t-r-ns": 65535000,
                  "t-prog-ns": 65535000, "t-bers-ns": 65535000}  # fmt: skip
        if prop in limits and not (type(value) is int and 0 <= value <= limits[prop]):
            raise QmpCommandError(cmd, "GenericError", f"{prop} must be at most {limits[prop]}")
        if prop == "bandwidth" and not (type(value) is int and (value == 0 or value >= 1024)):
            raise QmpCommandError(cmd, "GenericError", "bandwidth must be 0 or >= 1024")
        if prop == "mark-bad" and not (type(value) is int and value < obj["blocks"]):
            raise QmpCommandError(cmd, "GenericError", "mark-bad: beyond the chip")
        if prop in ("fail-next-program", "fail-next-erase", "power-cut") and value is not True:
            raise QmpCommandError(cmd, "GenericError", "the tests only set these to true")
        if prop == "flip-bits":
            assert isinstance(value, str)
            page = int(value.split(":")[0])
            if page >= obj["blocks"] * 64:
                raise QmpCommandError(cmd, "GenericError", f"flip-bits: page {page} is beyond")
        obj[prop] = value
        return {}


@pytest.fixture
def qom() -> FakeQom:
    return FakeQom({0: 64, 2: 16})


@pytest.fixture
def f(qom: FakeQom) -> Faults:
    return Faults(qom)


# --- the API -----------------------------------------------------------------------


def test_values_reach_the_right_properties(f: Faults, qom: FakeQom) -> None:
    f.set_route_latency("50us")
    f.set_route_bandwidth("10MB/s")
    f.set_irq_delay(2, 7000)
    f.set_chip_timing(2, tPROG="300us", tBERS=3_000_000)
    f.flip_bits(0, 12, [(100, 3), (0x83F, 0)])
    f.mark_bad(2, 15)
    f.fail_next_program(0)
    f.fail_next_erase(2)
    f.power_cut(0)
    assert qom.sets == [
        ("/machine/sbox", "latency-ns", 50_000),
        ("/machine/sbox", "bandwidth", 10_000_000),
        ("/machine/mchan2", "irq-delay-ns", 7000),
        ("/machine/nand2", "t-prog-ns", 300_000),
        ("/machine/nand2", "t-bers-ns", 3_000_000),
        ("/machine/nand0", "flip-bits", "12:100.3,2111.0"),
        ("/machine/nand2", "mark-bad", 15),
        ("/machine/nand0", "fail-next-program", True),
        ("/machine/nand2", "fail-next-erase", True),
        ("/machine/nand0", "power-cut", True),
    ]
    assert qom.props["/machine/mchan1"]["irq-delay-ns"] == 0


def test_irq_delay_all_channels(f: Faults, qom: FakeQom) -> None:
    f.set_irq_delay("all", "20us")
    assert [qom.props[f"/machine/mchan{n}"]["irq-delay-ns"] for n in range(4)] == [20_000] * 4


def test_limits_are_inclusive(f: Faults, qom: FakeQom) -> None:
    f.set_route_latency("1s")
    f.set_route_bandwidth(1024)
    f.set_route_bandwidth(0)
    f.set_irq_delay(3, 10**9)
    f.set_chip_timing(0, tR="65535us")
    f.flip_bits(2, 16 * 64 - 1, [(2111, 7)])
    f.mark_bad(2, 0)
    assert qom.props["/machine/nand0"]["t-r-ns"] == 65_535_000
    assert qom.props["/machine/nand2"]["flip-bits"] == "1023:2111.7"


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda f: f.set_route_latency("1001ms"), "too long: at most 1s"),
        (lambda f: f.set_route_latency(-1), "out of range"),
        (lambda f: f.set_route_latency("50"), "needs a unit"),
        (lambda f: f.set_route_latency(True), "must be an integer"),
        (lambda f: f.set_route_latency(1.5), "must be an integer"),
        (lambda f: f.set_route_bandwidth(1023), "too low"),
        (lambda f: f.set_route_bandwidth("1000B/s"), "too low"),
        (lambda f: f.set_route_bandwidth("10Mb/s"), "unknown unit"),
        (lambda f: f.set_route_bandwidth(1 << 64), "out of range"),
        (lambda f: f.set_irq_delay(4, 0), "memory channel 4 out of range 0..3"),
        (lambda f: f.set_irq_delay("2", 0), "give 0..3 or 'all'"),
        (lambda f: f.set_irq_delay("all", "2s"), "too long"),
        (lambda f: f.set_chip_timing(0), "at least one of tR"),
        (lambda f: f.set_chip_timing(0, tPROG="65536us"), "tPROG 65536us"),
        (lambda f: f.set_chip_timing(1, tR="1us"), "no NAND chip on chip select 1"),
        (lambda f: f.set_chip_timing(4, tR="1us"), "chip select 4 out of range 0..3"),
        (lambda f: f.flip_bits(0, 0, []), "at least one"),
        (lambda f: f.flip_bits(0, 0, [(2112, 0)]), "offset 2112 out of range 0..2111"),
        (lambda f: f.flip_bits(0, 0, [(0, 8)]), "bit 8 out of range 0..7"),
        (lambda f: f.flip_bits(0, 0, [(5, 1), (5, 1)]), "given twice"),
        (lambda f: f.flip_bits(0, 0, [(5,)]), "not an \\(offset, bit\\) pair"),
        (lambda f: f.flip_bits(0, 4096, [(5, 1)]), "page 4096 is beyond nand0"),
        (lambda f: f.flip_bits(2, 1024, [(5, 1)]), r"beyond nand2 \(16 blocks: pages 0..1023\)"),
        (lambda f: f.flip_bits(3, 0, [(5, 1)]), "no NAND chip on chip select 3"),
        (lambda f: f.mark_bad(2, 16), "block 16 is beyond nand2"),
        (lambda f: f.mark_bad(0, -1), "out of range"),
        (lambda f: f.fail_next_program(1), "chips on: 0, 2"),
        (lambda f: f.fail_next_erase(-1), "out of range"),
        (lambda f: f.power_cut(3), "no NAND chip"),
    ],
)
def test_bad_values_are_refused_before_sending(
    f: Faults, qom: FakeQom, call: Any, message: str
) -> None:
    before = qom.snapshot()
    with pytest.raises(FaultValueError, match=message) as info:
        call(f)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)
    assert qom.sets == []
    assert qom.props == before


def test_qemu_refusal_is_a_clear_error(f: Faults, qom: FakeQom) -> None:
    qom.refuse.add(("/machine/sbox", "latency-ns"))
    with pytest.raises(FaultError, match=r"QEMU refused latency-ns = 5us on /machine/sbox: "
                       r"latency-ns: refused by the test"):  # fmt: skip
        f.set_route_latency("5us")
    assert qom.props["/machine/sbox"]["latency-ns"] == 0


def test_refusal_midway_restores_the_earlier_settings(f: Faults, qom: FakeQom) -> None:
    f.set_irq_delay(0, 1000)
    qom.refuse.add(("/machine/mchan2", "irq-delay-ns"))
    with pytest.raises(FaultError, match="mchan2"):
        f.set_irq_delay("all", 5000)
    assert [qom.props[f"/machine/mchan{n}"]["irq-delay-ns"] for n in range(4)] == [1000, 0, 0, 0]
    qom.refuse = {("/machine/nand0", "t-bers-ns")}
    with pytest.raises(FaultError, match="t-bers-ns"):
        f.set_chip_timing(0, tR="1us", tPROG="2us", tBERS="3us")
    assert qom.props["/machine/nand0"]["t-r-ns"] == 25000
    assert qom.props["/machine/nand0"]["t-prog-ns"] == 200000


def test_chips_and_geometry(f: Faults, qom: FakeQom) -> None:
    chips = f.chips()
    assert sorted(chips) == [0, 2]
    assert chips[2].blocks == 16 and chips[2].pages == 1024 and chips[2].path == "/machine/nand2"
    lists = sum(1 for c, _ in qom.log if c == "qom-list")
    f.chip(0)
    f.chip(2)
    assert sum(1 for c, _ in qom.log if c == "qom-list") == lists  # cached
    f.chips(refresh=True)
    assert sum(1 for c, _ in qom.log if c == "qom-list") == lists + 1


def test_counters_has_every_counter(f: Faults) -> None:
    c = f.counters()
    assert list(c) == ["sbox", "mchan0", "mchan1", "mchan2", "mchan3", "nfc", "nand0", "nand2"]
    assert c["sbox"] == {
        "bytes-moved": 11,
        "bytes-dropped": 12,
        "bytes-in-flight": 13,
        "teardowns-in-flight": 14,
        "stalls": 15,
    }
    assert c["mchan3"] == {
        "bytes": 103,
        "transfers": 203,
        "errors": 303,
        "refused": 403,
        "stops": 703,
    }
    assert c["nfc"] == {
        "ecc-corrected": 21,
        "ecc-failed": 22,
        "refused": 23,
        "aborts": 24,
        "bytes-flushed": 25,
    }
    assert c["nand2"] == {"pages-programmed": 502, "blocks-erased": 602}


def test_settings(f: Faults) -> None:
    f.set_route_latency(5)
    s = f.settings()
    assert s["sbox"] == {
        "latency-ns": 5,
        "jitter": "none",
        "jitter-ns": 0,
        "seed": 0,
        "bandwidth": 0,
    }
    assert s["mchan0"] == {"irq-delay-ns": 0}
    assert s["nand2"]["blocks"] == 16 and s["nand2"]["mark-bad"] == 0xFFFFFFFF
    assert set(s) == {"sbox", "mchan0", "mchan1", "mchan2", "mchan3", "nand0", "nand2"}


def test_jitter_and_seed(f: Faults) -> None:
    f.set_route_jitter("exponential", "10us")
    f.set_route_seed(5)
    s = f.settings()["sbox"]
    assert (s["jitter"], s["jitter-ns"], s["seed"]) == ("exponential", 10_000, 5)
    with pytest.raises(FaultValueError, match="choose from none, uniform, exponential"):
        f.set_route_jitter("gaussian", 1)
    with pytest.raises(FaultValueError):
        f.set_route_jitter("uniform", "2s")
    with pytest.raises(FaultValueError):
        f.set_route_seed(-1)
    assert f.settings()["sbox"]["jitter"] == "exponential"  # nothing sent


def test_targets() -> None:
    qom = FakeQom()

    class WithQmp:
        def qmp(self, cmd: str, args: Mapping[str, object] | None = None, /) -> Any:
            return qom(cmd, args or {})

    Faults(WithQmp()).set_route_latency(1)  # a Machine-like object
    assert qom.sets == [("/machine/sbox", "latency-ns", 1)]
    with pytest.raises(TypeError, match="needs a Machine"):
        Faults(42)  # type: ignore[arg-type]


def test_parse_bit_list() -> None:
    assert parse_bit_list("100.3,200.0") == [(100, 3), (200, 0)]
    assert parse_bit_list(" 0x10.7 ") == [(16, 7)]
    for bad in ("", "100", "100.3,", "a.1", "1.2.3", "-1.0", "100.3;200.0"):
        with pytest.raises(FaultValueError, match=r"OFFSET\.BIT"):
            parse_bit_list(bad)


def test_for_instance_without_instances(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGOLAB_BUILD", str(tmp_path))
    with pytest.raises(TangolabError, match="no running tangolab instance"):
        Faults.for_instance()
    with pytest.raises(TangolabError, match="no running instance named 'x'"):
        Faults.for_instance("x")


# --- tangolab inject ------------------------------------------------------------------


@pytest.fixture
def cli_qom(monkeypatch: pytest.MonkeyPatch) -> FakeQom:
    """`tangolab inject` talks to a FakeQom; the instance name it asked for is recorded."""
    qom = FakeQom({0: 64, 1: 1024})
    qom.opened = []  # type: ignore[attr-defined]

    def fake_open(args: argparse.Namespace) -> Faults:
        qom.opened.append((args.instance, args.timeout))  # type: ignore[attr-defined]
        return Faults(qom)

    monkeypatch.setattr(inject, "open_faults", fake_open)
    return qom


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inject", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv,expected,line",
    [
        (["latency", "50us"], [("/machine/sbox", "latency-ns", 50_000)], "latency set to 50us"),
        (["bandwidth", "512KiB/s"], [("/machine/sbox", "bandwidth", 524_288)], "512KiB/s"),
        (["bandwidth", "unlimited"], [("/machine/sbox", "bandwidth", 0)], "unlimited"),
        (
            ["irq-delay", "--channel", "1", "20us"],
            [("/machine/mchan1", "irq-delay-ns", 20_000)],
            "memory channel 1 set to 20us",
        ),
        (
            ["irq-delay", "3ms"],
            [(f"/machine/mchan{n}", "irq-delay-ns", 3_000_000) for n in range(4)],
            "every memory channel",
        ),
        (
            ["timing", "--cs", "1", "--tprog", "300us", "--tr", "30us"],
            [("/machine/nand1", "t-r-ns", 30_000), ("/machine/nand1", "t-prog-ns", 300_000)],
            "nand1: tR 30us, tPROG 300us",
        ),
        (
            ["flip", "--cs", "0", "--page", "12", "--bits", "100.3,200.0"],
            [("/machine/nand0", "flip-bits", "12:100.3,200.0")],
            "flipped 2 bit(s) of page 12",
        ),
        (["bad-block", "--cs", "1", "1023"], [("/machine/nand1", "mark-bad", 1023)], "bad"),
        (["fail-program", "--cs", "0"], [("/machine/nand0", "fail-next-program", True)], "fail"),
        (["fail-erase", "--cs", "1"], [("/machine/nand1", "fail-next-erase", True)], "erase"),
        (["power-cut", "--cs", "0"], [("/machine/nand0", "power-cut", True)], "power cut"),
    ],
)
def test_inject_commands(
    cli_qom: FakeQom,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: list[tuple[str, str, Any]],
    line: str,
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert cli_qom.sets == expected
    assert line in out


def test_inject_instance_option_before_or_after_the_action(
    cli_qom: FakeQom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--instance", "one", "latency", "1us")[0] == 0
    assert run(capsys, "latency", "-i", "two", "1us")[0] == 0
    assert run(capsys, "-i", "three", "--timeout", "5", "latency", "1us")[0] == 0
    assert run(capsys, "latency", "1us")[0] == 0
    assert cli_qom.opened == [("one", 30.0), ("two", 30.0), ("three", 5.0), (None, 30.0)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "argv,message,connects",
    [
        (["latency", "50"], "needs a unit", False),
        (["latency", "2s"], "too long", True),
        (["bandwidth", "10"], "needs a unit", False),
        (["bandwidth", "100B/s"], "too low", True),
        (["irq-delay", "--channel", "4", "1us"], "memory channels are 0..3", False),
        (["irq-delay", "--channel", "x", "1us"], "--channel 'x'", False),
        (["timing", "--cs", "0"], "at least one of --tr", False),
        (["timing", "--cs", "0", "--tbers", "66ms"], "tBERS 66ms", True),
        (["timing", "--cs", "2", "--tr", "1us"], "no NAND chip on chip select 2", True),
        (["timing", "--cs", "4", "--tr", "1us"], "chip selects 0..3", False),
        (["flip", "--cs", "0", "--page", "4096", "--bits", "1.1"], "page 4096 is beyond", True),
        (["flip", "--cs", "0", "--page", "1", "--bits", "1.8"], "bit 8 out of range", True),
        (["flip", "--cs", "0", "--page", "1", "--bits", "1-1"], "OFFSET.BIT", False),
        (["flip", "--cs", "0", "--page", "-1", "--bits", "1.1"], "negative", False),
        (["bad-block", "--cs", "0", "64"], "block 64 is beyond nand0", True),
        (["bad-block", "--cs", "0", "x"], "BLOCK 'x'", False),
        (["power-cut", "--cs", "3"], "no NAND chip on chip select 3", True),
        (["--timeout", "0", "counters"], "--timeout must be positive", False),
    ],
)
def test_inject_bad_values_one_line_and_nothing_set(
    cli_qom: FakeQom,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    connects: bool,
) -> None:
    before = cli_qom.snapshot()
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and message in err
    assert cli_qom.sets == [] and cli_qom.props == before
    assert bool(cli_qom.opened) == connects  # type: ignore[attr-defined]


def test_inject_qemu_refusal_exits_1(cli_qom: FakeQom, capsys: pytest.CaptureFixture[str]) -> None:
    cli_qom.refuse.add(("/machine/nand0", "power-cut"))
    code, out, err = run(capsys, "power-cut", "--cs", "0")
    assert code == 1 and out == ""
    assert err.strip() == (
        "error: QEMU refused power-cut = True on /machine/nand0: power-cut: refused by the test"
    )


def test_inject_counters_and_show(cli_qom: FakeQom, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "counters", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sbox"]["teardowns-in-flight"] == 14 and data["nand1"]["blocks-erased"] == 601
    code, out, _ = run(capsys, "counters")
    assert code == 0 and "teardowns-in-flight" in out and "ecc-failed" in out
    code, out, _ = run(capsys, "show", "--json")
    assert code == 0 and json.loads(out)["nand1"]["t-prog-ns"] == 200000
    assert cli_qom.sets == []


def test_inject_without_instance_is_one_line(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANGOLAB_BUILD", str(tmp_path))
    code, out, err = run(capsys, "--instance", "nope", "latency", "1us")
    assert code == 1 and out == ""
    assert err.strip() == "error: no running instance named 'nope' (running: none)"
