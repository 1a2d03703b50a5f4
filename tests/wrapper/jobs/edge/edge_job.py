"""One endpoint per bad input of issue 11, section 3."""

import asyncio


class EdgeJob:
    def perform(self, **kwargs) -> list:
        """The names of the fields it was given."""
        return sorted(kwargs)

    def auxiliary_endpoints(self):
        return {
            "/big": self.big,
            "/echo": self.echo,
            "/nap": self.nap,
            "/count": self.count,
            "/typed": self.typed,
        }

    def big(self, digits: int) -> dict:
        """An integer with `digits` digits."""
        return {"value": 10 ** (digits - 1)}

    def echo(self, value):
        """`value` as given (unannotated)."""
        return value

    async def nap(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "rested"

    def count(self, n: int):
        """Stream 0..n-1."""
        yield from range(n)

    def typed(self, f: float, i: int) -> list:
        return [f, i]

    def static_endpoints(self):
        return {"/files": "files/"}
