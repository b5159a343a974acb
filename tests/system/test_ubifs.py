# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""UBI and UBIFS on the emulated NAND survive a QEMU restart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tangolab.machine import Machine
from tangolab.nand.image import write_erased_image
from tangolab.nand.layout import Geometry

BLOCKS = 64


def run_ok(m: Machine, cmd: str, timeout: float = 300) -> str:
    res = m.run(cmd, timeout=timeout)
    assert res.status == 0, f"{cmd!r} failed ({res.status}):\n{res.output[-3000:]}"
    return res.output


def md5_lines(output: str) -> list[str]:
    return sorted(set(re.findall(r"^[0-9a-f]{32}  \S+$", output, re.M)))


def boot(artifacts: Any, image: Path) -> Machine:
    return Machine(artifacts, nand=image, extra_args=["-global", f"onfi-nand.blocks={BLOCKS}"])


WRITE = (
    "ubiattach -m 0 -d 0 && ubimkvol /dev/ubi0 -N data -m && "
    "mount -t ubifs ubi0:data /mnt && "
    "dd if=/dev/urandom of=/mnt/big bs=1024 count=1500 2>/dev/null && "
    "mkdir -p /mnt/dir && for i in 1 2 3 4 5 6 7 8; do echo file $i > /mnt/dir/f$i; done && "
    "sync && (cd /mnt && md5sum big dir/*) > /tmp/sums && cat /tmp/sums && "
    "umount /mnt && ubidetach -d 0"
)


def test_ubifs_survives_restart(tangolab_artifacts: Any, tmp_path: Path) -> None:
    image = tmp_path / "nand.img"
    write_erased_image(image, Geometry(blocks=BLOCKS).image_size)
    with boot(tangolab_artifacts, image) as m:
        run_ok(m, "dmesg -n 1 && ubiformat -y /dev/mtd0", timeout=600)
        out = run_ok(m, WRITE, timeout=900)
    sums = md5_lines(out)
    assert len(sums) == 9, out
    with boot(tangolab_artifacts, image) as m:
        out2 = run_ok(
            m,
            "ubiattach -m 0 -d 0 && mount -t ubifs ubi0:data /mnt && (cd /mnt && md5sum big dir/*)",
            timeout=600,
        )
    sums2 = md5_lines(out2)
    assert sums2 == sums
