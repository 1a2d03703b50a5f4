"""Racetrack's real client against a real `racetrack server` (SQLite and PostgreSQL), with real Docker."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
import zipfile
from pathlib import Path

import docker
import httpx
import pytest

from conftest import SHARED_JOB, Client, Server, job_copy, make_client, start_server
from lifecycle import api
from racetrack.phases import Phase
from racetrack.protocol import AUTH_HEADER

pytestmark = pytest.mark.docker
REMOTE = ["-e", "git.remote=https://example.invalid/team/jobs.git"]
CALL_DEADLINE = 5.0  # revocation and grants take effect within this many seconds


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def deploy_args(job: Path, name: str, *extra: str) -> list[str]:
    """A client's `deploy` of `job` as job `name`, sending its files (the git remote is never cloned)."""
    return ["deploy", str(job), "--build-context", "local", "-e", f"name={name}", *REMOTE, *extra]


def deployment_id(output: str) -> str:
    found = re.search(r"job deployment requested: ([0-9a-f-]{36})", output)
    assert found, output
    return found.group(1)


def poll(check, timeout: float, what: str):  # noqa: ANN001, ANN201 - a tiny test helper
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.2)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_racetrack_client_deploys_lists_calls_and_deletes(
    database: str, request: pytest.FixtureRequest, client_binary: Path, tmp_path: Path
) -> None:
    server: Server = request.getfixturevalue(f"{database}_server")
    client = make_client(client_binary, tmp_path, server)
    name = SHARED_JOB
    job = job_copy("python-class", tmp_path / "job", name)

    deployed = client.run(*deploy_args(job, name), tty=True)
    assert f'Job "{name}" has been deployed' in deployed.stderr + deployed.stdout
    shown = set(re.findall(r"deployment in progress: (.+?)\.\.\.", deployed.stdout))
    assert shown and shown <= {str(phase) for phase in Phase}, deployed.stdout  # our phase names, printed

    listing = client.run("list").stdout
    assert re.search(rf"{name}\s+0\.0\.1\s+RUNNING", listing), listing

    called = client.run("call", name, "/api/v1/perform", '{"x": 20, "y": 5}')
    assert called.stdout.strip() == "100.0"
    task = httpx.post(
        f"{server.url}/pub/async/new/job/{name}/latest/api/v1/perform",
        json={"x": 4, "y": 5},
        headers={AUTH_HEADER: server.admin_token},
        timeout=30,
    )
    assert task.status_code == 201, task.text  # the task is stored in this server's database
    polled = poll(
        lambda: (
            (
                r := httpx.get(
                    f"{server.url}/pub/async/task/{task.json()['task_id']}/poll",
                    headers={AUTH_HEADER: server.admin_token},
                    timeout=40,
                )
            ).status_code
            == 200
            and r
        ),
        60,
        "the async task's result",
    )
    assert polled.json() == 20.0

    logs = client.run("logs", name, "--tail", "50").stdout
    assert "ready" in logs
    build_logs = client.run("build-logs", name).stdout
    assert "racetrack:" in build_logs
    assert client.run("plugin", "list").returncode == 0  # none: the job type and targets are built in
    assert "python3:latest" in client.run("plugin", "list", "--job-types").stdout
    moved = client.run("move", name, "--version", "0.0.1", "--infrastructure", "k8s", check=False)
    assert moved.returncode != 0 and "cannot be moved to another infrastructure target" in (
        moved.stdout + moved.stderr
    )
    plugin = tmp_path / "my-plugin.zip"
    with zipfile.ZipFile(plugin, "w") as archive:
        archive.writestr("plugin-manifest.yaml", "name: my-plugin\nversion: 1.0.0\n")
    installed = client.run("plugin", "install", str(plugin), check=False)
    assert installed.returncode != 0
    assert "racetrack server has no plugins" in installed.stdout + installed.stderr

    again = client.run(*deploy_args(job, name), check=False)
    assert again.returncode != 0
    assert (
        f"job {name} v0.0.1 is already deployed. Try deploying next version or use --force flag"
        in again.stdout + again.stderr
    )
    assert "racetrack: --no-cache" not in build_logs
    forced = client.run(*deploy_args(job, name, "--force", "--no-cache"), tty=True)
    assert f'Job "{name}" has been deployed' in forced.stderr + forced.stdout
    assert "racetrack: --no-cache: building every step" in client.run("build-logs", name).stdout

    client.run("delete", name, "--version", "0.0.1")
    assert name not in client.run("list").stdout
    assert api(server, "GET", f"/job/{name}/latest", server.admin_token).status_code == 404
    assert not docker.from_env().containers.list(all=True, filters={"label": f"racetrack.job.name={name}"})


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_our_cli_deploys_lists_calls_and_deletes_on_a_remote(
    database: str, request: pytest.FixtureRequest, client_binary: Path, tmp_path: Path
) -> None:
    server: Server = request.getfixturevalue(f"{database}_server")  # either database
    client = make_client(client_binary, tmp_path, server)  # our CLI reads the same config file
    remote = ["--remote", server.url]
    name = SHARED_JOB
    job = job_copy("python-class", tmp_path / "job", name)
    deploy = deploy_args(job, name, *remote)

    deployed = client.run(*deploy, ours=True)
    assert f'Job "{name}" has been deployed' in deployed.stdout
    assert "deployment in progress: " in deployed.stderr
    assert re.search(rf"{name}\s+0\.0\.1\s+RUNNING", client.run("list", *remote, ours=True).stdout)
    called = client.run("call", name, "perform", '{"x": 3, "y": 4}', *remote, ours=True)
    assert called.stdout.strip() == "12.0"
    assert "ready" in client.run("logs", name, "--tail", "50", *remote, ours=True).stdout
    assert "racetrack:" in client.run("build-logs", name, *remote, ours=True).stdout
    assert len(client.run("build-logs", name, "--tail", "3", *remote, ours=True).stdout.splitlines()) == 3
    table = client.run("list", "-c", "all", *remote, ours=True).stdout.splitlines()
    header = "NAME VERSION STATUS JOB TYPE INFRASTRUCTURE DEPLOYED BY UPDATED AT LAST CALL AT PUB URL"
    assert " ".join(table[0].split()) == header
    [row] = [line for line in table if line.startswith(name + " ")]
    assert "python3:latest" in row and " docker " in row and " admin " in row and " ago " in row
    assert row.endswith(f"{server.url}/pub/job/{name}/0.0.1")
    bad_column = client.run("list", "-c", "colour", *remote, ours=True, check=False)
    assert bad_column.returncode == 1 and "unknown column colour; columns are job_type" in bad_column.stderr
    token = client.run("get", "auth-token", *remote, ours=True).stdout.strip()
    assert token == server.admin_token
    curl = client.run("call", name, "perform", '{"x": 3, "y": 5}', "--curl", *remote, ours=True).stdout
    assert token not in curl and "$(racetrack get auth-token --remote" in curl
    path = f"{client.ours.parent}:{os.environ['PATH']}"
    ran = subprocess.run(
        ["bash", "-c", curl], env={**client.env(), "PATH": path}, capture_output=True, text=True
    )
    assert ran.returncode == 0 and ran.stdout.strip() == "15.0", ran
    with subprocess.Popen(
        [str(client.ours), "logs", name, "--follow", *remote],
        env=client.env(),
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        try:
            first = follower.stdout.readline()  # type: ignore[union-attr]
            time.sleep(2)  # a --follow keeps reading
            assert first and follower.poll() is None
        finally:
            follower.terminate()
    again = client.run(*deploy, ours=True, check=False)
    assert again.returncode == 1
    assert (
        f"job {name} v0.0.1 is already deployed. Try deploying next version or use --force flag"
        in again.stderr
    )
    client.run("delete", name, "--version", "0.0.1", *remote, ours=True)
    assert name not in client.run("list", *remote, ours=True).stdout
    assert client.run("get", "pub", "-q", ours=True).stdout.strip() == server.url + "/pub"
    client.run("logout", *remote, ours=True)
    denied = client.run("list", *remote, ours=True, check=False)
    assert denied.returncode == 1 and "missing auth token" in denied.stderr


def test_health_info_and_racetrack_error_bodies(sqlite_server: Server) -> None:
    assert httpx.get(sqlite_server.url + "/health").json()["database_connected"] is True
    token_file = sqlite_server.data_dir / "admin-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    output = sqlite_server.output()
    assert str(token_file) in output and sqlite_server.admin_token not in output  # where, never what
    info = api(sqlite_server, "GET", "/info").json()
    assert info["external_pub_url"] == sqlite_server.url + "/pub"
    assert httpx.get(sqlite_server.url + "/api/v1/info").json() == info  # without /lifecycle, as Lifecycle
    for method, path in [
        ("GET", "/job"),
        ("GET", "/job/x/latest"),
        ("POST", "/deploy"),
        ("GET", "/users/validate_user_auth"),
        ("DELETE", "/job/x/1.0.0"),
    ]:
        response = api(sqlite_server, method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["type"] == "AuthError" and "missing auth token" in response.json()["error"]
    bad = api(sqlite_server, "POST", "/deploy", sqlite_server.admin_token, content=b"{not json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    wrong = api(sqlite_server, "POST", "/deploy", sqlite_server.admin_token, json={"manifest": {"name": 5}})
    assert wrong.status_code == 400 and wrong.json()["error"].startswith("validating manifest: ")
    corrupt = api(
        sqlite_server,
        "POST",
        "/deploy",
        sqlite_server.admin_token,
        json={"manifest": {"name": "x"}, "build_context": "aGVsbG8=", "secret_vars": {}},
    )
    assert corrupt.status_code == 400 and "not a readable tar.gz" in corrupt.json()["error"]
    assert not list((sqlite_server.data_dir / "workspaces").iterdir())  # nothing half-created
    assert _deployment_of(sqlite_server, "x") is None
    assert b"racetrack_server_requests" in httpx.get(sqlite_server.url + "/metrics").content
    created = api(
        sqlite_server,
        "POST",
        "/users",
        sqlite_server.admin_token,
        json={"username": "carol", "password": "long-password-1"},
    )
    assert created.status_code == 200
    login = api(
        sqlite_server, "POST", "/users/login", json={"username": "carol", "password": "long-password-1"}
    )
    assert login.status_code == 200 and login.json()["username"] == "carol"
    assert (
        api(sqlite_server, "GET", "/users/validate_user_auth", login.json()["token"]).json()["is_staff"]
        is False
    )
    wrong = api(sqlite_server, "POST", "/users/login", json={"username": "carol", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["type"] == "AuthError"
    assert "long-password-1" not in sqlite_server.output()
    not_admin = api(sqlite_server, "POST", "/escs", login.json()["token"], json={"name": "x"})
    assert not_admin.status_code == 403 and '"call_admin_api"' in not_admin.json()["error"]


def test_secrets_stay_out_of_the_database_responses_logs_and_image(
    sqlite_server: Server, client_binary: Path, tmp_path: Path
) -> None:
    client = make_client(client_binary, tmp_path, sqlite_server)
    name = unique("srv-secret")
    job = job_copy("python-env-secret", tmp_path / "job", name)
    (job / ".gitignore").unlink()  # so Racetrack's client packs the secret files into the context
    runtime_secret, build_secret = f"rt-{secrets.token_hex(12)}", f"bt-{secrets.token_hex(12)}"
    (job / ".env.runtime").write_text(f"API_TOKEN={runtime_secret}\n")
    (job / ".env.build").write_text(f"GITLAB_USERNAME=ci\nGITLAB_TOKEN={build_secret}\n")

    public = ["-e", 'public_endpoints=["/api/v1/perform"]']
    deployed = client.run(*deploy_args(job, name, *public), tty=True)
    deploy_id = deployment_id(deployed.stderr + deployed.stdout)
    # the spec's subpath warning reaches Racetrack's client as a deployment warning
    assert "public endpoint /api/v1/perform answers without authentication" in deployed.stdout
    token = sqlite_server.admin_token
    call = httpx.post(
        f"{sqlite_server.url}/pub/job/{name}/latest/api/v1/perform",
        json={},
        headers={AUTH_HEADER: token},
        timeout=30,
    )
    assert call.status_code == 200, call.text
    assert call.json()["token_sha256_prefix"] == hashlib.sha256(runtime_secret.encode()).hexdigest()[:8]
    replica = api(sqlite_server, "GET", f"/job/{name}/latest", token).json()["replica_internal_names"][0]
    direct = httpx.post(replica + "/api/v1/perform", json={}, timeout=30)
    assert direct.status_code in (401, 403) and "through the racetrack gateway" in direct.text

    answers = [
        api(sqlite_server, "GET", path, token).text
        for path in (f"/deploy/{deploy_id}", "/job", f"/job/{name}/latest", f"/job/{name}/latest/build-logs")
    ]
    stored = b"".join(path.read_bytes() for path in sqlite_server.data_dir.glob("racetrack.db*"))
    for secret in (runtime_secret, build_secret):
        assert secret.encode() not in stored
        assert all(secret not in answer for answer in answers)
        assert secret not in sqlite_server.output()

    image = api(sqlite_server, "GET", f"/job/{name}/latest", token).json()["image_tag"]
    engine = docker.from_env()
    found = engine.containers.run(
        image,
        ["sh", "-c", "find / -xdev -name '.env.runtime' -o -name '.env.build'"],
        entrypoint=[],
        user="0",
        remove=True,
        network_mode="none",
    ).decode()
    assert found.strip() == ""
    history = str([layer.get("CreatedBy") for layer in engine.images.get(image).history()])
    assert runtime_secret not in history and build_secret not in history


def test_permissions_grants_and_revocation(
    sqlite_server: Server, client_binary: Path, tmp_path: Path
) -> None:
    client = make_client(client_binary, tmp_path, sqlite_server)
    admin = sqlite_server.admin_token
    jobs = api(sqlite_server, "GET", "/job", admin).json()
    assert jobs, "the secrets test leaves a job deployed"
    job = jobs[0]["name"]

    bob = client.run("admin", "users", "create", "bob", ours=True).stdout.strip()
    assert bob.startswith("rt_") and "\n" not in bob
    # bob may deploy new families, not someone else's job
    denied = api(
        sqlite_server, "POST", "/deploy", bob, json={"manifest": {**jobs[0]["manifest"]}, "secret_vars": {}}
    )
    assert denied.status_code == 403
    assert (
        f'auth subject "User: bob" does not have permission to access resource "{job}" with scope '
        '"deploy_job"'
    ) in denied.json()["error"]

    esc = client.run("admin", "escs", "create", "billing", ours=True).stdout.strip()
    can_call = f"/auth/can-call-job/{job}/latest/api/v1/perform"
    refused = api(sqlite_server, "GET", can_call, esc)
    assert refused.status_code == 401
    assert (
        'auth subject "ESC: billing"' in refused.json()["error"] and '"call_job"' in refused.json()["error"]
    )
    assert api(sqlite_server, "GET", f"/auth/can-call-job/{job}/latest/health").status_code == 200

    client.run("admin", "grant", "esc:billing", "call_job", "--job", job, ours=True)
    allowed = poll(
        lambda: (r := api(sqlite_server, "GET", can_call, esc)).status_code == 200 and r,
        CALL_DEADLINE,
        "the grant did not take effect",
    )
    body = allowed.json()
    assert body["caller"] == "ESC billing"
    assert body["job"]["name"] == job and body["job"]["status"] == "running"
    assert body["job"]["replica_internal_names"][0].startswith("http://127.0.0.1:")
    pub = f"{sqlite_server.url}/pub/job/{job}/latest/api/v1/perform"
    assert httpx.post(pub, json={}, headers={AUTH_HEADER: esc}, timeout=30).status_code == 200

    client.run("admin", "revoke", esc[:12], ours=True)
    revoked_at = time.monotonic()
    poll(lambda: api(sqlite_server, "GET", can_call, esc).status_code == 401, CALL_DEADLINE, "revocation")
    poll(
        lambda: httpx.post(pub, json={}, headers={AUTH_HEADER: esc}, timeout=30).status_code == 401,
        CALL_DEADLINE - (time.monotonic() - revoked_at),
        "revocation through the gateway",
    )
    message = api(sqlite_server, "GET", "/users/validate_user_auth", esc).json()["error"]
    assert message == "given access token has been revoked"

    # the job's public endpoint: pending after the deploy, open without a token once approved
    pending = client.run("admin", "public-endpoints", "--pending", ours=True).stdout
    assert f"{job}\t0.0.1\t/api/v1/perform\tpending" in pending
    anonymous = api(sqlite_server, "GET", can_call)
    assert anonymous.status_code == 401 and "missing auth token" in anonymous.json()["error"]
    client.run("admin", "public-endpoints", "approve", job, "0.0.1", "/api/v1/perform", ours=True)
    opened = api(sqlite_server, "GET", can_call)
    assert opened.status_code == 200 and opened.json()["caller"] is None
    assert api(sqlite_server, "GET", f"/auth/can-call-job/{job}/latest/api/v1/parameters").status_code == 401
    assert httpx.post(pub, json={}, timeout=30).status_code == 200
    # rejected again: the path needs a token once more, within the auth cache's few seconds
    client.run("admin", "public-endpoints", "reject", job, "0.0.1", "/api/v1/perform", ours=True)
    poll(lambda: httpx.post(pub, json={}, timeout=30).status_code == 401, CALL_DEADLINE, "the rejection")
    listed = client.run("admin", "public-endpoints", ours=True).stdout
    assert f"{job}\t0.0.1\t/api/v1/perform\trejected" in listed


def test_an_esc_deploys_a_new_family_then_calls_lists_and_deletes_it(
    sqlite_server: Server, client_binary: Path, tmp_path: Path
) -> None:
    admin = make_client(client_binary, tmp_path / "admin", sqlite_server)
    esc = admin.run("admin", "escs", "create", "deployer", ours=True).stdout.strip()
    admin.run("admin", "grant", "esc:deployer", "deploy_new_family", ours=True)
    machine = Client(client_binary, tmp_path / "esc-home")
    machine.home.mkdir(parents=True)
    machine.run("set", "alias", "team", sqlite_server.url, ours=True)
    machine.run("login", esc, "--remote", "team", ours=True)
    machine.run("set", "remote", "team", ours=True)
    assert machine.run("get", "remote", "-q", ours=True).stdout.strip().startswith(sqlite_server.url)
    name = unique("srv-esc")
    job = job_copy("python-class", tmp_path / "job", name)

    public = ["-e", 'public_endpoints=["/api/v1/perform"]']
    deploy = deploy_args(job, name, *public)
    deployed = machine.run(*deploy, "--remote", "team", ours=True)
    assert f'Job "{name}" has been deployed' in deployed.stdout
    # the deployer's defaults on its new family: read, call, delete; Racetrack's client reads our config
    assert re.search(rf"{name}\s+0\.0\.1\s+RUNNING", machine.run("list").stdout)
    assert machine.run("call", name, "/api/v1/perform", '{"x": 2, "y": 3}').stdout.strip() == "6.0"
    [row] = [j for j in api(sqlite_server, "GET", "/job", esc).json() if j["name"] == name]
    assert row["deployed_by"] == "deployer"
    # a public endpoint opens for the approved version only; a new version asks again
    pub = f"{sqlite_server.url}/pub/job/{name}"

    def anonymous(version: str) -> int:
        return httpx.post(f"{pub}/{version}/api/v1/perform", json={"x": 1, "y": 1}, timeout=30).status_code

    assert anonymous("0.0.1") == 401  # pending
    admin.run("admin", "public-endpoints", "approve", name, "0.0.1", "/api/v1/perform", ours=True)
    poll(lambda: anonymous("0.0.1") == 200, CALL_DEADLINE, "the approval (decisions are cached briefly)")
    machine.run(*deploy, "-e", "version=0.0.2", "--remote", "team", ours=True)
    assert anonymous("0.0.2") == 401 and anonymous("latest") == 401 and anonymous("0.0.1") == 200
    pending = admin.run("admin", "public-endpoints", "--pending", ours=True).stdout
    assert f"{name}\t0.0.2\t/api/v1/perform\tpending" in pending
    machine.run("delete", name, "--version", "0.0.2", "--remote", "team", ours=True)
    # the job's status follows the engine within seconds: its container killed, the job is in error
    [container] = docker.from_env().containers.list(filters={"label": f"racetrack.job.name={name}"})
    container.kill()
    killed = time.monotonic()
    job_status = lambda: api(sqlite_server, "GET", f"/job/{name}/latest", esc).json()  # noqa: E731
    status = poll(
        lambda: (j := job_status())["status"] != "running" and j,
        5,
        "the killed job's status changing",
    )
    print(f"status {status['status']} {time.monotonic() - killed:.1f} s after the kill: {status['error']}")
    assert status["status"] in ("error", "lost") and status["error"]
    machine.run("delete", name, "--version", "0.0.1", "--remote", "team", ours=True)
    assert api(sqlite_server, "GET", f"/job/{name}/latest", esc).status_code == 404


def test_a_restart_during_a_build_fails_that_deployment_and_keeps_jobs_serving(
    sqlite_server: Server, client_binary: Path, tmp_path: Path
) -> None:
    admin = sqlite_server.admin_token
    running = [job for job in api(sqlite_server, "GET", "/job", admin).json() if job["status"] == "running"]
    assert running, "the secrets test leaves a job running"
    name = unique("srv-slow")
    job = job_copy("python-class", tmp_path / "job", name)
    entrypoint = job / "entrypoint.py"
    # a new file content (a fresh build) that takes long to import (a long contract check)
    entrypoint.write_text(f"import time\ntime.sleep(120)  # {uuid.uuid4()}\n" + entrypoint.read_text())
    client = make_client(client_binary, tmp_path, sqlite_server)
    started = time.time()

    deploying = subprocess.Popen(
        [str(client.binary), "-v", *deploy_args(job, name)],
        env=client.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deployment = poll(lambda: _deployment_of(sqlite_server, name), 60, "no deployment started")
        poll(
            lambda: (
                api(sqlite_server, "GET", f"/deploy/{deployment}", admin).json()["phase"]
                in ("job code", "requirements", "system packages", "contract check")
            ),
            240,
            "the build never started",
        )
        twice = client.run(*deploy_args(job, name), check=False)
        assert twice.returncode != 0
        assert f"There's already ongoing deployment of job {name} 0.0.1" in twice.stdout + twice.stderr
        sqlite_server.stack.close()  # SIGTERM: stops with the build in progress
        restarted = start_server(sqlite_server.data_dir, None, tmp_path)
        sqlite_server.stack, sqlite_server.process = restarted.stack, restarted.process
        after = api(sqlite_server, "GET", f"/deploy/{deployment}", admin).json()
        assert after["status"] == "failed"
        assert "the server restarted during this deployment" in after["error"]
        assert "deploy again" in after["error"]
        assert "marked failed" in sqlite_server.output() or "failed:" in sqlite_server.output()
        for job_row in running:
            now = api(sqlite_server, "GET", f"/job/{job_row['name']}/{job_row['version']}", admin).json()
            assert now["status"] == "running"
            url = f"{sqlite_server.url}/pub/job/{job_row['name']}/{job_row['version']}/api/v1/perform"
            assert httpx.post(url, json={}, headers={AUTH_HEADER: admin}, timeout=30).status_code == 200
        assert api(sqlite_server, "GET", f"/job/{name}/latest", admin).status_code == 404  # nothing resumed
    finally:
        deploying.kill()
        deploying.wait()
        _remove_build_leftovers(started)


def _deployment_of(server: Server, name: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{server.data_dir / 'racetrack.db'}")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT id FROM deployments WHERE job_name = :n"), {"n": name}).first()
    engine.dispose()
    return row[0] if row else None


def _remove_build_leftovers(since: float) -> None:
    """Containers the interrupted build left (its contract-check sandbox)."""
    engine = docker.from_env()
    for container in engine.containers.list(all=True):
        created = container.attrs.get("Created", "")
        command = " ".join(container.attrs["Config"].get("Cmd") or [])
        if "racetrack.wrapper openapi" in command and created >= time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.gmtime(since)
        ):
            container.remove(force=True)


def test_deployments_beyond_max_parallel_wait_queued_then_run(client_binary: Path, tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", None, tmp_path, "--max-parallel", "1")
    with server.stack:
        client = make_client(client_binary, tmp_path, server)
        names = [unique("srv-queue-a"), unique("srv-queue-b")]
        deploys = []
        for name in names:
            job = job_copy("python-class", tmp_path / name, name)
            entrypoint = job / "entrypoint.py"  # a fresh build whose contract check takes a few seconds
            entrypoint.write_text(f"import time\ntime.sleep(4)  # {uuid.uuid4()}\n" + entrypoint.read_text())
            command = [str(client.binary), *deploy_args(job, name)]
            deploys.append(subprocess.Popen(command, env=client.env(), stdout=subprocess.PIPE, text=True))
        try:
            ids = [
                poll(lambda name=name: _deployment_of(server, name), 60, "the deployment") for name in names
            ]

            def one_queued_behind_the_other() -> bool:
                states = [api(server, "GET", f"/deploy/{i}", server.admin_token).json() for i in ids]
                phases = {state["phase"] for state in states if state["status"] == "in_progress"}
                return "queued" in phases and len(phases) == 2

            poll(one_queued_behind_the_other, 120, "one deployment queued while the other builds")
            for deploying in deploys:
                assert deploying.wait(timeout=300) == 0
            listing = client.run("list").stdout
            assert all(re.search(rf"{name}\s+0\.0\.1\s+RUNNING", listing) for name in names), listing
            # the server's metrics: deployments by outcome, phase durations, builds now, API requests
            metrics = httpx.get(server.url + "/metrics", timeout=30)
            text = metrics.text
            assert 'racetrack_server_deployments_total{outcome="done"} 2.0' in text
            assert 'racetrack_server_phase_seconds_count{phase="contract check"} 2.0' in text
            assert 'racetrack_server_phase_seconds_count{phase="queued"} 2.0' in text  # the wait, too
            assert "racetrack_server_deployments_in_progress 0.0" in text
            requested = 'racetrack_server_requests_total{route="/lifecycle/api/v1/deploy",status="200"} 2.0'
            assert requested in text
            promtool = subprocess.run(
                [shutil.which("promtool") or "promtool", "check", "metrics"],
                input=metrics.content,
                capture_output=True,
                timeout=60,
            )
            assert promtool.returncode == 0 and not promtool.stdout.strip(), promtool
        finally:
            for deploying in deploys:
                deploying.kill()
                deploying.wait()
            for name in names:
                api(server, "DELETE", f"/job/{name}/0.0.1", server.admin_token)
