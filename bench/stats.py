"""Per-round ratios and their spread: only figures measured in the same round are compared."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    median: float
    minimum: float
    maximum: float
    count: int


def spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), len(values))


def paired(
    contender: dict[int, float], baseline: dict[int, float], combine: Callable[[float, float], float]
) -> list[float]:
    """`combine(contender, baseline)` for each round both were measured in."""
    return [combine(contender[r], baseline[r]) for r in sorted(contender.keys() & baseline.keys())]


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def delta(a: float, b: float) -> float:
    return a - b


def median_of(values: dict[int, float]) -> float | None:
    return statistics.median(values.values()) if values else None
