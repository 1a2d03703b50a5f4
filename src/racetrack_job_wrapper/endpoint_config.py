"""`EndpointConfig`: one endpoint of `auxiliary_endpoints_v2()` (GET or POST, path parameters allowed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPMethod
from typing import Any


@dataclass
class EndpointConfig:
    """`handler` served at `POST|GET /api/v1{path}`; `other_options` go to FastAPI's `add_api_route`
    (e.g. `tags`, `summary`). Handler parameters may use FastAPI's `Annotated[..., Query()/Path()/Body()]`."""

    path: str
    method: HTTPMethod | str
    handler: Callable[..., Any]
    other_options: dict[str, Any] = field(default_factory=dict)
