# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""tangolab: an emulated Sigma Designs tango4 (SMP8758) in QEMU, and its orchestrator.

The public entry point for tests is `tangolab.machine.Machine`; the command
line is `tangolab` (`tangolab.cli`).
"""

__version__ = "0.1.0"
