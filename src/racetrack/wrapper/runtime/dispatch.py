"""Admission and execution of entrypoint method calls: bounded concurrency and queue, deadlines, streams.

`Dispatcher.call(name, kwargs, timeout)` admits a call (429 at once when `max_concurrency` calls execute and
`max_queue` wait), then runs it: `async def` on the event loop, `def` in a thread pool, or everything in
worker processes (`workers.WorkerPool`). Generators come back as a `CallStream` of items.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import time
import types
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from racetrack.wrapper.errors import CallError, CallTimeout, NotReady, Overloaded, ShuttingDown, WorkerDied
from racetrack.wrapper.runtime.threads import CallThreads, ThreadCall
from racetrack.wrapper.settings import setting_hint
from racetrack.wrapper.telemetry.metrics import dispatch_metrics

if TYPE_CHECKING:
    from racetrack.wrapper.runtime.workers import WorkerPool

Resolve = Callable[[str], Callable[..., Any]]

_END = object()
_EXPIRED = object()  # the outcome of a thread call whose deadline passed first


@dataclass(frozen=True)
class SettingHints:
    """The settings that call errors tell the user to change, named as in the job's manifest file."""

    capacity: str
    timeout: str
    manifest: str

    @classmethod
    def for_manifest(cls, manifest_file: str) -> SettingHints:
        return cls(
            setting_hint(manifest_file, "max_concurrency", "max_queue"),
            setting_hint(manifest_file, "request_timeout", "endpoint_timeouts"),
            manifest_file or "the job manifest",
        )


class deadline_at:  # noqa: N801 - named and used like asyncio.timeout_at
    """`with deadline_at(when):` raises TimeoutError if the block still runs at loop time `when` (None: no
    deadline).

    asyncio.timeout_at's semantics as a plain context manager, at a quarter of its cost (3 us instead of
    12 us, measured): it sits on the path of every call.
    """

    __slots__ = ("_when", "_task", "_handle", "_expired")

    def __init__(self, when: float | None) -> None:
        self._when = when
        self._handle: asyncio.TimerHandle | None = None
        self._expired = False

    def __enter__(self) -> deadline_at:
        if self._when is not None:
            self._task = asyncio.current_task()
            self._handle = asyncio.get_running_loop().call_at(self._when, self._expire)
        return self

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()  # type: ignore[union-attr]

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._expired and self._task.uncancel() == 0 and exc_type is asyncio.CancelledError:  # type: ignore[union-attr]
            raise TimeoutError from exc


class _Slot:
    """One admitted call's execution slot; released once, possibly only after abandoned work finishes."""

    __slots__ = ("_dispatcher", "_started", "_released", "abandoned", "name", "timeout")

    def __init__(self, dispatcher: Dispatcher, name: str, timeout: float | None) -> None:
        self._dispatcher = dispatcher
        self._started = time.monotonic()
        self._released = False
        self.abandoned = False
        self.name = name
        self.timeout = timeout

    def release(self) -> None:
        """Free the slot, unless `release_after` handed that job to still-running work."""
        if self.abandoned or self._released:
            return
        self._released = True
        self._dispatcher._release(time.monotonic() - self._started)

    def release_after(self, work: ThreadCall | asyncio.Future[Any]) -> None:
        """The caller is gone but `work` still runs: keep the slot taken until it ends (honest counts)."""
        if self.abandoned:
            return
        self.abandoned = True
        loop = self._dispatcher._loop

        def finished(_: object) -> None:
            self.abandoned = False
            self.release()

        work.add_done_callback(lambda _: loop.call_soon_threadsafe(finished, None))

    def count_timeout(self) -> None:
        self._dispatcher._timeouts.inc()

    def timeout_message(self, still_running: bool) -> str:
        hints = self._dispatcher.hints
        text = f"the call to {self.name} did not finish within {self.timeout:g} s ({hints.timeout})"
        if still_running:
            text += (
                "; it runs in the server process where it cannot be stopped, so it keeps running in the"
                f" background (set jobtype_extra.workers >= 1 in {hints.manifest} to have timed-out calls"
                " stopped)"
            )
        return text


class CallStream:
    """Items of a streaming call, pulled on demand; `aclose()` stops the generator and frees the slot."""

    def __init__(self, source: AsyncGenerator[Any, None], slot: _Slot) -> None:
        self._source = source
        self._slot = slot
        self._closed = False

    def __aiter__(self) -> CallStream:
        return self

    async def __anext__(self) -> Any:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await anext(self._source)
        except BaseException as exc:
            if isinstance(exc, CallTimeout):
                self._slot.count_timeout()
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._source.aclose()
        finally:
            self._slot.release()


