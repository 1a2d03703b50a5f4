"""Small pieces of the deploy target: docs examples, wrapper answers, job status, names, ages, redaction."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from racetrack.cli import app
from racetrack.deploy.jobs import JobRow, age
from racetrack.deploy.logs import redact
from racetrack.deploy.probe import Answer, LoadFailure, job_status
from racetrack.deploy.registry import Deployment, container_name, url_host
from racetrack.deploy.smoke import Example, docs_examples
from racetrack.terminal import jobs_listing


def _post(media: dict) -> dict:
    return {"post": {"requestBody": {"content": {"application/json": media}}}}


OPENAPI = {
    "paths": {
        "/api/v1/perform": _post({"example": {"x": 1}}),
        "/api/v1/explain": _post({"examples": {"a": {"value": {"y": 2}}}}),
        "/api/v1/plain": _post({"schema": {}}),
        "/api/v1/parameters": {"get": {"responses": {}}},
    }
}

LOAD_FAILED = {
    "error": "the job failed to load: Entrypoint() failed in __init__: no token (/job/entrypoint.py:9)",
    "type": "load_error",
    "details": [{"exception_type": "PermissionError", "location": "/job/entrypoint.py:9"}],
}

DEPLOYMENT = Deployment(
    name="adder", version="1.0.0", container_name="adder-1.0.0", container_id="0123456789ab", state="running",
    health=None, exit_code=0, host_ip="127.0.0.1", host_port=None, created=datetime(2024, 1, 1, tzinfo=UTC),
    image="racetrack/adder:1.0.0-x", owner="", manifest_digest="", git_commit="",
)


def test_docs_examples_are_taken_from_post_operations() -> None:
    expected = [Example("/api/v1/perform", {"x": 1}), Example("/api/v1/explain", {"y": 2})]
    assert docs_examples(OPENAPI) == expected


def test_load_failure_from_live_500() -> None:
    failure = Answer(500, LOAD_FAILED).load_failure
    message = "Entrypoint() failed in __init__: no token"
    assert failure == LoadFailure(message, "PermissionError", "/job/entrypoint.py:9")
    assert str(failure) == "PermissionError: Entrypoint() failed in __init__: no token (/job/entrypoint.py:9)"
    assert str(failure.relative_to("/job")).endswith("(entrypoint.py:9)")
    assert failure.relative_to("/elsewhere") == failure
    with_cause = {**LOAD_FAILED, "error": LOAD_FAILED["error"] + ", cause=PermissionError"}  # as Racetrack
    assert Answer(500, with_cause).load_failure == failure


def test_ready_503_while_loading_is_no_failure() -> None:
    loading = {"error": "the job is still loading", "type": "not_ready", "details": None}
    assert Answer(503, loading).load_failure is None
    assert Answer(None).load_failure is None
    assert Answer(200, {"live": True}).load_failure is None


def test_ready_503_with_details_is_a_failure() -> None:
    assert Answer(503, {**LOAD_FAILED, "type": "not_ready"}).load_failure is not None


@pytest.mark.parametrize(
    ("state", "exit_code", "status"),
    [("exited", 0, "stopped"), ("exited", 143, "stopped"), ("exited", 1, "error"), ("restarting", 1, "error"),
     ("created", 0, "stopped"), ("paused", 0, "stopped"), ("dead", 137, "error")],
)
def test_status_of_containers_that_do_not_run(state: str, exit_code: int, status: str) -> None:
    with httpx.Client() as http:
        assert job_status(replace(DEPLOYMENT, state=state, exit_code=exit_code), http)[0] == status


def _status_with_live(answer: httpx.Response | None, health: str | None = None) -> tuple[str, str | None]:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/live"
        if answer is None:
            raise httpx.ConnectError("refused")
        return answer

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        return job_status(replace(DEPLOYMENT, host_port=7123, health=health), http)


def test_status_of_running_containers_comes_from_live() -> None:
    assert _status_with_live(httpx.Response(200, json={"live": True, "ready": True})) == ("running", None)
    assert _status_with_live(httpx.Response(200, json={"live": True, "ready": False}))[0] == "starting"
    status, reason = _status_with_live(httpx.Response(500, json=LOAD_FAILED))
    assert status == "error" and "no token (/job/entrypoint.py:9)" in (reason or "")
    assert _status_with_live(None)[0] == "starting"
    assert _status_with_live(None, health="unhealthy")[0] == "error"


def test_container_name_keeps_semver_readable() -> None:
    assert container_name("adder", "1.2.0") == "adder-1.2.0"
    assert container_name("adder", "1.2.0-rc.1+build.5") == "adder-1.2.0-rc.1_build.5"


def test_url_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert url_host("127.0.0.1") == "127.0.0.1"
    assert url_host("0.0.0.0") == "127.0.0.1"
    assert url_host("192.168.1.5") == "192.168.1.5"
    monkeypatch.setenv("DOCKER_HOST", "tcp://build-box:2375")
    assert url_host("0.0.0.0") == "build-box"


def test_age() -> None:
    now = datetime(2024, 1, 2, tzinfo=UTC)
    assert age(now - timedelta(seconds=42), now) == "42s"
    assert age(now - timedelta(minutes=7, seconds=5), now) == "7m"
    assert age(now - timedelta(hours=5), now) == "5h"
    assert age(now - timedelta(days=3, hours=2), now) == "3d"


def test_redact_hides_every_secret() -> None:
    assert redact("token=s3cr3t user=bob s3cr3t", ["s3cr3t"]) == "token=[secret] user=bob [secret]"


def test_a_narrow_job_listing_never_cuts_name_version_or_status() -> None:
    now = datetime(2024, 1, 2, tzinfo=UTC)
    long = replace(DEPLOYMENT, name="python-auxiliary-endpoints", version="1.10.0-rc.1", host_port=46021,
                   container_name="python-auxiliary-endpoints-1.10.0-rc.1", created=now - timedelta(hours=2))
    failed = replace(long, name="lifecycle", version="2.0.0", container_name="lifecycle-2.0.0")
    reason = "PermissionError: no token (entrypoint.py:9)"
    rows = [JobRow(long, "starting", None), JobRow(failed, "error", reason)]
    for width in (80, 100):
        out = io.StringIO()
        Console(file=out, width=width).print(jobs_listing(rows, now))
        lines = out.getvalue().splitlines()
        assert "…" not in out.getvalue()
        starts = [line.split()[:3] for line in lines]
        assert ["python-auxiliary-endpoints", "1.10.0-rc.1", "starting"] in starts
        assert ["lifecycle", "2.0.0", "error"] in starts
        assert "lifecycle 2.0.0: PermissionError: no token" in out.getvalue()  # the reason, under the table
        assert all(len(line) <= width for line in lines)


def test_logs_refuses_a_negative_tail_and_delete_help_tells_what_no_version_does() -> None:
    negative = CliRunner().invoke(app, ["logs", "adder", "--tail", "-3"])
    assert negative.exit_code == 2 and "--tail" in negative.output
    assert "every version" in " ".join(CliRunner().invoke(app, ["delete", "--help"]).output.split())


class _UpdateStatuses:
    """A Docker API whose service reports the given update states, one per inspection."""

    def __init__(self, *states: str) -> None:
        self.states = list(states)
        self.api = self

    def inspect_service(self, service_id: str) -> dict:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"ID": service_id, "UpdateStatus": {"State": state, "Message": f"update {state}"}}


def test_a_rollover_is_done_once_swarm_says_completed(monkeypatch: pytest.MonkeyPatch) -> None:
    from racetrack.deploy.swarm import target

    monkeypatch.setattr(target, "POLL_SECONDS", 0)
    client = _UpdateStatuses("updating", "updating", "completed")
    target.SwarmTarget(client)._wait_update_completed("svc", timeout=5)  # type: ignore[arg-type]
    assert client.states == ["completed"]


def test_a_rollover_swarm_rolled_back_is_a_failed_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    from racetrack.deploy.errors import DeployError
    from racetrack.deploy.swarm import target

    monkeypatch.setattr(target, "POLL_SECONDS", 0)
    client = _UpdateStatuses("updating", "rollback_started")
    stopped = r"Swarm stopped the rollover \(rollback_started: update rollback_started\)"
    with pytest.raises(DeployError, match=stopped):
        target.SwarmTarget(client)._wait_update_completed("svc", timeout=5)  # type: ignore[arg-type]
    stuck = target.SwarmTarget(_UpdateStatuses("updating"))  # type: ignore[arg-type]
    with pytest.raises(DeployError, match="did not finish the rollover within 0 s"):
        stuck._wait_update_completed("svc", timeout=0)
