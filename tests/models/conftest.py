# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Fixtures of the model tests: tango4 QEMU machines driven through qtest.

The QEMU binary comes from $TANGOLAB_QEMU (default: the build's,
build/qemu/qemu-system-arm); without it these tests are skipped, saying so,
unless TANGOLAB_REQUIRE_SYSTEM=1 (CI), where that is a failure.

- `qtest_factory(args=(), intercept_gic=True)` starts ``-M tango4`` under
  qtest with the extra command-line `args` and returns its `QTestMachine`
  (stopped at the end of the test); `start_tango4(*args, ...)` is the same
  with the arguments spread. With `intercept_gic` the GIC's SPI inputs are
  intercepted: `irq_raises(8 + n)` counts the pulses of memory channel n.
  QEMU logs guest errors to its stderr: `guest_log()`.
- `tango4`: one machine with default arguments (`qtest` is the same).
- `start_tango4_fails(*args)`: QEMU must refuse to start; its stderr.
- `dma`: a `Tango4Dma` (sbox and memory-channel registers) on `tango4`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tangolab.qtest import GIC_PATH, QemuExited, QTestMachine, Tango4Dma, qemu_binary

StartFn = Callable[..., QTestMachine]


@pytest.fixture(scope="session")
def qemu_path() -> Path:
    path = qemu_binary()
    if not path.is_file():
        if os.environ.get("TANGOLAB_REQUIRE_SYSTEM") == "1":
            pytest.fail(f"no QEMU binary at {path}: run `tangolab build qemu`")
        pytest.skip(
            f"no QEMU binary at {path}: build qemu-system-arm with the tangolab models "
            "or point $TANGOLAB_QEMU at one"
        )
    return path


@pytest.fixture
def qtest_factory(qemu_path: Path) -> Iterator[Callable[..., QTestMachine]]:
    machines: list[QTestMachine] = []

    def start(args: Sequence[str] = (), *, intercept_gic: bool = True) -> QTestMachine:
        machine = QTestMachine(args, qemu=qemu_path)
        machines.append(machine)
        machine.start()
        if intercept_gic:
            machine.irq_intercept_in(GIC_PATH)
        return machine

    yield start
    for machine in machines:
        machine.close()


@pytest.fixture
def start_tango4(
    qtest_factory: Callable[..., QTestMachine], request: pytest.FixtureRequest
) -> StartFn:
    """A test module may set TANGO4_ARGS (arguments put before the test's
    own) and TANGO4_INTERCEPT_GIC (the default of intercept_gic)."""
    base = tuple(getattr(request.module, "TANGO4_ARGS", ()))
    default_gic = bool(getattr(request.module, "TANGO4_INTERCEPT_GIC", True))

    def start(*args: str, intercept_gic: bool | None = None) -> QTestMachine:
        gic = default_gic if intercept_gic is None else intercept_gic
        return qtest_factory([*base, *args], intercept_gic=gic)

    return start


@pytest.fixture
def start_tango4_fails(qemu_path: Path) -> Callable[..., str]:
    def start(*args: str) -> str:
        machine = QTestMachine(args, qemu=qemu_path)
        try:
            machine.start()
        except QemuExited:
            return machine.stderr()
        machine.close()
        pytest.fail(f"QEMU started with {' '.join(args)}, but should have refused")

    return start


@pytest.fixture
def tango4(start_tango4: StartFn) -> QTestMachine:
    return start_tango4()


@pytest.fixture
def qtest(tango4: QTestMachine) -> QTestMachine:
    return tango4


@pytest.fixture
def dma(tango4: QTestMachine) -> Tango4Dma:
    return Tango4Dma(tango4)
