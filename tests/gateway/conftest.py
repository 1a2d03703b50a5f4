"""Gateway fixtures: a fake control plane, real wrapper job processes, the gateway under uvicorn."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest
from fake_control_plane import FakeControlPlane, Subject
from gateway_helpers import (
    ADMIN,
    ALICE,
    BOB,
    CHAIN,
    CHAIN_JOB,
    WS_UPSTREAM,
    WS_WEBVIEW_JOB,
    Stack,
    burst_upstream,
    run_gateway,
    start_job,
)

from racetrack.protocol import ENV_AUTH_TOKEN, ENV_JOB_NAME, ENV_PUB_URL
from server_process import free_port, job_server


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("gateway")
    with contextlib.ExitStack() as stack, FakeControlPlane() as control:
        jobs = {
            "1.0.0": [stack.enter_context(start_job(tmp, "adder", "1.0.0"))],
            "1.2.0": [stack.enter_context(start_job(tmp, "adder", "1.2.0")) for _ in range(2)],
        }
        flaky = stack.enter_context(start_job(tmp, "flaky", "1.2.0"))
        webview = stack.enter_context(start_job(tmp, "wsjob", "2.0.0", WS_WEBVIEW_JOB))
        burst = stack.enter_context(burst_upstream())
        ws_root = tmp / "ws"
        ws_root.mkdir()
        (ws_root / "ws_upstream.py").write_text(WS_UPSTREAM)
        ws = stack.enter_context(
            job_server(
                [],
                command=(
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(ws_root),
                    "--ws",
                    "wsproto",
                    "ws_upstream:app",
                ),
            )
        )
        dead = f"http://127.0.0.1:{free_port()}"
        control.state.jobs = {
            "adder": {v: [s.url for s in servers] for v, servers in jobs.items()},
            "flaky": {"1.2.0": [dead, flaky.url]},
            "dead": {"0.1.0": [dead]},
            "ws": {"1.0.0": [ws.url]},
            "wsjob": {"2.0.0": [webview.url]},
            "burst": {"1.0.0": [burst]},
        }
        control.state.tokens = {
            ALICE: Subject("User alice", {"*"}),
            BOB: Subject("User bob", {"ws", "wsjob", "burst", "flaky"}),
            ADMIN: Subject("User admin", {"*"}, admin=True),
        }
        control.state.public = {("adder", "1.2.0"): ["/api/v1/pid"]}
        gateway = stack.enter_context(
            run_gateway(
                control.url,
                tmp / "gw",
                "--timeout",
                "2",
                "--async-poll-wait",
                "5",
                "--async-max-result-bytes",
                "100000",
                "--task-lease",
                "1",
            )
        )
        env = {ENV_PUB_URL: gateway.url + "/pub", ENV_AUTH_TOKEN: CHAIN, ENV_JOB_NAME: "chain"}
        chain = stack.enter_context(start_job(tmp, "chain", "1.0.0", CHAIN_JOB, env))
        control.state.jobs["chain"] = {"1.0.0": [chain.url]}
        control.state.tokens[CHAIN] = Subject("Job family chain", set())
        yield Stack(control, gateway, jobs, tmp, chain)
