"""Each sample, deployed from a local git repository on the real engine: called over HTTP through its
published port and with `racetrack call`, listed, its logs read, then deleted."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from deploy_helpers import SAMPLES, JobRepo, deploy, listed, racetrack

pytestmark = pytest.mark.docker


def _env_secret(repo: JobRepo) -> None:
    for name in (".env.build", ".env.runtime"):
        shutil.copy(repo.job / f"{name}.dist", repo.job / name)
    repo.write_secrets("API_TOKEN=s3cret-token-value\n")


def _check_static(url: str) -> None:
    response = httpx.get(url + "/api/v1/xrai")
    assert response.status_code == 200 and response.text.strip()


def _check_webview(url: str) -> None:
    response = httpx.get(url + "/api/v1/webview/")
    assert response.status_code == 200 and "<html" in response.text.lower()


def _check_metrics(url: str) -> None:
    assert "fatman_words_counted" in httpx.get(url + "/metrics").text


def _check_secret(url: str) -> None:
    result = httpx.post(url + "/api/v1/perform", json={}).json()
    assert result["token_set"] is True and result["greeting"] == "hello"


# sample -> (payload for /perform, expected result, extra check on the job's base URL, preparation)
SAMPLE_CASES: dict[str, tuple[dict, Any, Callable[[str], None] | None, Callable[[JobRepo], None] | None]] = {
    "python-class": ({"x": 20, "y": 5}, 100.0, None, None),
    "python-auxiliary-endpoints": ({"numbers": [40, 2]}, 42.0, None, None),
    "python-static-endpoints": ({}, None, _check_static, None),
    "python-ui-flask": ({"x": 1, "y": 2}, 3.0, _check_webview, None),
    "python-metrics": ({"word": "racetrack"}, 9, _check_metrics, None),
    "python-env-secret": ({}, None, _check_secret, _env_secret),
    "python-model": ({"rooms": 3, "area_m2": 64.5, "age_years": 10}, None, None, None),
}


def test_every_sample_is_covered() -> None:
    assert sorted(SAMPLE_CASES) == sorted(path.name for path in SAMPLES.iterdir() if path.is_dir())


@pytest.mark.parametrize("sample", sorted(SAMPLE_CASES))
def test_sample_deploys_serves_lists_logs_and_deletes(sample: str, job_repo: Any) -> None:
    payload, expected, check, prepare = SAMPLE_CASES[sample]
    repo = job_repo(SAMPLES / sample, f"sample/{sample}", sample)
    if prepare:
        prepare(repo)

    deployed = deploy(repo)
    assert "deployed" in deployed.stdout and "/api/v1/perform" in deployed.stdout
    assert "s3cret-token-value" not in deployed.output

    [job] = listed(repo.name)
    assert (job["name"], job["version"], job["status"]) == (repo.name, "0.0.1", "running")
    assert job["url"].startswith("http://127.0.0.1:") and job["container"] == f"{repo.name}-0.0.1"
    assert job["git_commit"] == repo.commit
    url = job["url"]

    direct = httpx.post(url + "/api/v1/perform", json=payload, timeout=30)
    assert direct.status_code == 200, direct.text
    if expected is not None:
        assert direct.json() == expected
    called = racetrack("call", repo.name, "/perform", json.dumps(payload))
    assert called.exit_code == 0, called.output
    assert json.loads(called.stdout) == direct.json()
    if check:
        check(url)
    health = httpx.get(url + "/health").json()
    assert (health["name"], health["version"], health["git_version"]) == (repo.name, "0.0.1", repo.commit)

    logs = racetrack("logs", repo.name)
    assert logs.exit_code == 0, logs.output
    assert "/api/v1/perform" in logs.stdout
    assert "s3cret-token-value" not in logs.stdout

    deleted = racetrack("delete", repo.name, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert listed(repo.name) == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/live", timeout=2)
