"""Entrypoint classes the wrapper serves in the benchmark: the same work as the baselines."""

from __future__ import annotations


class MultiplySync:
    def perform(self, x: float, y: float) -> float:
        """Return the product of x and y."""
        return x * y


class MultiplyAsync:
    async def perform(self, x: float, y: float) -> float:
        """Return the product of x and y, awaited on the event loop."""
        return x * y


class SumFloats:
    def perform(self, numbers: list[float]) -> float:
        """Return the sum of a list of floats."""
        return sum(numbers)
