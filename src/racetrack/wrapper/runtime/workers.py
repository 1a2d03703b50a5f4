"""Worker processes: each builds its own entrypoint instance and serves one call at a time over a pipe.

A call past its deadline gets its worker SIGKILLed (the work really stops) and a replacement started;
a worker that dies on its own is replaced too, and only the call it was serving fails. When the client
leaves, an `async def` call is cancelled in its worker; a sync call runs on to its end or its deadline.

With `workers: N` only the N workers run the entrypoint's `__init__`: the server process reads the
signatures, auxiliary and static endpoints and examples from an instance whose `__init__` has not run, and
each worker resolves a call by its endpoint path on its own instance (`resolve_method`). When that reading
fails, or the class defines `webview_app` (served by the server process), the server builds a full instance
too (logged at INFO), and a model loaded in `__init__` is in memory N + 1 times (see `http.surface.load_job`).
A worker whose endpoint or static paths differ from the server's is a load failure (`check_routes`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
import types
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.types import Scope

from racetrack.wrapper.contract.job import Routes, instance_routes
from racetrack.wrapper.contract.loader import LoadError, error_from_exception, load_entrypoint
from racetrack.wrapper.errors import CallTimeout, NotReady, WorkerDied
from racetrack.wrapper.runtime.messages import (
    Call,
    Cancel,
    Close,
    Closed,
    Died,
    End,
    Failed,
    Item,
    Loaded,
    LoadFailed,
    MetricsReply,
    Next,
    Reply,
    Result,
    Stop,
    StreamStarted,
)
from racetrack.wrapper.runtime.messages import Request as WorkerRequest
from racetrack.wrapper.telemetry.metrics import worker_metrics
from racetrack.wrapper.telemetry.tracing import request_id_var


class _Slot(Protocol):
    """What a worker call needs of the dispatcher's execution slot (dispatch._Slot; no import back)."""

    def timeout_message(self, still_running: bool) -> str: ...

    def release_after(self, work: asyncio.Future[Any]) -> None: ...


logger = logging.getLogger(__name__)

_PERFORM_NAMES = ("perform", "/perform")


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to build its own entrypoint instance (sent to it pickled)."""

    entrypoint_path: str
    entrypoint_class: str | None
    root: str
    env: dict[str, str] = field(default_factory=dict)
    log_level: str | None = None
    log_structured: bool | None = None


class RemoteError(Exception):
    """An exception raised by user code in a worker process; `type_name` is the original class name."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


class RemoteValueError(RemoteError, ValueError):
    """A ValueError (the caller's fault) raised in a worker process."""


class _RemoteTraceback(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)

    def __str__(self) -> str:
        return str(self.args[0])


def resolve_method(instance: object, name: str) -> Callable[..., Any]:
    """`perform` or `/perform` -> `instance.perform`; another `/path` -> `auxiliary_endpoints()[path]`."""
    if name in _PERFORM_NAMES:
        return instance.perform  # type: ignore[attr-defined]
    if name.startswith("/"):
        endpoints = instance.auxiliary_endpoints()  # type: ignore[attr-defined]
        return endpoints.get(name) or endpoints[name.lstrip("/")]
    return getattr(instance, name)


# What of an HTTP scope a worker needs to rebuild the request for `self.request_context` (all picklable).
_SCOPE_KEYS = (
    "type", "asgi", "http_version", "method", "scheme", "server", "client",
    "root_path", "path", "raw_path", "query_string", "headers",
)  # fmt: skip


def picklable_scope(scope: Scope) -> dict[str, Any]:
    """The request's method, URL parts, headers and client, to build a starlette Request in a worker."""
    return {key: scope[key] for key in _SCOPE_KEYS if key in scope}


