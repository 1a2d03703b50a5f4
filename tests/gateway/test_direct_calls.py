"""The gateway's protocol answers plain job calls itself (racetrack.gateway.serving); what it leaves to the
ASGI cycle still works, on the same connection: pipelined requests, big and 100-continue bodies, close."""

from __future__ import annotations

import json
import socket
import time

import httpx
from gateway_helpers import ALICE, Stack

from racetrack.gateway.serving import DIRECT_MAX_BODY

PERFORM = "/pub/job/adder/latest/api/v1/perform"
BIG = b'{"x": 5, "y": 6' + b" " * (DIRECT_MAX_BODY + 1) + b"}"  # 11, in a body over the direct path's limit


def request(
    body: bytes, path: str = PERFORM, method: str = "POST", extra: str = "", length: int | None = None
) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: gw\r\nX-Racetrack-Auth: {ALICE}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) if length is None else length}\r\n"
        f"{extra}\r\n"
    )
    return head.encode() + body


def connect(stack: Stack) -> socket.socket:
    host, port = stack.gateway.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_answers(sock: socket.socket, count: int) -> list[tuple[str, dict[str, str], bytes]]:
    """`count` answers with Content-Length bodies, read off one connection in order."""
    data, answers = b"", []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} answer(s): {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        while len(data) < length:
            data += sock.recv(65536)
        answers.append((status, headers, data[:length]))
        data = data[length:]
    return answers


def test_pipelined_requests_get_their_own_answers_in_order(stack: Stack) -> None:
    calls = [
        request(b'{"x": 1, "y": 2}'),
        request(b"", "/pub/live", "GET"),  # a gateway route: the ASGI cycle, queued behind a direct call
        request(b'{"x": 3, "y": 4}'),
        request(BIG),  # too big for the direct path: the ASGI cycle
        request(b'{"x": 7, "y": 8}'),
    ]
    with connect(stack) as sock:
        sock.sendall(b"".join(calls))
        answers = read_answers(sock, len(calls))
    assert [status for status, _, _ in answers] == ["HTTP/1.1 200 OK"] * len(calls), answers
    results = [json.loads(body) for _, _, body in answers]
    assert results[0] == 3 and results[1]["live"] is True and results[2:] == [7, 11, 15]
    ids = [headers["x-request-tracing-id"] for _, headers, _ in answers]
    assert len(set(ids)) == len(ids)
    assert all("date" in headers for _, headers, _ in answers)


def test_connection_close_is_honoured(stack: Stack) -> None:
    with connect(stack) as sock:
        sock.sendall(request(b'{"x": 2, "y": 2}', extra="Connection: close\r\n"))
        [(status, headers, body)] = read_answers(sock, 1)
        assert status == "HTTP/1.1 200 OK" and json.loads(body) == 4
        assert headers["connection"] == "close"
        sock.settimeout(5)
        assert sock.recv(100) == b""  # the gateway closed its end


def test_expect_100_continue_and_a_big_body_take_the_asgi_path(stack: Stack) -> None:
    client = stack.gateway.client
    headers = {"X-Racetrack-Auth": ALICE, "Content-Type": "application/json"}
    response = client.post(PERFORM, content=BIG, headers=headers)
    assert response.status_code == 200 and response.json() == 11
    assert response.headers["x-request-tracing-id"]
    with connect(stack) as sock:
        sock.sendall(request(b"", extra="Expect: 100-continue\r\n", length=16))
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(b'{"x": 6, "y": 1}')
        [(status, _, body)] = read_answers(sock, 1)
        assert status == "HTTP/1.1 200 OK" and json.loads(body) == 7


def test_a_caller_leaving_mid_call_does_not_disturb_the_next_calls(stack: Stack) -> None:
    for _ in range(3):
        with connect(stack) as sock:
            sock.sendall(request(b'{"x": 1, "y": 1}'))
    response = httpx.post(
        stack.gateway.url + PERFORM, json={"x": 2, "y": 3}, headers={"X-Racetrack-Auth": ALICE}
    )
    assert response.status_code == 200 and response.json() == 5


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(stack: Stack) -> None:
    """uvicorn's default of 5 s, counted from the last answer: a call within it keeps the connection."""
    with connect(stack) as sock:
        sock.sendall(request(b'{"x": 1, "y": 1}'))
        assert json.loads(read_answers(sock, 1)[0][2]) == 2
        time.sleep(3)
        sock.sendall(request(b'{"x": 2, "y": 1}'))
        assert json.loads(read_answers(sock, 1)[0][2]) == 3
        answered = time.monotonic()
        sock.settimeout(10)
        assert sock.recv(100) == b""
        assert 4.5 <= time.monotonic() - answered <= 7.5
