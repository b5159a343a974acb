# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""A series patch may change an overlay file (the local test layer of a
guest driver): it applies on top of the overlay's version of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangolab.build.overlay import wanted_content
from tangolab.build.runner import BuildError

DRIVER = "drivers/dma/drv.c"
PATCH = f"""--- a/{DRIVER}
+++ b/{DRIVER}
@@ -1,3 +1,4 @@
 int a;
 int b;
+int test_layer;
 int c;
"""


def _trees(tmp_path: Path, overlay_text: str) -> tuple[Path, dict[str, Path], Path]:
    pristine = tmp_path / "pristine"
    (pristine / "drivers/dma").mkdir(parents=True)
    (pristine / "drivers/dma/Kconfig").write_text("config X\n")
    overlay = tmp_path / "overlay" / DRIVER
    overlay.parent.mkdir(parents=True)
    overlay.write_text(overlay_text)
    patch = tmp_path / "0011-local.patch"
    patch.write_text(PATCH)
    return pristine, {DRIVER: overlay}, patch


def test_a_patch_applies_on_top_of_the_overlay_file(tmp_path: Path) -> None:
    pristine, overlay, patch = _trees(tmp_path, "int a;\nint b;\nint c;\n")
    want = wanted_content(pristine, [patch], overlay, tmp_path / "log")
    assert want[DRIVER] == b"int a;\nint b;\nint test_layer;\nint c;\n"


def test_a_patch_that_does_not_fit_the_overlay_file_fails(tmp_path: Path) -> None:
    pristine, overlay, patch = _trees(tmp_path, "int x;\n")
    with pytest.raises(BuildError, match=r"0011-local\.patch does not apply"):
        wanted_content(pristine, [patch], overlay, tmp_path / "log")


def test_an_overlay_file_no_patch_touches_is_taken_as_is(tmp_path: Path) -> None:
    pristine, overlay, _ = _trees(tmp_path, "int a;\nint b;\nint c;\n")
    want = wanted_content(pristine, [], overlay, tmp_path / "log")
    assert want == {DRIVER: b"int a;\nint b;\nint c;\n"}