def describe_exit(exitcode: int | None) -> str:
    """'killed by signal SIGKILL' or 'exit code 3'."""
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by signal {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


# ---------------------------------------------------------------- inside the worker process


def _worker_main(spec: WorkerSpec, calls: Connection, metrics: Connection) -> None:
    """Entry point of a worker process: load the entrypoint, then serve calls until the pipe closes."""
    os.setpgrp()  # own process group: a timeout kill also takes any subprocesses the job started
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C and SIGTERM are the server's to handle
    os.chdir(spec.root)
    os.environ.update(spec.env)
    from racetrack.wrapper.telemetry.logs import configure_logging

    configure_logging(spec.log_level, spec.log_structured)
    root = Path(spec.root)
    try:
        instance = load_entrypoint(root / spec.entrypoint_path, spec.entrypoint_class, root)
        routes = instance_routes(instance, root)
    except BaseException as exc:
        error = exc if isinstance(exc, LoadError) else error_from_exception("loading failed", exc, root)
        _send(calls, LoadFailed(error.message, error.exception_type, error.location, error.traceback))
        return
    _send(calls, Loaded(os.getpid(), routes))
    threading.Thread(target=_serve_metrics, args=(instance, metrics), name="metrics", daemon=True).start()
    _CallServer(instance, calls).run()


def _send(conn: Connection, message: Reply | MetricsReply) -> None:
    try:
        payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        value = getattr(message, "value", getattr(message, "entries", None))
        payload = pickle.dumps(
            _error_message(
                TypeError(
                    f"the result ({type(value).__module__}.{type(value).__qualname__}) cannot be sent"
                    f" back from the worker process because it cannot be pickled: {exc};"
                    " return plain data instead"
                )
            )
        )
    conn.send_bytes(payload)


def _error_message(exc: BaseException) -> Failed:
    text = "".join(traceback.format_exception(exc))
    return Failed(type(exc).__name__, str(exc), isinstance(exc, ValueError), text)


class _CallServer:
    """Serves call / next / close requests from the server process, one call at a time.

    While an `async def` call (or an async generator's next item) runs, the pipe is watched: a "cancel"
    from the server (its client left) cancels it. A sync call cannot be interrupted and runs to its end.
    """

    def __init__(self, instance: object, conn: Connection) -> None:
        self.instance = instance
        self.conn = conn
        self.loop = asyncio.new_event_loop()
        self.stopping = False
        self.request_context: ContextVar[Any] | None = None
        if not hasattr(instance, "request_context"):  # as in the server process (JobApp._install)
            self.request_context = ContextVar("request_context")
            instance.request_context = self.request_context  # type: ignore[attr-defined]

    def run(self) -> None:
        while not self.stopping:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                return
            if isinstance(message, Cancel):
                continue  # for a call that had already ended
            if not isinstance(message, Call):
                return
            name, kwargs, scope = message.name, message.kwargs, message.scope
            token = request_id_var.set(message.request_id)
            context = self.request_context
            context_token = context.set(Request(scope)) if context is not None and scope is not None else None
            try:
                self._serve(name, kwargs)
            finally:
                if context_token is not None:
                    context.reset(context_token)  # type: ignore[union-attr]
                request_id_var.reset(token)

    def _serve(self, name: str, kwargs: dict[str, Any]) -> None:
        try:
            result = resolve_method(self.instance, name)(**kwargs)
            if inspect.isawaitable(result):
                result = self._await(result)
        except BaseException as exc:
            _send(self.conn, _error_message(exc))
            return
        if isinstance(result, types.GeneratorType):
            self._stream(result.__next__, result.close)
        elif isinstance(result, types.AsyncGeneratorType):
            agen = result
            self._stream(lambda: self._await(anext(agen)), lambda: self._await(agen.aclose()))
        else:
            _send(self.conn, Result(result))

    def _await(self, awaitable: Awaitable[Any]) -> Any:
        """Run `awaitable` on this process's loop until done, or cancelled by a "cancel" from the server."""
        task = asyncio.ensure_future(awaitable, loop=self.loop)
        fd = self.conn.fileno()
        self.loop.add_reader(fd, self._on_message, task, fd)
        try:
            return self.loop.run_until_complete(task)
        finally:
            self.loop.remove_reader(fd)

    def _on_message(self, task: asyncio.Future[Any], fd: int) -> None:
        try:
            message = self.conn.recv()
        except (EOFError, OSError):  # the server process is gone
            message = Stop()
            self.loop.remove_reader(fd)
        if isinstance(message, Cancel):
            logger.info("the client left: cancelling the call")
            task.cancel()
        elif isinstance(message, Stop):
            self.stopping = True  # once this call is done

    def _stream(self, next_item: Callable[[], Any], close: Callable[[], None]) -> None:
        _send(self.conn, StreamStarted())
        while True:
            try:
                request = self.conn.recv() if not self.stopping else Stop()
            except (EOFError, OSError):
                close()
                return
            if isinstance(request, Cancel):
                continue  # sent while this stream started; the server follows up with Close
            if not isinstance(request, Next):
                close()
                if isinstance(request, Close):
                    _send(self.conn, Closed())
                else:
                    self.stopping = True
                return
            try:
                item = next_item()
            except (StopIteration, StopAsyncIteration):
                _send(self.conn, End())
                return
            except BaseException as exc:
                _send(self.conn, _error_message(exc))
                return
            _send(self.conn, Item(item))


def _serve_metrics(instance: object, conn: Connection) -> None:
    """Answers metrics requests in a thread, so a scrape does not wait for a running call."""
    read = getattr(instance, "metrics", None)
    while True:
        try:
            sequence = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = MetricsReply(sequence, read() if read else [])
        except Exception as exc:
            reply = MetricsReply(sequence, [], f"{type(exc).__name__}: {exc}")
        _send(conn, reply)


# ---------------------------------------------------------------- in the server process


class _Worker:
    """The server's handle on one worker process: its pipes, inbox of replies and conversation state."""

    def __init__(self, index: int, spec: WorkerSpec, pool: WorkerPool) -> None:
        context = multiprocessing.get_context("spawn")
        self.calls, child_calls = context.Pipe()
        self.metrics, child_metrics = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(spec, child_calls, child_metrics), name=f"racetrack-worker-{index}"
        )
        self.index = index
        self.pool = pool
        self.inbox: asyncio.Queue[Reply] = asyncio.Queue()
        self.alive = True
        self.loaded = False
        self.routes: Routes | None = None  # the paths it serves, reported once loaded
        self.killed_for: str | None = None
        self.awaiting_reply = False
        self.streaming = False
        self.metrics_lock = threading.Lock()
        self.metrics_sequence = 0
        self.process.start()
        child_calls.close()
        child_metrics.close()
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, args=(loop,), name=f"worker-{index}-reader", daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def request(self, message: WorkerRequest) -> None:
        """Send a request; a worker that already died raises WorkerDied."""
        try:
            self.calls.send(message)
        except OSError:
            raise WorkerDied(f"worker process {self.index} died before it could take the call") from None
        self.awaiting_reply = True

    async def reply(self) -> Reply:
        message = await self.inbox.get()
        self.awaiting_reply = False
        self.streaming = isinstance(message, StreamStarted | Item)
        return message

    def kill(self, reason: str) -> None:
        self.killed_for = reason
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: forward each reply to the inbox; report the process's exit to the pool."""
        while True:
            try:
                if self.calls not in wait([self.calls, self.process.sentinel]):
                    break
                message = self.calls.recv()
            except (EOFError, OSError, ValueError):  # the process exited, or stop() closed the pipe
                break
            except Exception as exc:  # a reply the server process cannot unpickle
                message = _error_message(TypeError(f"the worker's reply could not be unpickled: {exc}"))
            if not _post(loop, self.inbox.put_nowait, message):
                return
        self.process.join()
        _post(loop, self.pool._on_exit, self, self.process.exitcode)


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> bool:
    try:
        loop.call_soon_threadsafe(callback, *args)
        return True
    except RuntimeError:  # the loop is closed: the server is gone
        return False


