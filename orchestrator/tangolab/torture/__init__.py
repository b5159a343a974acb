# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Reliability campaigns behind `tangolab torture` (see `tangolab.commands.torture`):
`kill` (runs killed at random moments leave nothing behind) and `fuzz` (a
seeded qtest fuzzer against the tango4 device models)."""
