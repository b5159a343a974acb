# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""`tangolab patches`: the guest kernel series, exported and checked."""

from __future__ import annotations

from .identity import Identities, Identity, parse_identity, resolve_identities
from .outdir import LOCAL_DIR, OUT_RECORD, check_out, prepare_out

__all__ = [
    "LOCAL_DIR",
    "OUT_RECORD",
    "Identities",
    "Identity",
    "check_out",
    "parse_identity",
    "prepare_out",
    "resolve_identities",
]
