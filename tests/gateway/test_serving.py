"""The standalone gateway's HTTP protocol: a response head leaves with its body, in order, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from racetrack.gateway.headers import tracing_id
from racetrack.gateway.serving import HeadHolder


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
