# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The NAND stack in the guest: driver probe, geometry, the kernel's MTD
tests and mtd-utils, with the default (client) tear-down policy."""

from __future__ import annotations

import re

import pytest

from tangolab.experiment.cells import DMA_STATS, POLICY_PARAM
from tangolab.machine import Machine

pytestmark = pytest.mark.tangolab(blocks=32)

BLOCKS = 32


def run_ok(m: Machine, cmd: str, timeout: float = 300) -> str:
    res = m.run(cmd, timeout=timeout)
    assert res.status == 0, f"{cmd!r} failed ({res.status}):\n{res.output[-3000:]}"
    return res.output


def test_drivers_probe(tango_machine_module: Machine) -> None:
    m = tango_machine_module
    out = run_ok(
        m,
        "cat /sys/class/mtd/mtd0/type /sys/class/mtd/mtd0/writesize "
        "/sys/class/mtd/mtd0/oobsize /sys/class/mtd/mtd0/erasesize "
        "/sys/class/mtd/mtd0/size /sys/class/mtd/mtd0/ecc_strength "
        "/sys/class/mtd/mtd0/ecc_step_size",
    )
    assert out.split() == ["nand", "2048", "64", "131072", str(BLOCKS * 131072), "14", "1024"]
    assert run_ok(m, f"cat {POLICY_PARAM}").strip() == "client"
    # dmaengine's summary: the NAND controller holds its channel, the memory
    # channels' counters follow
    summary = run_ok(m, f"cat {DMA_STATS}")
    assert re.search(r"dma0chan0\s+\| port 3, 2c000\.nand-controller:rxtx", summary), summary
    assert re.search(r"chan0 dir=mem-to-dev port=1 state=free .*transfers=\d+", summary), summary


def test_mtdinfo_agrees(tango_machine_module: Machine) -> None:
    out = run_ok(tango_machine_module, "mtdinfo /dev/mtd0")
    assert re.search(r"Type:\s+nand", out)
    assert re.search(r"Eraseblock size:\s+131072 bytes", out)
    assert re.search(rf"Amount of eraseblocks:\s+{BLOCKS} ", out)
    assert re.search(r"Minimum input/output unit size:\s+2048 bytes", out)
    assert re.search(r"OOB size:\s+64 bytes", out)


@pytest.mark.parametrize(
    "module,args",
    [
        ("mtd_readtest", ""),
        ("mtd_pagetest", ""),
        ("mtd_oobtest", ""),
        ("mtd_subpagetest", ""),
        ("mtd_stresstest", "count=200"),
        ("mtd_nandbiterrs", ""),
    ],
)
def test_kernel_mtd_test_module(tango_machine_module: Machine, module: str, args: str) -> None:
    m = tango_machine_module
    run_ok(m, "dmesg -c > /dev/null")
    res = m.run(
        f"modprobe {module} dev=0 {args}; echo modprobe=$?; rmmod {module} 2>/dev/null; dmesg",
        timeout=900,
    )
    log = res.output
    status = re.search(r"modprobe=(\d+)", log)
    assert status, log[-2000:]
    if module == "mtd_subpagetest" and "not supported" in log.lower():
        pytest.skip("no sub-page writes on this controller")
    if module == "mtd_oobtest":
        # The free OOB bytes are covered by the ECC of the page's first step:
        # an OOB-only write to them is refused (they go with the page data),
        # so the test stops at its first write, and nothing crashes.
        assert status.group(1) != "0", log[-3000:]
        assert "mtd_oobtest: error: writeoob failed at 0x" in log, log[-3000:]
        assert "Oops" not in log and "BUG" not in log, log[-3000:]
        return
    # Every MTD test module ends with "finished with N errors", "finished
    # successfully" or plain "finished"; mtd_nandbiterrs then returns -EIO on
    # purpose so that it unloads, having driven reads past the ECC strength.
    assert re.search(rf"{module}: finished\b", log), log[-3000:]
    assert not re.search(r"finished with [1-9]\d* errors", log), log[-3000:]
    if module != "mtd_nandbiterrs":
        assert status.group(1) == "0", log[-3000:]
    else:
        # the ECC strength is 14: 14 flips per step corrected, 15 not (EBADMSG)
        assert "Successfully corrected 14 bit errors per subpage" in log, log[-3000:]
        assert "After 15 biterrors per subpage, read reported error -74" in log, log[-3000:]


def test_nandtest(tango_machine_module: Machine) -> None:
    out = run_ok(tango_machine_module, "nandtest -p 1 -s 7 /dev/mtd0", timeout=900)
    assert "Finished pass 1 successfully" in out, out[-2000:]
