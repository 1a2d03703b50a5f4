"""Living with deployed jobs on the real engine: versions side by side and `latest`, the container's
settings, zero-downtime `--force`, a job whose __init__ raises, a failing smoke check, and delete."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from deploy_helpers import JOBS, RACETRACK, JobRepo, deploy, flat, git, listed, racetrack

from racetrack import __version__ as racetrack_version

pytestmark = pytest.mark.docker

TOKEN = "tok-7f3a9c-very-secret"


@pytest.fixture
def lifecycle(job_repo: Any) -> JobRepo:
    """The lifecycle test job in its own git repository, with a valid secret token."""
    repo = job_repo(JOBS / "lifecycle", ".", "lifecycle")
    repo.write_secrets(f"MODEL_TOKEN={TOKEN}\n")
    return repo


def whoami(url: str) -> dict[str, Any]:
    response = httpx.post(url + "/api/v1/whoami", json={}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_versions_side_by_side_latest_call_and_logs(lifecycle: JobRepo, engine: Any) -> None:
    deploy(lifecycle)
    deploy(lifecycle, "-e", "version=1.10.0")
    deploy(lifecycle, "-e", "version=1.9.0")
    jobs = {job["version"]: job for job in listed(lifecycle.name)}
    assert list(jobs) == ["1.0.0", "1.9.0", "1.10.0"]  # SemVer order, not string order
    assert {job["status"] for job in jobs.values()} == {"running"}
    assert len({job["url"] for job in jobs.values()}) == 3

    latest = racetrack("call", lifecycle.name, "/whoami")
    assert latest.exit_code == 0, latest.output
    assert json.loads(latest.stdout)["version"] == "1.10.0"
    pinned = racetrack("call", lifecycle.name, "whoami", "{}", "--version", "1.0.0")
    assert json.loads(pinned.stdout)["version"] == "1.0.0"
    perform = racetrack("call", lifecycle.name, "x: 6\ny: 7", "--version", "latest")
    assert perform.exit_code == 0 and json.loads(perform.stdout) == 42.0
    missing = racetrack("call", lifecycle.name, "--version", "3.0.0")
    assert missing.exit_code == 1 and "deployed: 1.0.0, 1.9.0, 1.10.0" in flat(missing.stderr)
    refused = racetrack("call", lifecycle.name, '{"x": "a lot"}')
    assert refused.exit_code == 1 and "HTTP 422" in refused.stderr and '"x"' in refused.stderr

    curl = racetrack("call", lifecycle.name, '{"x": 2, "y": 21}', "--curl")
    assert curl.stdout.startswith("curl ")
    assert subprocess.run(curl.stdout, shell=True, capture_output=True, text=True).stdout.strip() == "42.0"

    logs = racetrack("logs", lifecycle.name, "--version", "1.0.0", "--tail", "200")
    assert logs.exit_code == 0, logs.output
    assert "loading the model with token [secret]" in logs.stdout and TOKEN not in logs.stdout
    assert len(racetrack("logs", lifecycle.name, "--tail", "2").stdout.splitlines()) == 2


def test_logs_follow_prints_new_lines(lifecycle: JobRepo) -> None:
    deploy(lifecycle)
    command = [str(RACETRACK), "logs", lifecycle.name, "--follow", "--tail", "1"]
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout or ()], daemon=True).start()
    try:
        lines.get(timeout=20)  # the last old line: the follower is attached
        assert racetrack("call", lifecycle.name, "x: 1\ny: 2").exit_code == 0
        deadline = time.monotonic() + 20
        seen = []
        while not any("POST /api/v1/perform" in line for line in seen):
            assert time.monotonic() < deadline, f"no access line followed: {seen}"
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        assert follower.poll() is None  # still following
    finally:
        follower.terminate()
        follower.wait(10)


def test_container_settings(lifecycle: JobRepo, engine: Any) -> None:
    deploy(lifecycle, "-e", "resources={cpu_min: 250m, cpu_max: 500m, memory_min: 64Mi, memory_max: 256Mi}")
    [job] = listed(lifecycle.name)
    container = engine.containers.get(job["container"])
    host = container.attrs["HostConfig"]
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert (host["NanoCpus"], host["CpuShares"]) == (500_000_000, 256)
    assert (host["Memory"], host["MemoryReservation"]) == (256 * 2**20, 64 * 2**20)
    assert host["PortBindings"]["7000/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(job["host_port"])}]
    labels = container.labels
    assert labels["racetrack.job.name"] == lifecycle.name and labels["racetrack.job.version"] == "1.0.0"
    assert labels["racetrack.job.owner"] == "tests@example.com"
    assert labels["racetrack.label.team"] == "deploy-tests"
    assert len(labels["racetrack.manifest.digest"]) == 64
    assert labels["racetrack.secret-env.names"] == "MODEL_TOKEN"
    assert TOKEN not in json.dumps(labels)
    identity = whoami(job["url"])
    assert identity["name"] == lifecycle.name and identity["version"] == "1.0.0"
    assert identity["git_version"] == lifecycle.commit and identity["deployed_at"].endswith("Z")
    moment = datetime.fromisoformat(identity["deployed_at"].replace("Z", "+00:00"))
    assert int(identity["deployed_at_seconds"]) == int(moment.timestamp())  # Racetrack's name, Unix seconds
    assert identity["deployed_by"] == racetrack_version
    assert identity["greeting"] == "hello" and identity["token_set"] is True


def test_deploying_a_deployed_version_needs_force_and_ports_are_not_shared(lifecycle: JobRepo) -> None:
    deploy(lifecycle)
    [job] = listed(lifecycle.name)
    again = racetrack("deploy", str(lifecycle.job), *lifecycle.overrides)
    assert again.exit_code == 1
    assert "already deployed" in again.stderr and "--force" in again.stderr
    port = str(job["host_port"])
    same_port = racetrack("deploy", str(lifecycle.job), *lifecycle.overrides, "--force", "--host-port", port)
    assert same_port.exit_code == 1 and "keeps serving until its replacement is ready" in same_port.stderr
    other_version = ["-e", "version=2.0.0", "--host-port", port]
    taken = racetrack("deploy", str(lifecycle.job), *lifecycle.overrides, *other_version)
    assert taken.exit_code == 1 and f"host port {port} on 127.0.0.1 is in use" in taken.stderr
    remaining = [(j["version"], j["container_id"]) for j in listed(lifecycle.name)]
    assert remaining == [("1.0.0", job["container_id"])]


def test_force_replaces_only_once_the_new_container_is_ready(lifecycle: JobRepo, engine: Any) -> None:
    deploy(lifecycle)
    [old] = listed(lifecycle.name)
    lifecycle.write_secrets(f"MODEL_TOKEN={TOKEN}\nINIT_SECONDS=3\n")  # the replacement loads for 3 s
    command = [str(RACETRACK), "deploy", str(lifecycle.job), *lifecycle.overrides, "--force"]
    redeploy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    old_answers: list[tuple[float, bool]] = []  # (time, did the old container answer /ready with 200)
    new_ready_at = None
    with httpx.Client(timeout=1) as http:
        while redeploy.poll() is None:
            now = time.monotonic()
            old_answers.append((now, _ready(http, old["url"])))
            replacement = [job for job in listed(lifecycle.name) if job["container"].endswith("__next")]
            if new_ready_at is None and replacement and _ready(http, replacement[0]["url"]):
                new_ready_at = now
            time.sleep(0.1)
    output = redeploy.stdout.read() if redeploy.stdout else ""
    assert redeploy.returncode == 0, output
    assert new_ready_at is not None, "the replacement was never seen ready under its temporary name"
    served_while_starting = [ok for at, ok in old_answers if at < new_ready_at]
    assert len(served_while_starting) >= 10 and all(served_while_starting), old_answers
    [new] = listed(lifecycle.name)
    assert new["container"] == old["container"] and new["container_id"] != old["container_id"]
    assert new["status"] == "running" and new["url"] != old["url"]
    assert f"port moved from {old['host_port']} to {new['host_port']}" in flat(output)
    with httpx.Client(timeout=1) as http:
        assert not _ready(http, old["url"]) and _ready(http, new["url"])


def _ready(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url + "/ready").status_code == 200
    except httpx.HTTPError:
        return False


def test_a_container_removed_while_listing_is_left_out(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine listed a container that was gone when inspected (a replacement finishing): no error."""
    from racetrack.deploy.registry import job_containers

    real_listing = engine.api.containers
    gone = {"Id": "0" * 64}  # what the listing said a moment before the container was removed
    listing = lambda *args, **kwargs: [*real_listing(*args, **kwargs), gone]  # noqa: E731
    monkeypatch.setattr(engine.api, "containers", listing)
    assert job_containers(engine, "no-such-job-anywhere") == []


