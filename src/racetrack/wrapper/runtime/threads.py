"""A lean thread pool for `def` methods: results come back as asyncio futures, without concurrent.futures.

`concurrent.futures.ThreadPoolExecutor` + `asyncio.wrap_future` costs a condition variable, a work item, a
second future and two callbacks per call; here a call is one queue item and one `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from queue import SimpleQueue
from typing import Any


class ThreadCall:
    """One function call handed to a pool thread; `future` gets its outcome on the event loop.

    `finished` turns true in the thread as soon as the function returned or raised, even when nobody
    awaits `future` any more (a caller that timed out cancels nothing: a thread cannot be stopped).
    """

    __slots__ = ("future", "finished", "_loop", "_context", "_func", "_args", "_kwargs", "_on_finish")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future: asyncio.Future[Any] = loop.create_future()
        self.finished = False
        self._loop = loop
        self._context = context
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._on_finish: list[Callable[[ThreadCall], None]] | None = None

    def add_done_callback(self, callback: Callable[[ThreadCall], None]) -> None:
        """Run `callback(self)` on the event loop once the function finished (at once if it has)."""
        if self.finished:
            self._loop.call_soon(callback, self)
        elif self._on_finish is None:
            self._on_finish = [callback]
        else:
            self._on_finish.append(callback)

    def _run(self) -> tuple[Any, BaseException | None]:
        """In a pool thread: run the function in the caller's context; (result, None) or (None, error)."""
        try:
            outcome = self._context.run(self._func, *self._args, **self._kwargs), None
        except BaseException as exc:  # everything goes back to the awaiting caller, as with run_in_executor
            outcome = None, exc
        self.finished = True
        return outcome

    def _report(self, outcome: Any, error: BaseException | None) -> None:
        """From the pool thread: hand the outcome to the event loop."""
        with suppress(RuntimeError):  # raised when the loop is closed: nobody is left to tell
            self._loop.call_soon_threadsafe(self._settle, outcome, error)

    def _settle(self, outcome: Any, error: BaseException | None) -> None:
        future = self.future
        if not future.done():
            if error is None:
                future.set_result(outcome)
            elif isinstance(error, StopIteration):  # asyncio futures refuse StopIteration
                future.set_exception(RuntimeError(f"{self._func!r} raised StopIteration"))
            else:
                future.set_exception(error)
        if self._on_finish is not None:
            for callback in self._on_finish:
                callback(self)
        self._func = self._args = self._kwargs = self._context = None  # type: ignore[assignment]


class CallThreads:
    """Up to `max_threads` threads running `ThreadCall`s from one queue, started only when all are busy."""

    def __init__(self, max_threads: int, name_prefix: str = "call") -> None:
        self.max_threads = max_threads
        self._name_prefix = name_prefix
        self._queue: SimpleQueue[ThreadCall | None] = SimpleQueue()
        self._idle: deque[None] = deque()  # one token per thread waiting for work; deque ops are atomic
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(
        self,
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        func: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> ThreadCall:
        """Queue `context.run(func, *args, **kwargs)` for a pool thread; await the result as `.future`."""
        if self._closed:
            raise RuntimeError("the call threads were shut down")
        call = ThreadCall(loop, context, func, args, kwargs or {})
        try:
            self._idle.pop()  # claim a waiting thread for this call
        except IndexError:
            if len(self._threads) < self.max_threads:
                self._start_thread()
        self._queue.put(call)
        return call

    def shutdown(self) -> None:
        """Let each thread end once the calls queued before are done; running calls are not waited for."""
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)

    def _start_thread(self) -> None:
        name = f"{self._name_prefix}_{len(self._threads)}"
        thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        get, idle = self._queue.get, self._idle
        while (call := get()) is not None:
            outcome, error = call._run()
            idle.append(None)  # before reporting, so a caller resuming at once finds this thread idle
            call._report(outcome, error)
            del call, outcome, error  # hold no result or context while waiting for the next call
