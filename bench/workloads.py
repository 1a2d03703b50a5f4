"""What the load generator sends: a request body and the result a correct server answers with."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    body: bytes
    expected: Any

    def is_correct(self, answer: bytes) -> bool:
        """True when a response body holds the expected JSON result."""
        try:
            value = json.loads(answer)
        except ValueError:
            return False
        if isinstance(self.expected, float):
            return isinstance(value, int | float) and math.isclose(value, self.expected)
        return value == self.expected


def multiply() -> Workload:
    return Workload(
        name="multiply",
        title="Trivial perform: `perform(x, y) -> x * y`",
        body=b'{"x": 20, "y": 5}',
        expected=100.0,
    )


@cache
def sum_floats(count: int = 10_000, seed: int = 7) -> Workload:
    """A list of `count` floats (about 10 bytes of JSON each), summed by the server."""
    rng = random.Random(seed)
    numbers = [round(rng.uniform(0, 1000), 4) for _ in range(count)]
    body = json.dumps({"numbers": numbers}).encode()
    return Workload(
        name="sum",
        title=f"{len(body) / 1000:.0f} KB payload: `perform(numbers: list[float]) -> sum(numbers)`, "
        f"{count:,} floats",
        body=body,
        expected=math.fsum(numbers),
    )


WORKLOADS: dict[str, Workload] = {w.name: w for w in (multiply(), sum_floats())}