def test_a_job_whose_init_raises_is_removed_and_the_old_version_kept(lifecycle: JobRepo, engine: Any) -> None:
    deploy(lifecycle)
    [old] = listed(lifecycle.name)
    lifecycle.write_secrets("MODEL_TOKEN=revoked\n")
    for extra in (["--force"], ["-e", "version=2.0.0"]):
        failed = racetrack("deploy", str(lifecycle.job), *lifecycle.overrides, *extra)
        assert failed.exit_code == 1, failed.output
        said = flat(failed.stderr)
        assert "did not start: the job failed to load" in said
        assert "PermissionError: the model registry refused MODEL_TOKEN (entrypoint.py:13)" in said
        assert "| PermissionError: the model registry refused MODEL_TOKEN" in said  # the log tail
        assert "The failed container was removed" in said
        jobs = listed(lifecycle.name)
        assert [(job["version"], job["container_id"], job["status"]) for job in jobs] == [
            ("1.0.0", old["container_id"], "running")
        ]
    assert whoami(old["url"])["token_set"] is True
    leftovers = engine.containers.list(all=True, filters={"label": f"racetrack.job.name={lifecycle.name}"})
    assert [container.name for container in leftovers] == [old["container"]]


def test_a_failing_docs_example_fails_the_deploy_unless_no_verify(lifecycle: JobRepo) -> None:
    lifecycle.write_secrets(f"MODEL_TOKEN={TOKEN}\nPERFORM_MODE=broken\n")
    failed = racetrack("deploy", str(lifecycle.job), *lifecycle.overrides)
    assert failed.exit_code == 1, failed.output
    said = flat(failed.stderr)
    assert "/api/v1/perform: HTTP 500" in said and "perform is broken" in said
    assert "the smoke check failed for /api/v1/perform" in said and "--no-verify" in said
    assert listed(lifecycle.name) == []
    unverified = deploy(lifecycle, "--no-verify")
    assert "/api/v1/perform: HTTP 500" in unverified.stderr
    assert [job["status"] for job in listed(lifecycle.name)] == ["running"]


