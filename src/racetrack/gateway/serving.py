"""uvicorn's httptools protocol, writing each response's head together with the body that follows it; the
standalone gateway and the control plane (which mounts the gateway at /pub) serve through it.

uvicorn writes a response head and its body with two `transport.write` calls: two syscalls and two TCP
segments, so the caller is woken twice per answer. Here the head waits for the next write (the body, in the
same step of the app as a rule) or, at the latest, for the end of the event loop iteration.

The job's edge does not use it: behind the gateway its requests arrive one at a time, and the flush scheduled
per response costs it an extra loop iteration each (measured: docs/benchmarks.md, "Gateway").
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadHolder:
    """The transport one request's cycle writes to: its first write is held until the next one, a close,
    or the end of the loop iteration, whichever comes first; the rest goes straight to `transport`."""

    __slots__ = ("transport", "loop", "held", "fresh")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport, self.loop = transport, loop
        self.held: bytes | None = None
        self.fresh = True

    def write(self, data: bytes) -> None:
        if self.fresh:
            self.fresh = False
            self.held = data
            self.loop.call_soon(self.flush)
            return
        held = self.held
        if held is not None:
            self.held = None
            data = held + data
        self.transport.write(data)

    def flush(self) -> None:
        """Write what is held, unless the connection is already gone."""
        held = self.held
        if held is not None:
            self.held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class GatewayHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request cycles write through a `HeadHolder`."""

    def data_received(self, data: bytes) -> None:
        self._flush_held()  # what the protocol itself may answer (a 400, an upgrade) goes after it
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport and not cycle.response_started:
            cycle.transport = HeadHolder(self.transport, self.loop)  # type: ignore[assignment]

    def _flush_held(self) -> None:
        cycle = self.cycle
        if cycle is not None and isinstance(cycle.transport, HeadHolder):
            cycle.transport.flush()
