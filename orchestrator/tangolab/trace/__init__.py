# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A timeline of the DMA path: guest tracepoints and QEMU trace events on
one virtual-time axis (tangolab trace, tangolab debug).

parse: the guest's ftrace text and QEMU's trace log as events;
align: the offset of the guest's clock from QEMU's virtual clock, from the
NAND driver's command markers; chrome: the Chrome trace-event JSON that
Perfetto opens; picture: one page drawn with matplotlib; record: a cell
run with both traces on.
"""
