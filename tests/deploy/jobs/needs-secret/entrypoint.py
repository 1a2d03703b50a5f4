"""A job whose __init__ needs a secret runtime variable: it cannot load in the build sandbox."""

import os


class NeedsSecret:
    def __init__(self) -> None:
        self.token = os.environ["MODEL_TOKEN"]  # KeyError where the secret runtime env is missing

    def perform(self, x: float) -> float:
        """Double x."""
        return 2 * x

    def docs_input_example(self) -> dict:
        return {"x": 21}
