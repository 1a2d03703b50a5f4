import json
from pathlib import Path

import numpy as np


class LinearModel:
    def __init__(self) -> None:
        """Load the trained model from the repository (relative to the job root, the working directory)."""
        spec = json.loads(Path("model.json").read_text())
        self.features: list[str] = spec["features"]
        self.weights = np.asarray(spec["weights"], dtype=np.float64)
        self.bias = float(spec["bias"])

    def perform(self, rooms: int, area_m2: float, age_years: float = 0.0) -> float:
        """
        Predict a flat's price with a linear model.
        :param rooms: Number of rooms.
        :param area_m2: Floor area in square metres.
        :param age_years: Age of the building.
        :return: Predicted price.
        """
        return np.dot(self.weights, [rooms, area_m2, age_years]) + self.bias

    def auxiliary_endpoints(self):
        return {"/batch": self.batch}

    def batch(self, rows: list[list[float]]) -> list[float]:
        """
        Predict many rows at once.
        :param rows: Rows of [rooms, area_m2, age_years].
        """
        return np.asarray(rows, dtype=np.float64) @ self.weights + self.bias

    def docs_input_examples(self) -> dict:
        return {"/perform": {"rooms": 3, "area_m2": 64.5, "age_years": 10}, "/batch": {"rows": [[1, 30, 5]]}}
