"""A small job for the Racetrack-form manifest next to it."""

import os


class JobEntrypoint:
    def perform(self, numbers: list[float]) -> dict:
        """Add the numbers up and greet with the runtime_env GREETING."""
        return {"sum": sum(numbers), "greeting": os.environ.get("GREETING", "")}

    def docs_input_example(self) -> dict:
        return {"numbers": [40, 2]}
