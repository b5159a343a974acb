# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The console tangolab prints its progress and errors on."""

from __future__ import annotations

from rich.console import Console


def stderr_console() -> Console:
    """A rich console on stderr that never breaks a line itself.

    Long lines stay whole: a terminal wraps them for display, and a log file
    (CI) keeps them as one line each.
    """
    return Console(stderr=True, highlight=False, soft_wrap=True)
