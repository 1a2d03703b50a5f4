"""Racetrack's async call API through a real gateway: submit, poll, status, cancel, only the submitter reads,
and a task survives its gateway being killed."""

from __future__ import annotations

import os
import signal

import httpx
from gateway_helpers import ADMIN, ALICE, BOB, Stack, run_gateway

from server_process import poll_until


def auth(token: str) -> dict[str, str]:
    return {"X-Racetrack-Auth": token}


def submit(client: httpx.Client, path: str, body: dict, token: str = ALICE) -> str:
    response = client.post(f"/pub/async/new/job/adder/latest{path}", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "ongoing"
    return response.json()["task_id"]


def poll_done(client: httpx.Client, task_id: str, token: str = ALICE) -> httpx.Response:
    def done() -> httpx.Response | None:
        response = client.get(f"/pub/async/task/{task_id}/poll", headers=auth(token), timeout=30)
        return None if response.status_code == 202 else response

    return poll_until(done, timeout=60, what=f"task {task_id} finishing")


def test_submit_then_poll_returns_the_jobs_answer(stack: Stack) -> None:
    client = stack.gateway.client
    task_id = submit(client, "/api/v1/perform", {"x": 2, "y": 3})
    result = poll_done(client, task_id)
    assert result.status_code == 200 and result.json() == 5
    assert result.headers["content-type"].startswith("application/json")
    status = client.get(f"/pub/async/task/{task_id}/status", headers=auth(ALICE)).json()
    assert status["status"] == "completed" and status["attempts"] == 1 and status["job_version"] == "1.2.0"
    assert poll_done(client, task_id).json() == 5  # readable again until it expires


def test_only_the_submitter_or_an_admin_reads_a_task(stack: Stack) -> None:
    client = stack.gateway.client
    task_id = submit(client, "/api/v1/perform", {"x": 1, "y": 1})
    assert poll_done(client, task_id).status_code == 200
    for token in (BOB, "", "bad-token"):
        response = client.get(f"/pub/async/task/{task_id}/status", headers=auth(token) if token else {})
        assert response.status_code == 404, token
        assert "no async task" in response.json()["error"]
    assert client.get(f"/pub/async/task/{task_id}/poll", headers=auth(ADMIN)).json() == 2


def test_cancel_stops_a_running_task(stack: Stack) -> None:
    client = stack.gateway.client
    flag = stack.tmp / "cancel-flag"
    task_id = submit(client, "/api/v1/wait", {"flag": str(flag)})
    cancelled = client.delete(f"/pub/async/task/{task_id}", headers=auth(ALICE))
    assert cancelled.status_code == 200 and cancelled.json() == {"task_id": task_id, "status": "cancelled"}
    status = client.get(f"/pub/async/task/{task_id}/status", headers=auth(ALICE)).json()
    assert status["status"] == "cancelled"
    poll = client.get(f"/pub/async/task/{task_id}/poll", headers=auth(ALICE))
    assert poll.status_code == 410 and "cancelled" in poll.json()["error"]
    flag.touch()  # lets the job's thread end (a sync call cannot be interrupted inside the job)


def test_unknown_task_and_wrong_method(stack: Stack) -> None:
    client = stack.gateway.client
    assert client.get("/pub/async/task/nope/poll", headers=auth(ALICE)).status_code == 404
    assert (
        client.put("/pub/async/new/job/adder/latest/api/v1/perform", headers=auth(ALICE)).status_code == 405
    )
    denied = client.post("/pub/async/new/job/adder/latest/api/v1/perform", json={}, headers=auth(BOB))
    assert denied.status_code == 401


def test_task_survives_its_gateway_being_killed(stack: Stack) -> None:
    flag = stack.tmp / "restart-flag"
    data = stack.tmp / "gw-restart"
    extra = ("--task-lease", "1", "--async-poll-wait", "2")
    with run_gateway(stack.control.url, data, *extra) as first:
        task_id = submit(first.client, "/api/v1/wait", {"flag": str(flag)})
        os.killpg(first.process.pid, signal.SIGKILL)  # dies with the call in flight
        first.process.wait()
    with run_gateway(stack.control.url, data, *extra) as second:
        flag.touch()
        result = poll_done(second.client, task_id)
        assert result.status_code == 200 and result.json()["flag"] is True
        assert "retried once" in result.headers["x-racetrack-task-note"]
        status = second.client.get(f"/pub/async/task/{task_id}/status", headers=auth(ALICE)).json()
        assert status["attempts"] == 2 and "gateway" in status["note"]


def test_result_over_the_bound_fails_the_task_saying_why(stack: Stack) -> None:
    client = stack.gateway.client
    small = submit(client, "/api/v1/big", {"size": 1000})
    assert poll_done(client, small).json() == "x" * 1000
    task_id = submit(client, "/api/v1/big", {"size": 200_000})
    failed = poll_done(client, task_id)
    assert failed.status_code == 500
    assert "over the gateway's limit of 100000 bytes" in failed.json()["error"]
    assert client.get(f"/pub/async/task/{task_id}/status", headers=auth(ALICE)).json()["status"] == "failed"
