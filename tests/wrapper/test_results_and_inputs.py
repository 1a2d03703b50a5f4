"""Numbers JSON cannot carry, big integers, /health's unknowns and the access line, in-process."""

from __future__ import annotations

import json
import logging

import pytest

from racetrack.wrapper.telemetry.logs import RequestIdFilter

NUMBERS_JOB = """
import math

class Job:
    def perform(self, x: float, xs: list[float] = []) -> float:
        return x + sum(xs)

    def auxiliary_endpoints(self):
        return {"/weird": self.weird, "/big": self.big, "/stream": self.stream, "/raw": self.raw}

    def raw(self, text: bool):
        return {"blob": "zażółć".encode() if text else b"\\x89PNG\\xff", "view": bytearray(b"ok")}

    def weird(self, kind: str):
        import numpy as np
        return {
            "inf": {"scores": [1.0, math.inf]},
            "nan": [None, float("nan")],
            "numpy": {"a": np.array([1.0, np.nan])},
            "none": {"a": None, "b": "null"},
        }[kind]

    def big(self):
        return {"id": 2**70, "negative": -(2**64), "small": [1, 2.5]}

    def stream(self):
        yield 1.0
        yield math.nan
"""


@pytest.mark.parametrize(
    "body", [b'{"x": 1e400}', b'{"x": NaN}', b'{"x": "inf"}', b'{"x": 1, "xs": [1, "-inf"]}']
)
def test_non_finite_floats_are_refused_with_422(client_for, body: bytes) -> None:
    response = client_for(NUMBERS_JOB).post("/api/v1/perform", content=body)
    assert response.status_code == 422, response.text
    # a string is not a number at all (the schema says number), a literal inf/NaN not a finite one
    expected = "float_type" if b'inf"' in body else "finite_number"
    assert response.json()["details"][0]["type"] == expected


def test_non_finite_float_in_a_result_is_a_500_saying_where(client_for) -> None:
    client = client_for(NUMBERS_JOB)
    assert client.post("/api/v1/perform", json={"x": 1.5, "xs": [1]}).json() == 2.5
    for kind, where in (("inf", "result['scores'][1]"), ("nan", "result[1]"), ("numpy", "result['a'][1]")):
        response = client.post("/api/v1/weird", json={"kind": kind})
        assert response.status_code == 500, kind
        error = response.json()["error"]
        assert f"{where} is a non-finite float (inf or NaN)" in error and "/api/v1/weird" in error
    assert client.post("/api/v1/weird", json={"kind": "none"}).json() == {"a": None, "b": "null"}


def test_non_finite_float_in_a_stream_ends_it_with_an_error_record(client_for) -> None:
    lines = client_for(NUMBERS_JOB).post("/api/v1/stream", json={}).text.splitlines()
    assert json.loads(lines[0]) == 1.0
    error = json.loads(lines[1])
    assert error["type"] == "internal_error" and "non-finite float" in error["error"]


def test_integers_beyond_64_bits_are_encoded(client_for) -> None:
    response = client_for(NUMBERS_JOB).post("/api/v1/big", json={})
    assert response.status_code == 200, response.text
    assert json.loads(response.content) == {"id": 2**70, "negative": -(2**64), "small": [1, 2.5]}


def test_bytes_are_utf8_text_as_in_racetrack_else_a_500_saying_how_to_fix(client_for) -> None:
    client = client_for(NUMBERS_JOB)
    response = client.post("/api/v1/raw", json={"text": True})
    assert response.status_code == 200, response.text
    assert response.json() == {"blob": "zażółć", "view": "ok"}
    response = client.post("/api/v1/raw", json={"text": False})
    assert response.status_code == 500
    error = response.json()["error"]
    assert "bytes that are not UTF-8 text (byte 0 is 0x89)" in error and "base64" in error


def test_health_reports_unknown_git_version_and_timestamp_as_null(client_for) -> None:
    health = client_for(NUMBERS_JOB).get("/health").json()
    assert health["git_version"] is None and health["deployment_timestamp"] is None
    deployed = client_for(NUMBERS_JOB, git_version="abc123", deployment_timestamp="2024-01-02T03:04:05Z")
    assert deployed.get("/health").json()["git_version"] == "abc123"


def test_access_line_escapes_control_characters_in_the_path(client_for, caplog) -> None:
    client = client_for(NUMBERS_JOB)
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, "racetrack.access"):
        client.get("/api/v1/x%0d%0aFAKE%00line")
    (record,) = caplog.records
    assert "\n" not in record.getMessage() and "\r" not in record.getMessage()
    assert record.getMessage().startswith("GET /api/v1/x\\r\\nFAKE\\x00line 404 ")
