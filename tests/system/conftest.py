# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""System tests: they boot the real guest on the tango4 machine.

They need `tangolab build all`. Without the artifacts they are skipped,
unless TANGOLAB_REQUIRE_SYSTEM=1 (CI sets it), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tangolab.build.artifacts import load_artifacts
from tangolab.machine import Machine
from tangolab.paths import build_dir


def require_artifacts() -> None:
    try:
        load_artifacts(build_dir()).check()
    except Exception as e:  # MissingArtifact names the file and the command
        if os.environ.get("TANGOLAB_REQUIRE_SYSTEM") == "1":
            pytest.fail(f"system test artifacts missing: {e}")
        pytest.skip(f"system test artifacts missing: {e}")


@pytest.fixture(scope="module")
def booted() -> Iterator[Machine]:
    """One tango4 guest with SSH, shared by the tests of a module."""
    require_artifacts()
    with Machine(ssh=True, name=f"systest-{os.getpid()}") as m:
        yield m
