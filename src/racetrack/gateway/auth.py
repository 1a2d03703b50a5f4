"""Who may call what: the control plane's can-call-job answer, cached per (job, version, endpoint, token)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from racetrack.gateway.config import GatewayConfig
from racetrack.gateway.errors import ControlPlaneUnavailable, JobNotFound, Unauthenticated
from racetrack.protocol import AUTH_HEADER

log = logging.getLogger("racetrack.gateway")
CAN_CALL_JOB = "/lifecycle/api/v1/auth/can-call-job"
VALIDATE_USER = "/lifecycle/api/v1/users/validate_user_auth"


@dataclass(frozen=True)
class JobTarget:
    name: str
    version: str  # resolved: never `latest` or a wildcard
    status: str
    replicas: tuple[str, ...]  # base URLs, http://host:port
    infrastructure_target: str | None = None


@dataclass(frozen=True)
class Decision:
    job: JobTarget
    caller: str | None  # "User alice", "ESC billing", "Job family chain"; None for open endpoints


def parse_decision(payload: dict[str, Any]) -> Decision:
    job = payload["job"]
    replicas = tuple(job.get("replica_internal_names") or ())
    if not replicas and job.get("internal_name"):
        replicas = (job["internal_name"],)
    replicas = tuple(r if "://" in r else f"http://{r}" for r in replicas)
    return Decision(
        JobTarget(
            name=job["name"],
            version=str(job["version"]),
            status=job.get("status") or "unknown",
            replicas=replicas,
            infrastructure_target=job.get("infrastructure_target"),
        ),
        payload.get("caller"),
    )


class Authorizer:
    """Asks the control plane once per key and TTL; concurrent misses for one key share one request.

    Denials are cached too (for the same TTL), so a flood of bad tokens reaches the control plane once
    per key and TTL; control-plane failures are never cached."""

    def __init__(self, config: GatewayConfig, client: httpx.AsyncClient | None = None) -> None:
        self.base = config.control_plane
        self.ttl = config.auth_cache_ttl
        self.stale_ttl = config.auth_stale_ttl
        self.max_entries = config.auth_cache_size
        self.client = client or httpx.AsyncClient(
            timeout=config.control_plane_timeout, limits=httpx.Limits(max_keepalive_connections=32)
        )
        self.cache: dict[tuple[str, str, str, str], tuple[float, Decision | Exception]] = {}
        self.pending: dict[tuple[str, str, str, str], asyncio.Future[Decision]] = {}

    async def check(self, name: str, version: str, endpoint: str, token: str) -> Decision:
        """The decision for calling `endpoint` of the job; raises Unauthenticated, JobNotFound or
        ControlPlaneUnavailable."""
        key = (name, version, endpoint, token)
        entry = self.cache.get(key)
        if entry is not None and entry[0] > time.monotonic():
            outcome = entry[1]
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        pending = self.pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            decision = await self._ask(name, version, endpoint, token)
        except ControlPlaneUnavailable as down:
            if (
                entry is not None
                and isinstance(entry[1], Decision)
                and entry[0] + self.stale_ttl > time.monotonic()
            ):
                log.warning(
                    "control plane unreachable; reusing a recent decision for %s %s: %s", name, version, down
                )
                future.set_result(entry[1])
                return entry[1]  # kept as it was: it expires for good after stale_ttl
            future.set_exception(down)
            future.exception()
            raise
        except (Unauthenticated, JobNotFound) as denial:
            self._store(key, denial)
            future.set_exception(denial)
            future.exception()  # retrieved: waiters get it through shield
            raise
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else ControlPlaneUnavailable("cancelled"))
            future.exception()
            raise
        else:
            self._store(key, decision)
            future.set_result(decision)
            return decision
        finally:
            del self.pending[key]

    def _store(self, key: tuple[str, str, str, str], outcome: Decision | Exception) -> None:
        now = time.monotonic()
        if len(self.cache) >= self.max_entries:
            for stale in [k for k, (until, _) in self.cache.items() if until <= now]:
                del self.cache[stale]
            if len(self.cache) >= self.max_entries:
                self.cache.clear()
        self.cache[key] = (now + self.ttl, outcome)

    async def _ask(self, name: str, version: str, endpoint: str, token: str) -> Decision:
        url = f"{self.base}{CAN_CALL_JOB}/{quote(name)}/{quote(version)}/{quote(endpoint.lstrip('/'))}"
        headers = {AUTH_HEADER: token} if token else {}
        try:
            response = await self.client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise ControlPlaneUnavailable(
                f"the control plane at {self.base} cannot be reached to authorize the call: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        message = _error_text(response)
        if response.status_code == 200:
            try:
                return parse_decision(response.json())
            except (ValueError, KeyError, TypeError) as exc:
                raise ControlPlaneUnavailable(
                    f"the control plane answered can-call-job oddly: {exc}"
                ) from None
        if response.status_code in (401, 403):
            raise Unauthenticated(f"Unauthenticated: {message}" if message else "Unauthenticated")
        if response.status_code == 404:
            raise JobNotFound(f"Job was not found: {message}")
        raise ControlPlaneUnavailable(
            f"the control plane answered can-call-job with {response.status_code}: {message}"
        )

    async def is_admin(self, token: str) -> bool:
        """Whether `token` belongs to a staff user (may read anyone's async tasks)."""
        if not token:
            return False
        try:
            response = await self.client.get(self.base + VALIDATE_USER, headers={AUTH_HEADER: token})
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            return bool(response.json().get("is_staff"))
        except ValueError:
            return False

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_text(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(payload, dict):
        return str(payload.get("error") or payload.get("detail") or "")
    return ""
