"""Forward one authorized call to a replica of its job: round robin, one retry on another replica when the
first did not take the call (docs/gateway.md, "Retries"), the answer streamed back as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from racetrack.gateway.auth import Decision, JobTarget
from racetrack.gateway.errors import JobTimeout, NoReplicaAnswered
from racetrack.gateway.headers import caller_response_headers, job_request_headers
from racetrack.gateway.upstream import (
    ConnectFailed,
    HeadTimeout,
    NoResponse,
    Pool,
    Response,
    UpstreamError,
)
from racetrack.protocol import gateway_token

if TYPE_CHECKING:
    from racetrack.gateway.app import JobCall

Receive = Any
Send = Any
Headers = list[tuple[bytes, bytes]]
NOT_TAKEN = ("shutting_down", "not_ready")  # the wrapper's 503 error types for a call it did not run
AVOID_SECONDS = 5.0  # a replica that did not take a call is tried last for this long
SMALL_BODY = 64 * 1024


class Answer(Protocol):
    """Where a job call's answer goes: ASGI messages (`AsgiAnswer`) or the caller's connection itself
    (`racetrack.gateway.serving`)."""

    async def whole(self, status: int, headers: Headers, body: bytes) -> None:
        """An answer whose body is all there."""

    async def streamed(self, status: int, headers: Headers, response: Response) -> None:
        """An answer whose body is relayed as the job sends it; `response.close()` when the caller left."""


class AsgiAnswer:
    """An answer sent as ASGI messages; `watch_disconnect` when `receive` is free to watch for the caller
    leaving (its body is read)."""

    def __init__(self, send: Send, receive: Receive, watch_disconnect: bool) -> None:
        self.send, self.receive, self.watch_disconnect = send, receive, watch_disconnect

    async def whole(self, status: int, headers: Headers, body: bytes) -> None:
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def streamed(self, status: int, headers: Headers, response: Response) -> None:
        send = self.send
        await send({"type": "http.response.start", "status": status, "headers": headers})
        watcher = None
        if self.watch_disconnect:
            watcher = asyncio.ensure_future(_disconnected(self.receive, response))
        try:
            async for chunk in response.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except UpstreamError:
            response.close()  # the caller sees a cut-off body, as the job cut it
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


class Proxy:
    def __init__(self, secret: bytes, timeout: float) -> None:
        self.pool = Pool()
        self.secret = secret
        self.timeout = timeout
        self.turn = itertools.count()
        self.tokens: dict[tuple[str, str], bytes] = {}
        self.avoid: dict[str, float] = {}  # replica -> monotonic time until which it is tried last

    def token_for(self, job: JobTarget) -> bytes:
        key = (job.name, job.version)
        token = self.tokens.get(key)
        if token is None:
            if len(self.tokens) > 10_000:
                self.tokens.clear()
            token = self.tokens[key] = gateway_token(self.secret, job.name, job.version).encode()
        return token

    def job_headers(
        self,
        headers: Headers,
        decision: Decision,
        request_id: str,
        client_host: str | None = None,
        scheme: str = "http",
    ) -> Headers:
        """The headers the job gets for a caller's `headers`."""
        return job_request_headers(
            headers, request_id, decision.caller, self.token_for(decision.job), client_host, scheme
        )

    async def send_request(
        self,
        job: JobTarget,
        caller: str | None,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        timeout: float,
    ) -> tuple[Response, str]:
        """The answer head of the first replica that takes the call; a second replica is tried when the
        first did not take it (refused the connection, closed it unanswered, or said 503 not taken)."""
        replicas = job.replicas
        if not replicas:
            raise NoReplicaAnswered(
                f"job {job.name} {job.version} has no running replica (status {job.status})",
                **_job_fields(job, caller),
            )
        buffered = isinstance(body, bytes)
        candidates = self._candidates(replicas, next(self.turn))
        last: UpstreamError | None = None
        for attempt, replica in enumerate(candidates):
            retry_left = attempt + 1 < len(candidates)
            try:
                response = await self.pool.request(replica, method, target, headers, body, timeout)
            except HeadTimeout:
                raise JobTimeout(
                    f"job {job.name} {job.version} did not answer within the gateway's timeout "
                    f"of {timeout:g} s",
                    **_job_fields(job, caller),
                ) from None
            except ConnectFailed as exc:  # nothing was sent: safe even for a streamed body
                last = exc
                self.avoid[replica] = time.monotonic() + AVOID_SECONDS
                continue
            except NoResponse as exc:
                last = exc
                self.avoid[replica] = time.monotonic() + AVOID_SECONDS
                if buffered:
                    continue
                break  # part of a streamed body is gone: it cannot be sent again
            except UpstreamError as exc:
                last = exc
                break  # the job started answering: never send the call twice
            if response.status == 503 and await _not_taken(response, timeout):
                self.avoid[replica] = time.monotonic() + AVOID_SECONDS
                if retry_left and buffered:
                    response.close()
                    continue
            return response, replica
        raise NoReplicaAnswered(
            f"connection refused to a target job (job may be dead): {last}", **_job_fields(job, caller)
        )

    def _candidates(self, replicas: tuple[str, ...], turn: int) -> tuple[str, ...]:
        """Up to two replicas to try, round robin, those that recently did not take a call last."""
        count = len(replicas)
        if not self.avoid:
            first = replicas[turn % count]
            return (first,) if count == 1 else (first, replicas[(turn + 1) % count])
        now = time.monotonic()
        for replica in [r for r, until in self.avoid.items() if until <= now]:
            del self.avoid[replica]
        rotated = [replicas[(turn + offset) % count] for offset in range(count)]
        rotated.sort(key=lambda replica: replica in self.avoid)  # stable: round robin among the rest
        return tuple(rotated[:2])

    async def forward(
        self,
        call: JobCall,
        body: bytes | AsyncIterator[bytes],
        decision: Decision,
        target: bytes,
        request_id: str,
        answer: Answer,
    ) -> int:
        """Send the caller's request to the job and relay the answer; returns the status relayed."""
        job = decision.job
        headers = self.job_headers(call.headers, decision, request_id, call.client, call.scheme)
        response, _ = await self.send_request(
            job, decision.caller, call.method, target, headers, body, self.timeout
        )
        job_base = f"{call.pub_prefix}/job/{job.name}/{job.version}"
        out_headers = caller_response_headers(
            response.headers, request_id, job.replicas, job_base, call.pub_prefix
        )
        complete = response.complete_body()
        if complete is not None:
            await answer.whole(response.status, out_headers, complete)
        else:
            await answer.streamed(response.status, out_headers, response)
        return response.status

    def close(self) -> None:
        self.pool.close()


async def _disconnected(receive: Receive, response: Response) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            response.close()
            return


async def _not_taken(response: Response, timeout: float) -> bool:
    """A 503 the wrapper answers for a call it did not run (`shutting_down` or `not_ready`)."""
    values = dict(response.headers)
    if not values.get(b"content-type", b"").startswith(b"application/json"):
        return False
    length = values.get(b"content-length", b"")
    if not length.isdigit() or int(length) > SMALL_BODY:
        return False
    data = await response.small_body(SMALL_BODY, timeout)
    try:
        kind = json.loads(data).get("type") if data else None
    except (ValueError, AttributeError):
        return False
    return kind in NOT_TAKEN


def _job_fields(job: JobTarget, caller: str | None) -> dict[str, Any]:
    return {"jobName": job.name, "jobVersion": job.version, "jobStatus": job.status, "caller": caller}
