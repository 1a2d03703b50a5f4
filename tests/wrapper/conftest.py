"""Fixtures for wrapper tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from wrapper_helpers import make_app


@pytest.fixture
def client_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Build a TestClient serving `code` (an entrypoint module's source) from a temp job directory."""
    monkeypatch.chdir(tmp_path)

    def build(code: str, **settings: object) -> TestClient:
        app = make_app(tmp_path, code, **settings)
        return TestClient(app, raise_server_exceptions=True)

    return build
