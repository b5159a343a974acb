# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Loss rates with confidence intervals (scipy's binomial test)."""

from __future__ import annotations

from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rate:
    """k events in n independent trials, with a Wilson score interval."""

    k: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else 0.0

    def __str__(self) -> str:
        return f"{self.value:.1%} [{self.low:.1%}, {self.high:.1%}]"


def loss_rate(k: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    """The rate k/n with its Wilson score interval at `confidence`."""
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"bad counts: {k} of {n}")
    if n == 0:
        return Rate(0, 0, 0.0, 1.0)
    from scipy.stats import binomtest  # heavy: imported when needed

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high))