class WorkerPool:
    """`size` worker processes serving calls; `ready` once every one has loaded the entrypoint."""

    def __init__(
        self,
        spec: WorkerSpec,
        size: int,
        *,
        registry: CollectorRegistry | None = None,
        metric_prefix: str = "fatman",
        request_context: ContextVar[Request] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a WorkerPool needs at least one worker process (jobtype_extra.workers >= 1)")
        self.spec = spec
        self.size = size
        self.request_context = request_context  # the current request, sent along with each call
        self.load_failure: LoadError | None = None  # why a worker could not load the entrypoint
        self._workers: dict[int, _Worker] = {}
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all_loaded = False
        self._route_check: Callable[[Routes], str | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restarts = worker_metrics(
            registry, metric_prefix, lambda: sum(w.loaded and w.alive for w in self._workers.values())
        )

    @property
    def ready(self) -> bool:
        """Every worker has loaded the entrypoint (once), none failed to, and their routes match ours."""
        return self._all_loaded and self._route_check is not None and self.load_failure is None

    def pids(self) -> list[int]:
        return [w.pid for w in self._workers.values() if w.alive and w.pid is not None]

    async def start(self) -> None:
        """Start the worker processes; returns at once, `ready` turns true when all have loaded."""
        self._idle = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        for index in range(self.size):
            self._spawn(index)
        atexit.register(self.kill_all)

    def _spawn(self, index: int) -> None:
        worker = self._workers[index] = _Worker(index, self.spec, self)
        self._background(self._await_load(worker))

    def _background(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _await_load(self, worker: _Worker) -> None:
        message = await worker.inbox.get()
        if isinstance(message, Loaded):
            worker.loaded = True
            worker.routes = message.routes
            self._check_routes(worker)
            assert self._idle is not None
            self._idle.put_nowait(worker)
            if not self._all_loaded and all(w.loaded for w in self._workers.values()):
                self._all_loaded = True
                logger.info("all %d worker processes loaded the entrypoint", self.size)
            return
        if isinstance(message, LoadFailed):
            what = f"worker process {worker.index} could not load the entrypoint: {message.message}"
            failure = LoadError(what, message.exception_type, message.location, message.traceback)
        else:
            exitcode = message.exitcode if isinstance(message, Died) else None
            what = f"worker process {worker.index} {describe_exit(exitcode)} while loading the entrypoint"
            failure = LoadError(what, "WorkerDied")
        if self.load_failure is None:  # the first failure is the one reported, with its traceback
            self.load_failure = failure
            logger.error("%s\n%s", failure, failure.traceback or "")
        else:
            logger.error("%s", failure)

    def check_routes(self, describe_mismatch: Callable[[Routes], str | None]) -> None:
        """Compare each worker's routes, now and as workers load, with the server's (`describe_mismatch`
        says what differs, or None); a mismatch is a load failure. Safe to call from any thread."""
        assert self._loop is not None, "WorkerPool.start() was not awaited"
        self._loop.call_soon_threadsafe(self._start_checking_routes, describe_mismatch)

    def _start_checking_routes(self, describe_mismatch: Callable[[Routes], str | None]) -> None:
        self._route_check = describe_mismatch
        for worker in list(self._workers.values()):
            self._check_routes(worker)

    def _check_routes(self, worker: _Worker) -> None:
        if self._route_check is None or worker.routes is None or self.load_failure is not None:
            return
        mismatch = self._route_check(worker.routes)
        if mismatch is not None:
            self.load_failure = LoadError(
                f"the routes of worker process {worker.index} differ from the server process's: {mismatch}",
                "RouteMismatch",
            )
            logger.error("%s", self.load_failure)

    def _on_exit(self, worker: _Worker, exitcode: int | None) -> None:
        worker.alive = False
        worker.inbox.put_nowait(Died(exitcode))
        if self._stopping or not worker.loaded:
            return
        reason = worker.killed_for or "crash"
        self._restarts[reason].inc()
        if reason == "crash":
            logger.error(
                "worker process %d (pid %s) died, %s; starting a replacement",
                worker.index,
                worker.pid,
                describe_exit(exitcode),
            )
        else:
            logger.warning(
                "worker process %d (pid %s) stopped (%s); starting a replacement",
                worker.index,
                worker.pid,
                reason,
            )
        self._spawn(worker.index)

    async def call(self, name: str, kwargs: dict[str, Any], deadline: float | None, slot: _Slot) -> Any:
        """Run `name(**kwargs)` in an idle worker; a generator result comes back as an async generator."""
        if self.load_failure is not None:
            raise NotReady(str(self.load_failure))
        worker = await self._take_idle(deadline)
        request = self.request_context.get(None) if self.request_context is not None else None
        scope = picklable_scope(request.scope) if request is not None else None
        worker.request(Call(name, kwargs, request_id_var.get(), scope))
        try:
            message = await self._reply(worker, deadline, slot)
        except asyncio.CancelledError:  # the caller left
            self._abandon(worker, deadline, slot)
            raise
        if isinstance(message, StreamStarted):
            return self._stream(worker, deadline, slot)
        self._idle_again(worker)
        return message.value if isinstance(message, Result) else None

    async def _take_idle(self, deadline: float | None) -> _Worker:
        assert self._idle is not None, "WorkerPool.start() was not awaited"
        async with asyncio.timeout_at(deadline):
            while True:
                worker = await self._idle.get()
                if worker.alive:
                    return worker

    async def _reply(self, worker: _Worker, deadline: float | None, slot: _Slot) -> Reply:
        """The worker's next reply; kill it at the deadline; errors and deaths raised."""
        try:
            async with asyncio.timeout_at(deadline):
                message = await worker.reply()
        except TimeoutError:
            worker.kill("timeout")
            raise CallTimeout(
                slot.timeout_message(still_running=False)
                + f"; worker process {worker.index} was killed to stop it and is being replaced"
            ) from None
        if isinstance(message, Died):
            raise WorkerDied(
                f"the worker process serving this call died ({describe_exit(message.exitcode)}); it is being"
                " replaced. Out of memory or a crash in native code are the usual causes"
            )
        if isinstance(message, Failed):
            self._idle_again(worker)
            remote = RemoteValueError if message.is_value_error else RemoteError
            error = remote(message.type_name, message.message)
            error.__cause__ = _RemoteTraceback(message.traceback)
            raise error
        return message

    async def _stream(
        self, worker: _Worker, deadline: float | None, slot: _Slot
    ) -> AsyncGenerator[Any, None]:
        try:
            while True:
                worker.request(Next())
                message = await self._reply(worker, deadline, slot)
                if isinstance(message, End):
                    self._idle_again(worker)
                    return
                yield message.value if isinstance(message, Item) else None
        finally:
            if worker.alive and worker.killed_for is None and (worker.awaiting_reply or worker.streaming):
                # the consumer stopped early: close the generator in the worker, in the background
                self._abandon(worker, deadline, slot)

    def _abandon(self, worker: _Worker, deadline: float | None, slot: _Slot) -> None:
        """The caller left mid-call: an async call in the worker is cancelled (a sync one runs on to its end
        or deadline), then the worker is brought back in the background, keeping the slot until then."""
        if worker.awaiting_reply:
            with contextlib.suppress(OSError):
                worker.calls.send(Cancel())
        slot.release_after(self._background(self._settle(worker, deadline)))

    async def _settle(self, worker: _Worker, deadline: float | None) -> None:
        """Bring back a worker whose caller left: take its pending reply, close its stream; kill at the
        deadline."""
        try:
            async with asyncio.timeout_at(deadline):
                while worker.alive:
                    if worker.awaiting_reply:
                        await worker.reply()
                    elif worker.streaming:
                        worker.request(Close())
                    else:
                        self._idle_again(worker)
                        return
        except TimeoutError:
            worker.kill("timeout")
        except WorkerDied:
            pass

    def _idle_again(self, worker: _Worker) -> None:
        if worker.alive and self._idle is not None:
            self._idle.put_nowait(worker)

    def collect_metrics(self, timeout: float = 2.0) -> list[dict[str, Any]]:
        """The entrypoint's `metrics()` from every loaded worker, each labelled `worker="<index>"`."""
        collected: list[dict[str, Any]] = []
        for worker in list(self._workers.values()):
            if not (worker.alive and worker.loaded):
                continue
            for entry in self._worker_metrics(worker, timeout):
                if isinstance(entry, dict):
                    labels = entry.get("labels") or {}
                    labels = {**labels, "worker": str(worker.index)} if isinstance(labels, dict) else labels
                    collected.append({**entry, "labels": labels})
                else:
                    collected.append(entry)
        return collected

    def _worker_metrics(self, worker: _Worker, timeout: float) -> list[Any]:
        with worker.metrics_lock:
            worker.metrics_sequence += 1
            sequence = worker.metrics_sequence
            try:
                worker.metrics.send(sequence)
                while worker.metrics.poll(timeout):
                    reply: MetricsReply = worker.metrics.recv()
                    if reply.sequence != sequence:
                        continue  # a late answer to an earlier scrape
                    if reply.error is not None:
                        logger.error("metrics() of worker process %d failed: %s", worker.index, reply.error)
                        return []
                    return reply.entries if isinstance(reply.entries, list) else [reply.entries]
            except (EOFError, OSError):
                return []
        logger.warning(
            "metrics() of worker process %d did not answer within %g s; skipped", worker.index, timeout
        )
        return []

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to exit once its current call is done; kill what still runs after `timeout` s."""
        self._stopping = True
        for worker in self._workers.values():
            with contextlib.suppress(OSError):
                worker.calls.send(Stop())
        await asyncio.to_thread(self._wait_exited, timeout)
        self.kill_all()
        for task in list(self._tasks):
            task.cancel()

    def _wait_exited(self, timeout: float) -> None:
        # Waits on the sentinels: each reader thread is the one process that reaps (joins) its worker.
        deadline = time.monotonic() + timeout
        pending = [w.process.sentinel for w in self._workers.values()]
        while pending and (left := deadline - time.monotonic()) > 0:
            for ready in wait(pending, left):
                pending.remove(ready)  # type: ignore[arg-type]

    def kill_all(self) -> None:
        """SIGKILL every worker process still running (also registered with atexit)."""
        self._stopping = True
        for worker in self._workers.values():
            if worker.alive:
                worker.kill("stop")
