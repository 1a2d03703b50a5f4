"""The gateway's HTTP protocol: a response head leaves with its body, in order, never lost; plain job calls
are answered by the protocol itself, everything else by the ASGI app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from uvicorn.config import Config
from uvicorn.server import ServerState

from racetrack.gateway.app import JobCall
from racetrack.gateway.headers import tracing_id
from racetrack.gateway.serving import DIRECT_MAX_BODY, DirectAnswer, HeadHolder, gateway_protocol


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def with_holder(scenario: Callable[[FakeTransport, HeadHolder], Awaitable[None]]) -> None:
    """Run `scenario` on an event loop with a holder over a fresh fake transport."""

    async def main() -> None:
        transport = FakeTransport()
        await scenario(transport, HeadHolder(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]

    asyncio.run(main())


def test_head_and_body_in_one_write() -> None:
    async def scenario(transport: FakeTransport, holder: HeadHolder) -> None:
        holder.write(b"head")
        assert transport.writes == []
        holder.write(b"body")
        holder.write(b"more")
        await asyncio.sleep(0)
        assert transport.writes == [b"headbody", b"more"]

    with_holder(scenario)


def test_a_lone_head_leaves_at_the_end_of_the_iteration() -> None:
    async def scenario(transport: FakeTransport, holder: HeadHolder) -> None:
        holder.write(b"head")
        await asyncio.sleep(0)
        assert transport.writes == [b"head"]
        holder.write(b"chunk")
        assert transport.writes == [b"head", b"chunk"]

    with_holder(scenario)


def test_close_sends_the_head_first() -> None:
    async def scenario(transport: FakeTransport, holder: HeadHolder) -> None:
        holder.write(b"head")
        holder.close()
        assert transport.writes == [b"head"] and transport.closed

    with_holder(scenario)


def test_a_lost_connection_gets_nothing_more() -> None:
    async def scenario(transport: FakeTransport, holder: HeadHolder) -> None:
        holder.write(b"head")
        transport.closed = True
        await asyncio.sleep(0)
        assert transport.writes == []

    with_holder(scenario)


def test_generated_tracing_ids_differ() -> None:
    ids = {tracing_id([]) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


class FakeGateway:
    """Records the job calls the protocol hands it and answers each with the sum of x and y."""

    started = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, bytes, bytes]] = []

    async def job_call(self, call: JobCall, body: bytes, answer: DirectAnswer) -> None:
        self.calls.append((call.method, call.rest, call.query, body))
        numbers = json.loads(body)
        await answer.whole(
            200, [(b"content-type", b"application/json")], b"%d" % (numbers["x"] + numbers["y"])
        )


class SocketTransport(FakeTransport):
    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 7105)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def asgi_app(scope: dict, receive: object, send: Callable[[dict], Awaitable[None]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
    await send({"type": "http.response.body", "body": b"asgi"})


def feed(data: bytes) -> tuple[FakeGateway, SocketTransport]:
    """`data` fed to a gateway protocol over a fake connection; what the gateway got and what was written."""
    gateway, transport = FakeGateway(), SocketTransport()

    async def main() -> None:
        config = Config(app=asgi_app, ws="wsproto", lifespan="off", log_config=None)
        config.load()
        protocol_class = gateway_protocol(gateway)  # type: ignore[arg-type]
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(data)
        for _ in range(20):
            await asyncio.sleep(0)
        protocol.connection_lost(None)

    asyncio.run(main())
    return gateway, transport


def raw_request(path: str, body: bytes, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"POST {path} HTTP/{version}", "Host: gw", f"Content-Length: {len(body)}", *extra, "", ""]
    return "\r\n".join(lines).encode() + body


def test_a_plain_job_call_is_answered_by_the_protocol_in_one_write() -> None:
    gateway, transport = feed(raw_request("/pub/job/adder/latest/api/v1/perform?a=1", b'{"x": 2, "y": 3}'))
    assert gateway.calls == [("POST", b"adder/latest/api/v1/perform", b"a=1", b'{"x": 2, "y": 3}')]
    [written] = transport.writes
    assert written.startswith(b"HTTP/1.1 200 OK\r\n") and written.endswith(b"\r\n\r\n5")
    assert b"content-length: 1\r\n" in written


def test_what_the_direct_path_leaves_goes_to_the_asgi_app() -> None:
    call = b'{"x": 1, "y": 1}'
    job = "/pub/job/adder/latest/api/v1/perform"
    for data in (
        raw_request("/pub/live", b""),
        raw_request(job, call, "Expect: 100-continue"),
        raw_request(job, call, version="1.0"),
        raw_request(job, b"x" * (DIRECT_MAX_BODY + 1)),
        b"POST "
        + job.encode()
        + b" HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ):
        gateway, transport = feed(data)
        assert gateway.calls == [], data
        assert b"".join(transport.writes).endswith(b"asgi"), (data, transport.writes)


def test_a_request_pipelined_behind_a_direct_call_waits_for_its_answer() -> None:
    job = "/pub/job/adder/latest/api/v1/perform"
    gateway, transport = feed(raw_request(job, b'{"x": 1, "y": 2}') + raw_request("/pub/live", b""))
    assert len(gateway.calls) == 1
    written = b"".join(transport.writes)
    assert written.index(b"\r\n\r\n3") < written.index(b"asgi")
