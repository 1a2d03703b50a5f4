"""Issue 11, section 3: each bad input gets the one JSON error shape, and the server stays healthy after it.
Every test runs against a real server process (tests/wrapper/jobs/edge/edge_job.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from server_process import WRAPPER_RUN, ServerProcess, job_server, wait_for

EDGE = Path(__file__).parent / "jobs" / "edge"
EDGE_JOB = ["--entrypoint-path", "edge_job.py", "--root", str(EDGE)]
ERROR_KEYS = {"error", "type", "details", "request_id"}


@pytest.fixture(scope="module")
def edge() -> Iterator[ServerProcess]:
    files = EDGE / "files"
    for name, target in (("loop1", "loop2"), ("loop2", "loop1")):
        link = files / name
        if not link.is_symlink():
            link.symlink_to(target)
    try:
        with job_server(EDGE_JOB) as server:
            yield server
    finally:
        for name in ("loop1", "loop2"):
            (files / name).unlink(missing_ok=True)


def raw(server: ServerProcess, data: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send `data` on a new connection; the status, headers and body of the answer (read to EOF)."""
    with socket.create_connection(_address(server), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused before the end
            sock.sendall(data)
        received = _read_all(sock)
    return _parse(received)


def _address(server: ServerProcess) -> tuple[str, int]:
    return server.client.base_url.host, server.client.base_url.port  # type: ignore[return-value]


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _parse(received: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: job\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        + extra
        + b"\r\n"
        + body
    )


def assert_error(status: int, headers: dict[str, str], body: bytes, expected: int, kind: str) -> dict:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert set(error) == ERROR_KEYS and error["type"] == kind, error
    return error


def assert_healthy(server: ServerProcess) -> None:
    assert server.client.get("/live").status_code == 200
    assert server.client.post("/api/v1/typed", json={"f": 1.5, "i": 2}).json() == [1.5, 2]


def test_1_oversized_request_line_and_headers_get_431(edge: ServerProcess):
    big_header = b"GET /live HTTP/1.1\r\nHost: job\r\nX-Big: " + b"a" * 4_000_000 + b"\r\n\r\n"
    error = assert_error(*raw(edge, big_header), 431, "header_too_large")
    assert "65536 bytes" in error["error"]
    long_url = b"GET /live?" + b"q" * 200_000 + b" HTTP/1.1\r\nHost: job\r\n\r\n"
    assert_error(*raw(edge, long_url), 431, "header_too_large")
    many = b"GET /live HTTP/1.1\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(3000))
    assert_error(*raw(edge, many + b"\r\n"), 431, "header_too_large")
    assert (
        raw(
            edge,
            b"GET /live HTTP/1.1\r\nHost: job\r\nX-Ok: " + b"a" * 8000 + b"\r\nConnection: close\r\n\r\n",
        )[0]
        == 200
    )
    assert_healthy(edge)


def test_2_idle_and_slow_header_connections_time_out():
    with job_server([*EDGE_JOB, "--head-timeout", "1"]) as server:
        with socket.create_connection(_address(server), timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(100) == b""  # closed without a word: it never sent anything
            assert time.monotonic() - started < 9
        with socket.create_connection(_address(server), timeout=10) as slow:
            slow.sendall(b"GET /live HTTP/1.1\r\nHost: job\r\n")  # ... and the rest never comes
            assert_error(*_parse(_read_all(slow)), 408, "request_timeout")
        assert_healthy(server)


def test_2_connections_beyond_the_cap_get_503_while_probes_answer():
    with job_server([*EDGE_JOB, "--max-connections", "8", "--head-timeout", "60"]) as server:
        busy = [socket.create_connection(_address(server), timeout=10) for _ in range(8)]
        try:
            for sock in busy:  # mid-request: not idle, so not closed to make room
                sock.sendall(b"GET /live HTTP/1.1\r\nHost: job\r\n")
            wait_for(server, "/live")  # the probe still answers beyond the cap
            status, headers, body = raw(server, post("/api/v1/typed", b'{"f": 1, "i": 1}'))
            assert_error(status, headers, body, 503, "overloaded")
            assert raw(server, b"GET /ready HTTP/1.1\r\nHost: job\r\nConnection: close\r\n\r\n")[0] == 200
        finally:
            for sock in busy:
                sock.close()
        deadline = time.monotonic() + 10
        while server.client.post("/api/v1/typed", json={"f": 1, "i": 1}).status_code != 200:
            assert time.monotonic() < deadline, "calls never came back after the busy connections closed"
            time.sleep(0.05)


def test_2_idle_connections_never_starve_live_with_few_file_descriptors():
    limited = ("sh", "-c", 'ulimit -n 256 && exec "$@"', "sh", *WRAPPER_RUN)
    with job_server(EDGE_JOB, command=limited) as server:
        idle = []
        try:
            for _ in range(300):
                idle.append(socket.create_connection(_address(server), timeout=10))
            status, _, body = raw(server, b"GET /live HTTP/1.1\r\nHost: job\r\nConnection: close\r\n\r\n", 10)
            assert status == 200 and json.loads(body)["live"] is True
        finally:
            for sock in idle:
                sock.close()
        assert_healthy(server)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/files/" + "a" * 300, "/api/v1/files/loop1", "/docs/assets/" + "a" * 300 + ".js"],
    ids=["long-name", "symlink-loop", "docs-asset-long-name"],
)
def test_3_unopenable_static_names_are_json_404(edge: ServerProcess, path: str):
    request = f"GET {path} HTTP/1.1\r\nHost: job\r\nConnection: close\r\n\r\n".encode()
    assert_error(*raw(edge, request), 404, "not_found")
    assert edge.client.get("/api/v1/files/hello.txt").text == "hello\n"
    assert "Traceback" not in edge.output()


def test_4_kwargs_field_named_self_is_a_422(edge: ServerProcess):
    error = assert_error(*raw(edge, post("/api/v1/perform", b'{"self": 1, "a": 2}')), 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "self"]
    assert edge.client.post("/api/v1/perform", json={"a": 1, "b": 2}).json() == ["a", "b"]


def test_5_integers_of_any_size_are_returned(edge: ServerProcess):
    response = edge.client.post("/api/v1/big", json={"digits": 5000})
    assert response.status_code == 200
    text = response.text
    assert text.startswith('{"value":1') and text.endswith("0}") and len(text) == len('{"value":}') + 5000


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_6_nan_and_infinity_literals_are_a_422(edge: ServerProcess, literal: bytes):
    body = b'{"value": [1, ' + literal + b"]}"
    error = assert_error(*raw(edge, post("/api/v1/echo", body)), 422, "validation_error")
    assert "NaN and Infinity" in error["error"]
    kwargs = b'{"x": ' + literal + b"}"
    assert_error(*raw(edge, post("/api/v1/perform", kwargs)), 422, "validation_error")
    assert edge.client.post("/api/v1/echo", json={"value": [1.5, None]}).json() == [1.5, None]


def test_7_calls_cut_off_by_shutdown_grace_get_a_json_503(tmp_path: Path):
    with job_server([*EDGE_JOB, "--shutdown-grace", "1"], log_dir=tmp_path) as server:
        with ThreadPoolExecutor(3) as pool:
            calls = [
                pool.submit(httpx.post, server.url + "/api/v1/nap", json={"seconds": 60}, timeout=30)
                for _ in range(3)
            ]
            deadline = time.monotonic() + 10
            while "fatman_calls_in_progress 3.0" not in server.client.get("/metrics").text:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            os.kill(server.process.pid, signal.SIGTERM)
            responses = [call.result() for call in calls]
        assert server.process.wait(15) == 0
        output = server.output()
    for response in responses:
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == ERROR_KEYS and response.json()["type"] == "shutting_down"
    assert output.count("stopped: shutdown_grace is over") == 3, output
    assert "CancelledError" not in output and "Traceback" not in output, output


def test_8_streaming_endpoints_declare_what_they_send(edge: ServerProcess):
    document = edge.client.get("/openapi.json").json()
    content = document["paths"]["/api/v1/count"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/x-ndjson", "text/event-stream"}
    ndjson = edge.client.post("/api/v1/count", json={"n": 3})
    assert ndjson.headers["content-type"] in content and ndjson.text.split() == ["0", "1", "2"]
    sse = edge.client.post("/api/v1/count", json={"n": 1}, headers={"accept": "text/event-stream"})
    assert sse.headers["content-type"].split(";")[0] in content


@pytest.mark.parametrize(
    "body",
    [
        b'{"f": false, "i": 1}',
        b'{"f": "3", "i": 1}',
        b'{"f": 1.0, "i": false}',
        b'{"f": 1.0, "i": "2"}',
        b'{"f": 1.0, "i": 2.5}',
    ],
)
def test_9_what_the_openapi_document_rejects_is_a_422(edge: ServerProcess, body: bytes):
    assert_error(*raw(edge, post("/api/v1/typed", body)), 422, "validation_error")
    assert edge.client.post("/api/v1/typed", json={"f": 3, "i": 2}).json() == [3.0, 2]


def test_10_upgrade_h2c_keeps_the_body(edge: ServerProcess):
    extra = (
        b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    )
    status, _, body = raw(edge, post("/api/v1/typed", b'{"f": 1.5, "i": 1}', extra))
    assert status == 200 and json.loads(body) == [1.5, 1]
    websocket = b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    status, _, body = raw(edge, post("/api/v1/typed", b'{"f": 2.5, "i": 1}', websocket))
    assert status == 200 and json.loads(body) == [2.5, 1]
    assert_healthy(edge)
