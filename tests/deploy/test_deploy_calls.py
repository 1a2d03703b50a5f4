"""`racetrack call` arguments: payloads in JSON, YAML or files, endpoint names, the curl command."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import pytest

from racetrack.deploy.calls import PayloadError, curl_command, endpoint_path, parse_payload, split_arguments


def test_json_payload() -> None:
    assert parse_payload('{"x": 20, "y": 5}') == {"x": 20, "y": 5}


def test_yaml_payload_keeps_dates_as_strings() -> None:
    payload = parse_payload("x: 20\nday: 2024-05-01\nnames: [a, b]")
    assert payload == {"x": 20, "day": "2024-05-01", "names": ["a", "b"]}


def test_flow_yaml_payload() -> None:
    assert parse_payload("{x: 1.5, y: null}") == {"x": 1.5, "y": None}


def test_file_payload(tmp_path: Path) -> None:
    (tmp_path / "payload.yaml").write_text("numbers: [40, 2]\n")
    assert parse_payload(f"@{tmp_path / 'payload.yaml'}") == {"numbers": [40, 2]}


def test_stdin_payload() -> None:
    assert parse_payload("@-", stdin=io.StringIO('{"a": 1}')) == {"a": 1}


def test_no_payload_is_an_empty_object() -> None:
    assert parse_payload(None) == {}


def test_missing_file_says_which() -> None:
    with pytest.raises(PayloadError, match="cannot read payload file /nope/payload.json: No such file"):
        parse_payload("@/nope/payload.json")


def test_payload_must_be_an_object() -> None:
    with pytest.raises(PayloadError, match="must be an object of parameter names to values.*not list"):
        parse_payload("[1, 2]")
    with pytest.raises(PayloadError, match="not int"):
        parse_payload("42")


def test_broken_payload_points_at_the_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("x: [1, 2\ny: 3\n")
    with pytest.raises(PayloadError, match=r"bad.yaml is neither JSON nor YAML \(line \d+, column \d+\)"):
        parse_payload(f"@{tmp_path / 'bad.yaml'}")


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("/perform", "/api/v1/perform"),
        ("perform", "/api/v1/perform"),
        ("/explain", "/api/v1/explain"),
        ("/api/v1/explain", "/api/v1/explain"),
        ("/pub/fatman/adder/latest/api/v1/perform", "/pub/fatman/adder/latest/api/v1/perform"),
    ],
)
def test_endpoint_path(endpoint: str, path: str) -> None:
    assert endpoint_path(endpoint) == path


def test_a_lone_payload_goes_to_perform() -> None:
    assert split_arguments('{"x": 1}', None) == ("/perform", '{"x": 1}')
    assert split_arguments("@payload.json", None) == ("/perform", "@payload.json")
    assert split_arguments("x: 1", None) == ("/perform", "x: 1")
    assert split_arguments("/explain", None) == ("/explain", None)
    assert split_arguments("/explain", '{"x": 1}') == ("/explain", '{"x": 1}')
    assert split_arguments(None, None) == ("/perform", None)


def test_curl_command_round_trips_through_a_shell() -> None:
    command = curl_command("http://127.0.0.1:7001/api/v1/perform", {"text": "it's \"quoted\" $HOME"})
    words = shlex.split(command)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:7001/api/v1/perform"]
    assert words[words.index("-d") + 1] == '{"text": "it\'s \\"quoted\\" $HOME"}'
    assert "Content-Type: application/json" in words
