"""Racetrack's async call API, durable: submit, long poll, status, cancel; a task whose gateway died is
retried once by another (or the restarted) gateway and says so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import unquote

from racetrack.gateway.auth import Authorizer, Decision
from racetrack.gateway.config import GatewayConfig
from racetrack.gateway.errors import (
    BodyTooLarge,
    GatewayError,
    MethodNotAllowed,
    RouteNotFound,
    TaskGone,
    TaskNotFound,
)
from racetrack.gateway.headers import DROPPED_REQUEST, caller_token
from racetrack.gateway.proxy import Proxy
from racetrack.gateway.store import CANCELLED, COMPLETED, FAILED, ONGOING, Task, TaskRecord, TaskStore
from racetrack.protocol import PUB_PREFIXES

log = logging.getLogger("racetrack.gateway")
NOTE_HEADER = b"x-racetrack-task-note"
RETRY_NOTE = "retried once: the gateway running the first attempt stopped before the job answered"


def _stored_headers(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's headers worth replaying, without credentials or cookies."""
    kept = [
        (n.decode("latin-1"), v.decode("latin-1"))
        for n, v in headers
        if n not in DROPPED_REQUEST and n != b"cookie"
    ]
    return json.dumps(kept)


class TaskService:
    def __init__(self, config: GatewayConfig, auth: Authorizer, proxy: Proxy) -> None:
        self.config = config
        self.auth = auth
        self.proxy = proxy
        self.store = TaskStore(config.resolved_database_url())
        self.instance = uuid.uuid4().hex
        self.running: dict[str, asyncio.Task[None]] = {}
        self.finished: dict[str, asyncio.Event] = {}
        self.keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.keeper is None:
            self.keeper = asyncio.ensure_future(self._keep())

    async def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keeper
        for task in list(self.running.values()):
            task.cancel()  # leases lapse; another gateway (or this one restarted) retries them
        self.store.close()

    # routes
    async def route(
        self, scope: dict[str, Any], receive: Any, send: Any, raw: bytes, request_id: str
    ) -> None:
        from racetrack.gateway.app import send_json

        method = scope["method"]
        if raw.startswith((b"/async/new/job/", b"/async/new/fatman/")):
            if method not in ("POST", "GET"):
                raise MethodNotAllowed(
                    "submit an async call with POST (or GET) /pub/async/new/job/{name}/{version}/{path}"
                )
            status, payload = await self.submit(scope, receive, raw.split(b"/", 4)[4], request_id)
            await send_json(send, status, payload, request_id)
            return
        parts = raw.decode("latin-1").split("/")  # ['', 'async', 'task', id, action?]
        if len(parts) not in (4, 5) or parts[2] != "task" or not parts[3]:
            raise RouteNotFound(
                "async routes: POST /pub/async/new/job/{name}/{version}/{path}, "
                "GET /pub/async/task/{id}/poll, GET /pub/async/task/{id}/status, DELETE /pub/async/task/{id}"
            )
        task_id, action = parts[3], parts[4] if len(parts) == 5 else ""
        token = caller_token(scope["headers"])
        if action == "" and method == "DELETE":
            await send_json(send, 200, await self.cancel(task_id, token), request_id)
        elif action == "status" and method == "GET":
            task = await self.readable(task_id, token)
            await send_json(send, 200, self.describe(task), request_id)
        elif action == "poll" and method == "GET":
            await self.poll(task_id, token, send, request_id)
        else:
            raise MethodNotAllowed(f"{method} {scope['path']} is not an async task route")

    async def submit(
        self, scope: dict[str, Any], receive: Any, raw: bytes, request_id: str
    ) -> tuple[int, Any]:
        from racetrack.gateway.app import split_job_path

        name, version, rest = split_job_path(raw)
        endpoint = unquote(rest.decode("latin-1"))
        token = caller_token(scope["headers"])
        decision = await self.auth.check(name, version, endpoint, token)
        body = await _read_body(receive, self.config.async_max_body_bytes)
        job = decision.job
        target = f"{PUB_PREFIXES[0]}/{job.name}/{job.version}{rest.decode('latin-1')}"
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        now = time.time()
        record = TaskRecord(
            id=str(uuid.uuid4()),
            status=ONGOING,
            job_name=job.name,
            job_version=job.version,
            endpoint=endpoint,
            method="POST" if scope["method"] == "POST" else "GET",
            target=target,
            request_headers=_stored_headers(scope["headers"]),
            request_body=body,
            owner=decision.caller,
            attempts=1,
            created_at=now,
            updated_at=now,
            expires_at=now + self.config.async_timeout + self.config.async_result_ttl,
            lease_owner=self.instance,
            lease_until=now + self.config.task_lease,
        )
        task = await asyncio.to_thread(self.store.create, record)
        self._launch(task, decision, request_id)
        return 201, {"task_id": task.id, "status": ONGOING}

    async def readable(self, task_id: str, token: str) -> Task:
        """The task, if this caller submitted it (or is an admin, or it was an open endpoint)."""
        task = await asyncio.to_thread(self.store.get, task_id)
        missing = TaskNotFound(
            f"no async task {task_id} for this caller (expired, deleted, or never submitted)"
        )
        if task is None:
            raise missing
        if task.owner is None:
            return task
        try:
            decision = await self.auth.check(task.job_name, task.job_version, task.endpoint, token)
        except GatewayError:
            decision = None
        if decision is not None and decision.caller == task.owner:
            return task
        if await self.auth.is_admin(token):
            return task
        raise missing

    def describe(self, task: Task) -> dict[str, Any]:
        return {
            "task_id": task.id,
            "status": task.status,
            "job_name": task.job_name,
            "job_version": task.job_version,
            "endpoint": task.endpoint,
            "attempts": task.attempts,
            "note": task.note,
            "error": task.error,
            "created_at": task.created_at,
        }

    async def poll(self, task_id: str, token: str, send: Any, request_id: str) -> None:
        from racetrack.gateway.app import send_json

        task = await self.readable(task_id, token)
        deadline = time.monotonic() + self.config.async_poll_wait
        while task.status == ONGOING and (remaining := deadline - time.monotonic()) > 0:
            event = self.finished.get(task_id)
            if event is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, 1.0))
            else:
                await asyncio.sleep(min(remaining, 0.25))
            latest = await asyncio.to_thread(self.store.get, task_id)
            task = latest or task
        if task.status == ONGOING:
            await send_json(send, 202, {"task_id": task.id, "status": ONGOING}, request_id)
        elif task.status == COMPLETED:
            headers = [(b"content-type", (task.result_content_type or "application/octet-stream").encode())]
            if task.note:
                headers.append((NOTE_HEADER, task.note.encode()))
            await send(
                {"type": "http.response.start", "status": task.result_status or 200, "headers": headers}
            )
            await send({"type": "http.response.body", "body": task.result_body or b""})
        elif task.status == CANCELLED:
            raise TaskGone(f"task {task.id} was cancelled")
        else:
            await send_json(
                send,
                500,
                {
                    "error": f"Async task error: {task.error}",
                    "task_id": task.id,
                    "status": FAILED,
                    "note": task.note,
                    "requestId": request_id,
                },
                request_id,
            )

    async def cancel(self, task_id: str, token: str) -> dict[str, Any]:
        task = await self.readable(task_id, token)
        if task.status == ONGOING and await asyncio.to_thread(
            self.store.cancel, task_id, self.config.async_result_ttl
        ):
            local = self.running.get(task_id)
            if local is not None:
                local.cancel()
            self._mark_finished(task_id)
            return {"task_id": task_id, "status": CANCELLED}
        await asyncio.to_thread(self.store.delete, task_id)  # already finished: forget it and its result
        return {"task_id": task_id, "status": "deleted"}

    # running
    def _launch(self, task: Task, decision: Decision | None, request_id: str) -> None:
        self.finished[task.id] = asyncio.Event()
        runner = asyncio.ensure_future(self._run(task, decision, request_id))
        self.running[task.id] = runner
        runner.add_done_callback(lambda _: self.running.pop(task.id, None))

    def _mark_finished(self, task_id: str) -> None:
        event = self.finished.pop(task_id, None)
        if event is not None:
            event.set()

    async def _run(self, task: Task, decision: Decision | None, request_id: str) -> None:
        keep = self.config.async_result_ttl
        try:
            if decision is None:  # a task taken over: find its replicas (probe paths need no token)
                decision = Decision(
                    (await self.auth.check(task.job_name, task.job_version, "/health", "")).job, task.owner
                )
            headers = self.proxy.job_headers([*task.request_headers], decision, request_id)
            response, _ = await self.proxy.send_request(
                decision.job,
                decision.caller,
                task.method,
                task.target.encode("latin-1"),
                headers,
                task.request_body,
                self.config.async_timeout,
            )
            body = await _bounded(response, self.config.async_max_result_bytes)
            content_type = (
                dict(response.headers).get(b"content-type", b"application/octet-stream").decode("latin-1")
            )
            await asyncio.to_thread(
                self.store.finish, task.id, COMPLETED, keep, response.status, content_type, body
            )
        except asyncio.CancelledError:
            raise
        except GatewayError as exc:
            await asyncio.to_thread(self.store.finish, task.id, FAILED, keep, error=exc.message)
        except Exception as exc:  # anything else still ends the task, with a reason
            log.exception("async task %s failed", task.id)
            await asyncio.to_thread(
                self.store.finish, task.id, FAILED, keep, error=f"{type(exc).__name__}: {exc}"
            )
        finally:
            self._mark_finished(task.id)

    async def _keep(self) -> None:
        """Renew leases, stop tasks cancelled elsewhere, take over orphans, purge expired tasks."""
        lease = self.config.task_lease
        while True:
            try:
                await self._tend(lease)
            except Exception:
                log.exception("async task upkeep failed; retrying")
            await asyncio.sleep(max(lease / 3, 0.2))

    async def _tend(self, lease: float) -> None:
        gone = await asyncio.to_thread(
            self.store.renew, list(self.running), self.instance, time.time() + lease
        )
        for task_id in gone:
            runner = self.running.get(task_id)
            if runner is not None:
                runner.cancel()
        for task in await asyncio.to_thread(self.store.claim_orphans, self.instance, lease):
            if task.attempts > 2:
                await asyncio.to_thread(
                    self.store.finish,
                    task.id,
                    FAILED,
                    self.config.async_result_ttl,
                    None,
                    None,
                    None,
                    "the gateways running this task stopped twice before the job answered; not retried again",
                )
                continue
            await asyncio.to_thread(self._note, task.id, RETRY_NOTE)
            log.warning("async task %s: %s", task.id, RETRY_NOTE)
            self._launch(task, None, uuid.uuid4().hex)
        await asyncio.to_thread(self.store.purge_expired)

    def _note(self, task_id: str, note: str) -> None:
        from sqlalchemy import update
        from sqlalchemy.orm import Session

        with Session(self.store.engine) as session, session.begin():
            session.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(note=note))


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(
                f"an async call's body may be at most {limit} bytes (gateway --async-max-body-bytes)"
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _bounded(response: Any, limit: int) -> bytes:
    complete = response.complete_body()
    if complete is not None and len(complete) <= limit:
        return bytes(complete)
    chunks, size = [complete] if complete else [], len(complete or b"")
    if size <= limit:
        async for chunk in response.chunks():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
    if size > limit:
        response.close()
        raise GatewayError(
            f"the job's result is over the gateway's limit of {limit} bytes for async results "
            "(--async-max-result-bytes); call it synchronously or return less"
        )
    return b"".join(chunks)