def test_delete(lifecycle: JobRepo, engine: Any) -> None:
    deploy(lifecycle)
    deploy(lifecycle, "-e", "version=1.1.0")
    unconfirmed = racetrack("delete", lifecycle.name)
    assert unconfirmed.exit_code == 1 and "--yes" in unconfirmed.stderr
    one = racetrack("delete", lifecycle.name, "--version", "latest")
    assert one.exit_code == 0 and "1.1.0" in one.stdout
    [job] = listed(lifecycle.name)
    assert job["version"] == "1.0.0"
    engine.containers.get(job["container"]).stop()
    assert [job["status"] for job in listed(lifecycle.name)] == ["stopped"]
    every = racetrack("delete", lifecycle.name, "--yes")
    assert every.exit_code == 0, every.output
    assert listed(lifecycle.name) == []
    gone = racetrack("delete", lifecycle.name, "--yes")
    assert gone.exit_code == 1 and "no job named" in gone.stderr


def test_a_new_commit_with_an_unchanged_job_reports_the_new_git_version(lifecycle: JobRepo) -> None:
    deploy(lifecycle)
    [first] = listed(lifecycle.name)
    assert first["git_commit"] == lifecycle.commit
    git(lifecycle.root, "commit", "--allow-empty", "-m", "nothing in the job changes")
    result = deploy(lifecycle, "--force")
    assert "up to date, nothing built" in flat(result.output)  # the image is reused...
    [second] = listed(lifecycle.name)
    assert second["git_commit"] == lifecycle.commit != first["git_commit"]  # ...but the commit is current
    health = httpx.get(second["url"] + "/health", timeout=10).json()
    assert health["git_version"] == lifecycle.commit
