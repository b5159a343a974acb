# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""System tests: they boot the real guest on the tango4 machine, through
the tangolab pytest plugin's fixtures (tango_machine, tango_machine_module,
tango_nand_image, tango_faults).

They need `tangolab build all`. Without the artifacts they are skipped,
unless TANGOLAB_REQUIRE_SYSTEM=1 (CI sets it), where that is a failure.
"""

from __future__ import annotations

import os

import pytest

from tangolab.build.artifacts import MissingArtifact, load_artifacts
from tangolab.paths import build_dir


@pytest.fixture(autouse=True, scope="session")
def _require_artifacts() -> None:
    try:
        load_artifacts(build_dir()).check()
    except MissingArtifact as e:
        if os.environ.get("TANGOLAB_REQUIRE_SYSTEM") == "1":
            pytest.fail(f"system test artifacts missing: {e}")
        pytest.skip(f"system test artifacts missing: {e}")