class _Kind:
    SYNC, ASYNC, SYNC_GEN, ASYNC_GEN = range(4)


def _kind_of(func: Callable[..., Any]) -> int:
    if inspect.isasyncgenfunction(func):
        return _Kind.ASYNC_GEN
    if inspect.iscoroutinefunction(func):
        return _Kind.ASYNC
    if inspect.isgeneratorfunction(func):
        return _Kind.SYNC_GEN
    return _Kind.SYNC


class Dispatcher:
    """Runs entrypoint method calls with bounded concurrency, a bounded queue and deadlines.

    `resolve(name)` gives the callable for a method name (used in-process, cached per name); with
    `workers`, calls go to the worker processes instead and concurrency is capped at their number.
    """

    def __init__(
        self,
        resolve: Resolve | None = None,
        *,
        max_concurrency: int = 8,
        max_queue: int = 64,
        workers: WorkerPool | None = None,
        registry: CollectorRegistry | None = None,
        metric_prefix: str = "fatman",
        manifest_file: str = "",
    ) -> None:
        if resolve is None and workers is None:
            raise ValueError("Dispatcher needs resolve (in-process calls) or workers (worker processes)")
        self.max_concurrency = min(max_concurrency, workers.size) if workers else max_concurrency
        self.max_queue = max_queue
        self._resolve = resolve
        self._resolved: dict[str, tuple[Callable[..., Any], int]] = {}
        self._workers = workers
        self._threads = None if workers else CallThreads(max_concurrency)
        self._executing = 0
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._average_seconds = 0.0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.hints = SettingHints.for_manifest(manifest_file)
        self._register_metrics(registry, metric_prefix)

    def _register_metrics(self, registry: CollectorRegistry | None, prefix: str) -> None:
        metrics = dispatch_metrics(registry, prefix, lambda: self._executing, lambda: len(self._waiters))
        self._wait_seconds = metrics.wait_seconds
        self._rejected = metrics.rejected
        self._timeouts = metrics.timeouts
        self._abandoned = metrics.abandoned

    @property
    def executing(self) -> int:
        return self._executing

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def close(self) -> None:
        """Refuse new calls with `ShuttingDown`; admitted calls carry on."""
        self._closed = True

    def shutdown_threads(self) -> None:
        """Stop the thread pool once no call needs it (threads still running are not waited for)."""
        if self._threads is not None:
            self._threads.shutdown()

    async def call(self, name: str, kwargs: dict[str, Any], timeout: float | None) -> Any:
        """Run method `name` with `kwargs`; a generator method gives a `CallStream` (close it when done)."""
        if self._closed:
            raise ShuttingDown()
        loop = self._loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        slot = await self._admit(name, timeout, deadline)
        try:
            if self._workers is not None:
                result = await self._workers.call(name, kwargs, deadline, slot)
            else:
                result = await self._run_here(name, kwargs, deadline, slot)
        except BaseException as exc:
            slot.release()
            if isinstance(exc, TimeoutError | CallTimeout):
                self._timeouts.inc()
            if isinstance(exc, TimeoutError):
                raise CallTimeout(slot.timeout_message(still_running=False)) from None
            raise
        if isinstance(result, types.AsyncGeneratorType):  # a stream (the ABC check costs more)
            return CallStream(result, slot)
        slot.release()
        return result

    async def _admit(self, name: str, timeout: float | None, deadline: float | None) -> _Slot:
        if self._executing < self.max_concurrency and not self._waiters:
            self._executing += 1
            self._wait_seconds.observe(0.0)
            return _Slot(self, name, timeout)
        if len(self._waiters) >= self.max_queue:
            self._rejected.inc()
            retry_after = self._retry_after()
            raise Overloaded(
                f"the job is at capacity: {self._executing} calls executing and {len(self._waiters)} waiting"
                f" ({self.hints.capacity}); retry after {retry_after} s",
                retry_after,
            )
        loop = self._loop
        assert loop is not None
        turn: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(turn)
        started = time.monotonic()
        # A timer on the awaited future, not a cancel scope: no task lookup, nothing to uncancel.
        timer = None if deadline is None else loop.call_at(deadline, _expire, turn)
        try:
            outcome = await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.result() is None:
                self._release(None)  # the slot was handed over just as we gave up: pass it on
            else:
                self._stop_waiting(turn)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._wait_seconds.observe(time.monotonic() - started)
        if outcome is _EXPIRED:
            self._stop_waiting(turn)
            self._timeouts.inc()
            raise CallTimeout(
                f"the call to {name} waited {timeout:g} s for a free slot and never started"
                f" ({self.hints.timeout}); the job is overloaded ({self.hints.capacity})"
            )
        return _Slot(self, name, timeout)

    def _stop_waiting(self, turn: asyncio.Future[Any]) -> None:
        with suppress(ValueError):
            self._waiters.remove(turn)

    def _release(self, duration: float | None) -> None:
        if duration is not None:
            avg = self._average_seconds
            self._average_seconds = duration if avg == 0.0 else 0.9 * avg + 0.1 * duration
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # hand this slot straight to the longest waiter
                return
        self._executing -= 1

    def _retry_after(self) -> int:
        """Seconds until a queue place is likely free: average call time x calls ahead / slots."""
        ahead = len(self._waiters) + 1
        return max(1, min(3600, math.ceil(self._average_seconds * ahead / self.max_concurrency)))

    def _resolve_cached(self, name: str) -> tuple[Callable[..., Any], int]:
        found = self._resolved.get(name)
        if found is None:
            assert self._resolve is not None
            func = self._resolve(name)
            found = self._resolved[name] = (func, _kind_of(func))
        return found

    async def _run_here(self, name: str, kwargs: dict[str, Any], deadline: float | None, slot: _Slot) -> Any:
        func, kind = self._resolve_cached(name)
        if kind == _Kind.ASYNC:
            with deadline_at(deadline):
                result = await func(**kwargs)
        elif kind == _Kind.SYNC:
            result = await self._in_thread(slot, deadline, contextvars.copy_context(), func, (), kwargs)
        else:
            result = func(**kwargs)  # creating a generator runs none of its code
        if isinstance(result, types.GeneratorType):
            return self._pull_sync(result, deadline, slot)
        if isinstance(result, types.AsyncGeneratorType):
            return _pull_async(result, deadline, slot)
        return result

    async def _in_thread(
        self,
        slot: _Slot,
        deadline: float | None,
        context: contextvars.Context,
        func: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """`func(*args, **kwargs)` in a pool thread, in `context`; past the deadline the caller gets 504
        while the thread, which cannot be stopped, keeps the slot until it ends (counted as abandoned)."""
        assert self._threads is not None and self._loop is not None
        loop = self._loop
        work = self._threads.submit(loop, context, func, args, kwargs)
        # A timer on the awaited future, not a cancel scope: no task lookup, nothing to uncancel.
        timer = None if deadline is None else loop.call_at(deadline, _expire, work.future)
        try:
            result = await work.future
        except BaseException:
            self._abandon_if_running(work, slot)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if result is _EXPIRED:
            raise CallTimeout(slot.timeout_message(self._abandon_if_running(work, slot)))
        return result

    def _abandon_if_running(self, work: ThreadCall, slot: _Slot) -> bool:
        """The caller stopped waiting: if the thread still runs, it keeps the slot until it ends."""
        if work.finished:
            return False
        self._abandoned.inc()
        slot.release_after(work)
        return True

    async def _pull_sync(
        self, generator: types.GeneratorType[Any, None, None], deadline: float | None, slot: _Slot
    ) -> AsyncGenerator[Any, None]:
        context = contextvars.copy_context()
        try:
            while True:
                item = await self._in_thread(slot, deadline, context, next, (generator, _END))
                if item is _END:
                    return
                yield item
        finally:
            if not slot.abandoned:  # a thread still inside the generator would make close() fail
                await self._in_thread(slot, None, context, generator.close)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(_EXPIRED)


async def _pull_async(
    generator: AsyncGenerator[Any, None], deadline: float | None, slot: _Slot
) -> AsyncGenerator[Any, None]:
    try:
        while True:
            try:
                with deadline_at(deadline):
                    item = await anext(generator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise CallTimeout(slot.timeout_message(still_running=False)) from None
            yield item
    finally:
        await generator.aclose()


__all__ = [
    "CallError",
    "CallStream",
    "CallTimeout",
    "Dispatcher",
    "NotReady",
    "Overloaded",
    "ShuttingDown",
    "WorkerDied",
]
