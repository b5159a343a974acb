# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""The exported kernel series on the real pinned Linux tree: its shape (cover
letter, order, identities, local patches) and that `patches check` finds
what it is there to find. The full check of the project's series runs in
CI as its own step (`tangolab patches check`, see .ci/run); so does the
check's own test here, which builds the kernel (marker kernel_build, left
out of the README's test command)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tangolab.build.overlay import read_series_entries
from tangolab.patches import Identities, Identity
from tangolab.patches.check import FAIL, NOT_RUN, OK, check_series
from tangolab.patches.export import COVER_LETTER, ExportResult, export, read_cover_letter
from tangolab.patches.identity import PLACEHOLDER
from tangolab.paths import repo_root

AUTHOR = Identity("Ada Lovelace", "ada@example.org")
SIGNER = Identity("Charles Babbage", "charles@example.org")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportResult]:
    out = tmp_path_factory.mktemp("series")
    # checkpatch is one of `patches check`'s checks (the CI step)
    res = export(out, Identities(AUTHOR, SIGNER, AUTHOR), check=False)
    return out, res


def headers(patch: Path) -> dict[str, str]:
    text = patch.read_text()
    head = text.split("\n\n", 1)[0].replace("\n ", " ")
    return dict(line.split(": ", 1) for line in head.splitlines()[1:] if ": " in line)


def test_the_series_and_its_cover_letter(exported: tuple[Path, ExportResult]) -> None:
    out, res = exported
    assert res.cover is not None
    entries = read_series_entries(repo_root() / "guest" / "patches")
    upstream = [e for e in entries if not e.local]
    assert len(res.patches) == len(upstream)
    assert len(res.local) == len(entries) - len(upstream)
    assert all(p.parent == out / "local" for p in res.local)
    subject, body = read_cover_letter(repo_root() / COVER_LETTER)
    cover = res.cover.read_text()
    n = len(res.patches)
    assert headers(res.cover)["Subject"] == f"[PATCH 0/{n}] {subject}"
    assert body.split("\n\n")[0].replace("\n", " ") in cover.replace("\n", " ")
    for i, p in enumerate(res.patches, 1):
        h = headers(p)
        assert h["Subject"].startswith(f"[PATCH {i}/{n}] ")
        assert h["From"] == str(AUTHOR)
        text = p.read_text()
        message = text.split("\n---\n", 1)[0]
        assert re.findall(r"^Signed-off-by: .*$", message, re.M) == [f"Signed-off-by: {SIGNER}"]
        assert PLACEHOLDER not in text
    for p in res.local:
        assert "[PATCH" in headers(p)["Subject"]


def test_the_order_core_bindings_users_platform_dts(exported: tuple[Path, ExportResult]) -> None:
    """The dmaengine core first, each compatible's binding before the patch
    that uses it, the dts last."""
    _, res = exported
    texts = [p.read_text() for p in res.patches]
    assert "include/linux/dmaengine.h" in texts[0]
    assert "arch/arm/boot/dts/sigma/" in texts[-1]
    bound: set[str] = set()
    for p, text in zip(res.patches, texts, strict=True):
        added = "\n".join(x[1:] for x in text.splitlines() if x.startswith("+"))
        bound |= set(re.findall(r"const: (sigma,[\w-]+)", added))
        bound |= set(re.findall(r"^\s+- (sigma,[\w-]+)", added, re.M))
        if "/bindings/" in text:
            continue
        used = set(re.findall(r'"(sigma,[\w-]+)"', added))
        assert used <= bound, f"{p.name} uses {sorted(used - bound)} before their binding"


def test_the_cover_letter_names_only_what_exists(exported: tuple[Path, ExportResult]) -> None:
    """Every identifier the cover letter names (the new API and the upstream
    precedents) is in the tree the series builds."""
    _, res = exported
    assert res.cover is not None
    body = res.cover.read_text().split("\n---\n", 1)[0]
    names = set(re.findall(r"\b[A-Za-z]\w*_\w+\b", body))
    assert {"DMA_PREP_FENCE", "MXS_DMA_CTRL_WAIT4END"} <= names
    # one pass over the tree for all the names (a pass is seconds)
    patterns = [arg for name in sorted(names) for arg in ("-e", name)]
    found = subprocess.run(
        ["git", "grep", "-h", "-o", "-w", "-F", *patterns, "tangolab-upstream"],
        cwd=res.tree,
        check=False,
        capture_output=True,
        text=True,
    )
    assert found.returncode in (0, 1), found.stderr
    in_tree = {line.rsplit(":", 1)[-1] for line in found.stdout.splitlines()}
    missing = sorted(names - in_tree)
    assert not missing, f"the cover letter names {missing}: not in the tree"


BAD_PATCH = """From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Ada Lovelace <ada@example.org>
Subject: [PATCH] serial: 8250: a patch with faults to find

Signed-off-by: Ada Lovelace <ada@example.org>
---
diff --git a/drivers/tty/serial/8250/8250_core.c b/drivers/tty/serial/8250/8250_core.c
--- a/drivers/tty/serial/8250/8250_core.c
+++ b/drivers/tty/serial/8250/8250_core.c
@@ -1,3 +1,8 @@
 // SPDX-License-Identifier: GPL-2.0+
+static const int tangolab_unused = 1;
+int *tangolab_null(void);
+int *tangolab_null(void) {
+	return 0;
+}
 /*
  *  Universal/legacy driver for 8250/16550-type serial ports
  *
"""


@pytest.mark.kernel_build
def test_check_finds_what_it_is_there_to_find(
    exported: tuple[Path, ExportResult], tmp_path: Path
) -> None:
    """On a patch with a checkpatch error, a W=1-only warning (unused const)
    and a sparse warning (0 as a NULL pointer) in an object the
    configuration builds, exactly those checks fail; a patch that no longer
    applies after it is reported, and the one after is not run."""
    bad = tmp_path / "0001-bad.patch"
    bad.write_text(BAD_PATCH)
    stale = tmp_path / "0002-stale.patch"
    stale.write_text(BAD_PATCH.replace("a patch with faults", "the same again"))
    never = tmp_path / "0003-never.patch"
    never.write_text(BAD_PATCH)
    r1, r2, r3 = check_series(exported[1].tree, [bad, stale, never])
    assert r1.status == {
        "apply": OK,
        "checkpatch": FAIL,
        "build": OK,
        "W=1": FAIL,
        "sparse": FAIL,
        "bindings": NOT_RUN,
        "dtbs": NOT_RUN,
    }, r1.findings
    assert any("tangolab_unused" in f for f in r1.findings if f.startswith("W=1: "))
    assert any("plain integer as NULL" in f for f in r1.findings if f.startswith("sparse: "))
    assert r2.status["apply"] == FAIL and not r2.ok
    assert r3.status == dict.fromkeys(r3.status, NOT_RUN)
