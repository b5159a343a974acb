# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Two DMA clients, the NAND controller (sbox port 3) and the loopback test
device (port 4, module tangox-loopback-test), per tear-down policy.

`client` and `irq` share the memory channels: NAND writes and loopback runs
interleave in one boot. `static` binds a memory channel to the first port
that uses it, for good. The board has two channel pairs, so each client
takes one and both keep working, with every channel then bound (and the
loopback's kept route out of port 4 loses a reply larger than the write
channel's FIFO, which arrives before the transfer back starts). On the
same board with one channel pair (the second disabled in a copy of the
device tree), the NAND controller takes the pair and the loopback client
is refused by the DMA driver; back to `client`, it is served again.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tangolab.experiment.cells import DMA_STATS, POLICY_PARAM, CellResult, CellSpec, measure
from tangolab.machine import Machine
from tangolab.nand.layout import EccLayout, Geometry, compute_layout

BLOCKS = 64
GEO = Geometry(blocks=BLOCKS)
LAYOUT = compute_layout(GEO, EccLayout())
PAGES = 4

RUN = "/sys/kernel/debug/tangox-loopback/run"
LOOPBACK = "/machine/loopback"
SECOND_PAIR = ("dma-channel@40180", "dma-channel@401c0")
DMA_NODE = "/soc/dma-controller@40000"
REFUSAL = "dma0chan1: every mem-to-dev channel is statically bound to another port (-16)"

pytestmark = pytest.mark.tangolab(blocks=BLOCKS, icount=4)


@dataclasses.dataclass(frozen=True)
class Chan:
    id: int
    dir: str
    routed: int
    bound: bool
    transfers: int


class Clients:
    """The two DMA clients of one booted guest."""

    def __init__(self, machine: Machine, image: Path) -> None:
        self.m = machine
        self.image = image
        self.block = 1
        machine.run("dmesg -n 1", timeout=30, check=True)
        machine.run("modprobe tangox_loopback_test", timeout=60, check=True)
        assert "loopback test client on dma0chan1" in self.dmesg()

    def policy(self, policy: str) -> None:
        self.m.run(f"echo {policy} > {POLICY_PARAM}", timeout=30, check=True)

    def nand(self, policy: str, seed: int) -> CellResult:
        """Write, read back and check on the host PAGES pages of a fresh block."""
        start = self.block * GEO.pages_per_block
        self.block += 1
        spec = CellSpec(policy=policy, latency_ns=0, seed=seed, pages=PAGES, jitter="none")
        return measure(self.m, spec, self.image, LAYOUT, start)

    def loopback(self, length: int) -> tuple[int, str]:
        """One run of the loopback test client: (shell status, result line)."""
        res = self.m.run(f"echo {length} > {RUN}; echo status=$?; cat {RUN}", timeout=60)
        found = re.search(r"status=(\d+)\s*\n(.*)", res.output.replace("\r", ""))
        assert found, res.output
        return int(found.group(1)), found.group(2).strip()

    def loopback_bytes(self) -> int:
        value = self.m.qom_get(LOOPBACK, "bytes")
        assert isinstance(value, int)
        return value

    def stats(self) -> list[Chan]:
        out = self.m.run(f"cat {DMA_STATS}", timeout=30, check=True).output
        chans = []
        for line in (raw.strip() for raw in out.splitlines()):
            if line.startswith("chan"):
                f = dict(kv.split("=", 1) for kv in line.split()[1:])
                chans.append(
                    Chan(
                        int(line.split()[0][4:]),
                        f["dir"],
                        int(f["routed"]),
                        f["bound"] == "1",
                        int(f["transfers"]),
                    )
                )
        return chans

    def dmesg(self) -> str:
        """Kernel messages since the last call."""
        return self.m.run("dmesg -c", timeout=30, check=True).output


def intact(c: CellResult) -> bool:
    return (
        c.intact == c.pages
        and c.write_errors == 0
        and c.readback_mismatch == 0
        and c.bytes_dropped == 0
    )


@pytest.fixture
def clients(tango_machine: Machine, tango_nand_image: Path) -> Clients:
    return Clients(tango_machine, tango_nand_image)


@pytest.fixture(scope="class")
def class_clients(tango_machine_class: Machine) -> Clients:
    assert tango_machine_class.nand is not None
    return Clients(tango_machine_class, tango_machine_class.nand)


class TestSharedChannels:
    """`client`, then `irq`, in one boot: neither binds a channel."""

    @pytest.mark.parametrize("policy", ["client", "irq"])
    def test_shared_channels_serve_both_clients(self, class_clients: Clients, policy: str) -> None:
        clients = class_clients
        before = clients.loopback_bytes()
        moved = 0
        for seed, length in ((1, 1), (2, 4096), (3, 8192)):
            cell = clients.nand(policy, seed)
            assert intact(cell), cell
            assert clients.loopback(length) == (0, f"ok len={length}")
            moved += length
        assert clients.loopback_bytes() - before == moved
        assert not any(c.bound for c in clients.stats())


def test_static_gives_each_client_a_pair_for_good(clients: Clients) -> None:
    cell = clients.nand("static", 4)
    assert intact(cell), cell
    assert clients.loopback(4096) == (0, "ok len=4096")
    # NAND took the first free pair, the loopback the other: nothing is left.
    assert [(c.id, c.routed, c.bound) for c in clients.stats()] == [
        (0, 3, True),
        (1, 3, True),
        (2, 4, True),
        (3, 4, True),
    ]
    cell = clients.nand("static", 5)
    assert intact(cell), cell
    assert clients.loopback(4096) == (0, "ok len=4096")
    assert [c.routed for c in clients.stats()] == [3, 3, 4, 4]

    # With the route kept, the device's reply reaches the box before the
    # transfer back is started: it waits there (flow control), nothing is
    # lost (the write channel used to hold only 4 KiB and drop the rest).
    dropped = clients.m.qom_get("/machine/sbox", "bytes-dropped")
    assert clients.loopback(8192) == (0, "ok len=8192")
    assert clients.m.qom_get("/machine/sbox", "bytes-dropped") == dropped


class TestOneChannelPair:
    """The board with its second memory channel pair disabled in the device tree."""

    @pytest.fixture
    def tangolab_artifacts(self, tangolab_artifacts: Any, tmp_path: Path) -> Any:
        fdtput = shutil.which("fdtput")
        if fdtput is None:
            pytest.fail("fdtput (Debian package device-tree-compiler) is needed")
        dtb = tmp_path / "tango4-one-pair.dtb"
        shutil.copyfile(tangolab_artifacts.dtb, dtb)
        for node in SECOND_PAIR:
            subprocess.run(
                [fdtput, "-t", "s", str(dtb), f"{DMA_NODE}/{node}", "status", "disabled"],
                check=True,
            )
        return dataclasses.replace(tangolab_artifacts, dtb=dtb)

    def test_static_cannot_serve_the_second_client(self, clients: Clients) -> None:
        assert [(c.id, c.dir) for c in clients.stats()] == [(0, "mem-to-dev"), (1, "dev-to-mem")]

        # Shared, the one pair serves both clients in turn.
        cell = clients.nand("client", 6)
        assert intact(cell), cell
        assert clients.loopback(4096) == (0, "ok len=4096")
        cell = clients.nand("client", 7)
        assert intact(cell), cell
        clients.dmesg()

        # static: the NAND controller's transfers bind the pair to port 3.
        cell = clients.nand("static", 8)
        assert intact(cell), cell
        assert [(c.routed, c.bound) for c in clients.stats()] == [(3, True), (3, True)]
        before = clients.loopback_bytes()
        status, result = clients.loopback(4096)
        assert status != 0
        assert result == "error=-5 stage=tx-prep len=4096"
        log = clients.dmesg()
        assert REFUSAL in log, log
        assert "4096 bytes: tx-prep failed (-5)" in log, log
        assert clients.loopback_bytes() == before
        # ... and NAND still works on its bound pair.
        cell = clients.nand("static", 9)
        assert intact(cell), cell
        assert [(c.routed, c.bound) for c in clients.stats()] == [(3, True), (3, True)]

        # Back to sharing: the routes go and the loopback is served again.
        clients.policy("client")
        assert clients.loopback(4096) == (0, "ok len=4096")
        assert not any(c.bound for c in clients.stats())
        cell = clients.nand("client", 10)
        assert intact(cell), cell
