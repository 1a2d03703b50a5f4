"""The gateway's one retry on another replica, against tiny in-process HTTP replicas: a refused connection,
a connection closed unanswered, and the wrapper's 503 `shutting_down` are retried; a replica that answered
is not, a streamed body is not re-sent, and replicas that did not take a call are tried last for a while."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from racetrack.gateway.auth import JobTarget
from racetrack.gateway.errors import NoReplicaAnswered
from racetrack.gateway.proxy import Proxy
from server_process import free_port

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answer(status: int, body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + data


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    lengths = [line.split(b":")[1] for line in lines if line.startswith(b"content-length")]
    length = int(lengths[0]) if lengths else 0
    await reader.readexactly(length)


def replying(status: int, body: dict) -> Behaviour:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer(status, body))
        await writer.drain()
        writer.close()

    return reply


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)  # took the call, then died without a byte of answer
    writer.close()


OK = replying(200, {"ok": True})
SHUTTING_DOWN = replying(503, {"error": "draining", "type": "shutting_down", "details": None})
JOB_503 = replying(503, {"error": "the job's own 503", "type": "internal_error"})


async def run(behaviours: list[Behaviour | None], calls: int, body: bytes = b"{}") -> tuple[Counter, list]:
    """`calls` calls over replicas behaving as given (None: nothing listens); statuses served by index."""
    servers, urls = [], []
    for behaviour in behaviours:
        port = free_port()
        if behaviour is not None:
            servers.append(await asyncio.start_server(behaviour, "127.0.0.1", port))
        urls.append(f"http://127.0.0.1:{port}")
    proxy = Proxy(b"secret", 5)
    job = JobTarget("adder", "1.0.0", "running", tuple(urls))
    served: Counter = Counter()
    errors: list = []
    try:
        for _ in range(calls):
            payload: bytes | AsyncIterator[bytes] = body if body != b"stream" else _stream()
            try:
                response, replica = await proxy.send_request(job, None, "POST", b"/x", [], payload, 5)
            except NoReplicaAnswered as error:
                errors.append(str(error))
                continue
            served[(urls.index(replica), response.status)] += 1
            response.close()
    finally:
        proxy.close()
        for server in servers:
            server.close()
            await server.wait_closed()
    return served, errors


async def _stream() -> AsyncIterator[bytes]:
    yield b'{"x": 1}'


def test_refused_hung_up_and_shutting_down_replicas_are_retried_once_elsewhere() -> None:
    served, errors = asyncio.run(run([None, OK, hang_up, OK, SHUTTING_DOWN, OK], calls=30))
    assert errors == [] and set(served) == {(1, 200), (3, 200), (5, 200)}, served
    assert sum(served.values()) == 30 and min(served.values()) >= 5  # still spread over the good ones


def test_an_answer_is_never_retried_and_the_last_attempt_is_relayed() -> None:
    served, errors = asyncio.run(run([JOB_503, OK], calls=4))
    assert errors == [] and served == {(0, 503): 2, (1, 200): 2}  # the job's own 503 is its answer
    served, errors = asyncio.run(run([SHUTTING_DOWN], calls=2))
    assert errors == [] and served == {(0, 503): 2}  # nowhere else to go: the 503 reaches the caller


def test_a_streamed_body_is_not_sent_twice() -> None:
    served, errors = asyncio.run(run([hang_up, OK], calls=2, body=b"stream"))
    assert served == {(1, 200): 1} and len(errors) == 1 and "without answering" in errors[0]
    served, errors = asyncio.run(run([None, OK], calls=2, body=b"stream"))  # a refused connect sent nothing
    assert errors == [] and served == {(1, 200): 2}


@pytest.mark.parametrize("bad", [None, hang_up])
def test_both_attempts_failing_is_502(bad: Behaviour | None) -> None:
    _, errors = asyncio.run(run([bad, bad], calls=1))
    assert len(errors) == 1 and "connection refused to a target job" in errors[0]
