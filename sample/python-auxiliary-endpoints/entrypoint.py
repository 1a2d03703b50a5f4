import math
from typing import Callable, Dict, List


class FatmanEntrypoint:
    def perform(self, numbers: List[float]) -> float:
        """
        Add numbers.
        :param numbers: Numbers to add.
        :return: Their sum.
        """
        total = sum(numbers)
        if not math.isfinite(total):
            raise ValueError("the numbers add up beyond the range of a float")
        return total

    def auxiliary_endpoints(self) -> Dict[str, Callable]:
        """Dict of custom endpoint paths (besides "/perform") handled by Entrypoint methods"""
        return {
            "/explain": self.explain,
            "/random": self.random,
        }

    def explain(self, x: float, y: float) -> Dict[str, float]:
        """
        Explain feature importance of a model result.
        :param x: First element to add.
        :param y: Second element to add.
        :return: Dict of feature importance.
        """
        result = self.perform([x, y])
        if result == 0:
            raise ValueError("x and y add up to 0: there is no importance to explain")
        return {"x_importance": x / result, "y_importance": y / result}

    async def random(self, start: int = 0, end: int = 10) -> int:
        """
        Return a pseudo-random number from [start, end] (an async method: awaited, not run in a thread).
        :param start: Lowest possible result.
        :param end: Highest possible result.
        """
        return start + (7919 * (end + 1)) % (end - start + 1)

    def docs_input_examples(self) -> Dict[str, Dict]:
        """Return mapping of Fatman's endpoints to corresponding exemplary inputs."""
        return {
            "/perform": {"numbers": [40, 2]},
            "/explain": {"x": 1, "y": 2},
            "/random": {"start": 1, "end": 6},
        }
