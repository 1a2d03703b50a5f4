"""Racetrack-style job: v2 auxiliary endpoints (GET with a path parameter, POST with a body), an ASGI
(FastAPI) webview routing relative to its mount, results with __to_json__, verbatim error messages."""

from http import HTTPMethod
from typing import Annotated

from fastapi import Body, FastAPI, Path, Query

from racetrack_job_wrapper.endpoint_config import EndpointConfig


class Quantity:
    def __init__(self, text: str) -> None:
        self.text = text

    def __to_json__(self) -> str:
        return self.text


class Job:
    def perform(self, x: float, y: float) -> float:
        """Add two numbers."""
        if x < 0:
            raise ValueError("nope")
        if y < 0:
            raise RuntimeError("unlucky")
        return x + y

    def auxiliary_endpoints(self) -> dict:
        return {"/quantity": self.quantity}

    def quantity(self, text: str) -> dict:
        """A result holding objects that know their JSON form."""
        return {"quantity": Quantity(text), "several": [Quantity(text), Quantity("1 g")]}

    def auxiliary_endpoints_v2(self) -> list[EndpointConfig]:
        return [
            EndpointConfig("/multiply/{factor}", HTTPMethod.GET, self.multiply, {"tags": ["math"]}),
            EndpointConfig("/memory", HTTPMethod.POST, self.memory),
            EndpointConfig("/ignored", "PUT", self.memory),
        ]

    def multiply(self, factor: Annotated[int, Path()], x: Annotated[float, Query()] = 1.0) -> float:
        """x times the factor in the path."""
        return factor * x

    def memory(self, amount: Annotated[str, Body(embed=True)]) -> dict:
        if amount == "boom":
            raise ValueError("bad amount")
        return {"quantity": Quantity(amount)}

    def webview_app(self, base_url: str):
        app = FastAPI()

        @app.get("/")
        def index() -> dict:
            return {"page": "home", "base_url": base_url}

        @app.get("/items/{item}")
        def item(item: str) -> dict:
            return {"item": item}

        return app
