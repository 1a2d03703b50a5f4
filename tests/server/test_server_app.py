"""The control plane's app in process (httpx's ASGI transport, a real SQLite database): bodies that are too
large or not JSON get a 4xx in Racetrack's error shape, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from racetrack.protocol import AUTH_HEADER
from racetrack.server.app import create_app
from racetrack.server.config import ServerConfig
from racetrack.server.models import Deployment
from racetrack.server.state import State, open_state

pytestmark = pytest.mark.anyio
Served = tuple[httpx.AsyncClient, State, dict[str, str]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def served(tmp_path: Path) -> Served:
    state = open_state(ServerConfig(data_dir=tmp_path, max_body_bytes=4096))
    admin = {AUTH_HEADER: (tmp_path / "admin-token").read_text().strip()}
    transport = httpx.ASGITransport(create_app(state), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://server"), state, admin


def deployments(state: State) -> int:
    with state.sessions() as session:
        return session.scalar(select(func.count()).select_from(Deployment)) or 0


async def test_an_oversized_body_is_413_and_creates_nothing(served: Served) -> None:
    client, state, admin = served
    body = '{"manifest": {"name": "big"}, "build_context": "' + "A" * 10_000 + '"}'
    response = await client.post("/lifecycle/api/v1/deploy", content=body, headers=admin)
    assert response.status_code == 413
    assert response.json()["error"] == "request body is larger than 4096 bytes"
    assert deployments(state) == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ('{"manifest": ', 400, "request body is not valid JSON"),
        (b"\xff\xfe", 400, "request body is not valid JSON"),
        ('{"manifest": {"name": "x"}, "extra": 1}', 400, "unknown field(s) in the deploy request: extra"),
        ('{"manifest": {"name": "x"}, "force": "yes"}', 400, "`force` must be true or false"),
        ('{"manifest": {"name": "x"}}', 400, "validating manifest"),
    ],
)
async def test_malformed_bodies_are_4xx_in_racetracks_shape(
    served: Served, body: str | bytes, status: int, message: str
) -> None:
    client, state, admin = served
    response = await client.post("/lifecycle/api/v1/deploy", content=body, headers=admin)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert deployments(state) == 0
    assert (await client.get("/health")).json()["database_connected"] is True  # and the server is fine
