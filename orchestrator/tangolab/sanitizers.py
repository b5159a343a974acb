# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Running QEMU built with AddressSanitizer and UBSan (`tangolab build qemu
--sanitize`) so that any report is noticed.

`environment(report_dir)` gives the ASAN_OPTIONS, UBSAN_OPTIONS and
LSAN_OPTIONS for the sanitized processes: the first error ends the process,
and ASan writes its report to a file ``<report_dir>/sanitizer.<pid>``
instead of the process's stderr. A file there is a report, whoever started
the process (a test's QTestMachine, a booted Machine, a `tangolab`
subprocess, QEMU's own C qtest) and whether or not the process then looked
healthy: `reports` lists them, and the pytest plugin fails the test in
which one appeared.

- ASan: errors stop the process (exit status 1); leaks are reported when it
  exits (`detect_leaks=1`: QEMU's allocations that live until exit are
  reachable from globals, which LeakSanitizer does not report, so a report
  is a real leak); an abort (a failed assertion, or UBSan below) becomes an
  ASan report with its stack (`handle_abort=1`).
- UBSan (built in as a separate runtime by gcc): its checks recover by
  default; `halt_on_error=1:abort_on_error=1` makes the first one print its
  message (on stderr: gcc's UBSan runtime cannot log to a file next to
  ASan's) and abort, which ASan reports, stack included, in the file.
  UBSan must be given the same log_path: its start-up sets the one report
  path the two runtimes share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: fast_unwind_on_malloc=0: whole stacks of leaked blocks (glib has no frame pointers)
ASAN_OPTIONS = (
    "halt_on_error=1", "abort_on_error=0", "detect_leaks=1", "handle_abort=1",
    "fast_unwind_on_malloc=0",
)  # fmt: skip
UBSAN_OPTIONS = ("print_stacktrace=1", "halt_on_error=1", "abort_on_error=1")
#: Leaks that are QEMU's, not the models': LSan suppressions (a leaked block
#: is not reported when a frame of its allocation's stack matches).
LEAK_SUPPRESSIONS = (
    # QMP messages in flight when QEMU exits on an error (exit(1), e.g. after
    # refusing an incoming migration stream while the harness asks for
    # "query-status"): the queued request, its parsed arguments, and the
    # reply under construction. Only blocks allocated by the QMP parser and
    # the reply's output visitor match: a model's own allocation on a QMP
    # path (in a property's getter or setter) is still reported.
    "leak:handle_qmp_command",
    "leak:json_parser_parse",
    "leak:qobject_output_",
)
#: Report files are <report dir>/<PREFIX>.<pid>.
PREFIX = "sanitizer"
#: What makes a file a report: ASan's and LSan's "==PID==ERROR:", a SUMMARY.
#: (The runtimes also log warnings there, such as ASan's about QEMU's
#: coroutines' swapcontext: those alone are not reports.)
_REPORT = re.compile(r"^==\d+==ERROR: |^SUMMARY: ", re.M)
_UBSAN_HANDLER = re.compile(r"in __ubsan_handle_(\w+)")
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (.*)$", re.M)


def environment(report_dir: Path) -> dict[str, str]:
    """ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS that write every report
    to a file in `report_dir` and make the first report fatal (the leak
    suppressions go to a file there too)."""
    log = f"log_path={report_dir / PREFIX}"
    suppressions = report_dir / "lsan.supp"
    report_dir.mkdir(parents=True, exist_ok=True)
    suppressions.write_text("".join(f"{line}\n" for line in LEAK_SUPPRESSIONS))
    return {
        "ASAN_OPTIONS": ":".join((*ASAN_OPTIONS, log)),
        "UBSAN_OPTIONS": ":".join((*UBSAN_OPTIONS, log)),
        "LSAN_OPTIONS": f"{log}:suppressions={suppressions}:print_suppressions=0",
    }


@dataclass(frozen=True)
class Report:
    """One sanitizer report file: the process it came from, and its text."""

    path: Path
    pid: int | None
    text: str

    def summary(self) -> str:
        """One line: UBSan's check and where it failed, else the SUMMARY line."""
        handler = _UBSAN_HANDLER.search(self.text)
        if handler:
            frames = _FRAME.findall(self.text[handler.end() :])
            where = f" in {frames[0]}" if frames else ""
            return f"UBSan: {handler.group(1)}{where} (its message is on the process's stderr)"
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        for line in lines:
            if line.startswith("SUMMARY:"):
                return line
        return lines[0] if lines else f"{self.path.name}: empty report"


def reports(report_dir: Path, seen: set[Path] | None = None) -> list[Report]:
    """The report files in `report_dir` (except those in `seen`), oldest first;
    files with warnings only are not reports."""
    if not report_dir.is_dir():
        return []
    found = []
    for path in sorted(report_dir.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name)):
        prefix, _, pid = path.name.partition(".")
        if prefix != PREFIX or (seen is not None and path in seen):
            continue
        text = path.read_text(errors="replace")
        if _REPORT.search(text):
            found.append(Report(path, int(pid) if pid.isdigit() else None, text))
    return found
