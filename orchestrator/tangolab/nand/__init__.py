# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""NAND image model: page layout of the tango4 NFC, raw images, the offline
page check (BCH with bchlib) and the seeded data pattern of the guest tool.
"""

from tangolab.nand.check import CheckReport, PageCodec, PageRow, PageStatus, check_image
from tangolab.nand.image import (
    ImageError,
    NandImage,
    PageView,
    create_image,
    write_erased_image,
)
from tangolab.nand.layout import EccLayout, Geometry, LayoutError, PageLayout, compute_layout
from tangolab.nand.pattern import PatternExpectation, pattern_bytes

__all__ = [
    "CheckReport",
    "EccLayout",
    "Geometry",
    "ImageError",
    "LayoutError",
    "NandImage",
    "PageCodec",
    "PageLayout",
    "PageRow",
    "PageStatus",
    "PageView",
    "PatternExpectation",
    "check_image",
    "compute_layout",
    "create_image",
    "pattern_bytes",
    "write_erased_image",
]
