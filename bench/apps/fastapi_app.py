"""Hand-written FastAPI baselines, written the way the FastAPI docs teach: a pydantic body, a typed return.

Each function is an app factory for `uvicorn --factory`, one app per measured variant.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

PERFORM_PATH = "/api/v1/perform"


class Factors(BaseModel):
    x: float
    y: float


class Numbers(BaseModel):
    numbers: list[float]


def multiply_sync() -> FastAPI:
    app = FastAPI()

    @app.post(PERFORM_PATH)
    def perform(factors: Factors) -> float:
        return factors.x * factors.y

    return app


def multiply_async() -> FastAPI:
    app = FastAPI()

    @app.post(PERFORM_PATH)
    async def perform(factors: Factors) -> float:
        return factors.x * factors.y

    return app


def sum_sync() -> FastAPI:
    app = FastAPI()

    @app.post(PERFORM_PATH)
    def perform(body: Numbers) -> float:
        return sum(body.numbers)

    return app


def sum_async() -> FastAPI:
    app = FastAPI()

    @app.post(PERFORM_PATH)
    async def perform(body: Numbers) -> float:
        return sum(body.numbers)

    return app
