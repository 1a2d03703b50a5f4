"""The one place entrypoint methods get called: `async def` awaited, `def` in a thread pool."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, Protocol

from racetrack.wrapper.contract import Endpoint

DEFAULT_THREADS = 40


class Invoke(Protocol):
    """What the app awaits to run a call; the runtime replaces it to add limits, timeouts and workers."""

    async def __call__(self, endpoint: Endpoint, kwargs: dict[str, Any]) -> Any: ...


class ThreadInvoker:
    """Run sync methods in a thread pool (with the caller's context variables), await async ones."""

    def __init__(self, max_threads: int = DEFAULT_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_threads, thread_name_prefix="job-call")

    async def __call__(self, endpoint: Endpoint, kwargs: dict[str, Any]) -> Any:
        if endpoint.is_async:
            result = endpoint.method(**kwargs)
            if inspect.isasyncgen(result):
                return [item async for item in result]
            return await result
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, copy_context().run, call_sync, endpoint.method, kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def call_sync(method: Any, kwargs: dict[str, Any]) -> Any:
    """Call a sync method; a returned generator is drained into a list (streaming is the runtime's)."""
    result = method(**kwargs)
    if inspect.isgenerator(result):
        return list(result)
    return result
