"""Every sample job served by a real wrapper process, called over HTTP."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wrapper_helpers import REPO, SAMPLES, sample_server

from server_process import job_server


def test_python_class_multiplies_and_documents_itself() -> None:
    with sample_server("python-class") as server:
        client = server.client
        response = client.post("/api/v1/perform", content=b'{"x": 20, "y": 5}')
        assert response.status_code == 200
        assert response.text == "100.0"
        assert client.get("/api/v1/parameters").json() == [
            {"name": "x", "type": "float"},
            {"name": "y", "type": "float"},
        ]
        prefixed = client.post("/pub/fatman/python-class/latest/api/v1/perform", json={"x": 2, "y": 3})
        assert prefixed.json() == 6.0
        assert client.post("/pub/job/python-class/0.0.1/api/v1/perform", json={"x": 2, "y": 4}).json() == 8.0
        operation = client.get("/openapi.json").json()["paths"]["/api/v1/perform"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["example"] == {"x": 20, "y": 5}
        health = client.get("/health").json()
        assert (health["name"], health["status"], health["ready"]) == ("python-class", "pass", True)


def test_run_local_serves_the_sample_and_prints_its_urls() -> None:
    racetrack = [str(Path(sys.executable).with_name("racetrack")), "run-local"]
    with job_server([str(SAMPLES / "python-class")], command=racetrack, wait_path="/ready") as server:
        assert f"http://127.0.0.1:{server.client.base_url.port}/api/v1/perform" in server.output()
        assert "/docs" in server.output() and "/metrics" in server.output()
        curl = shutil.which("curl")
        if curl:
            out = subprocess.run(
                [curl, "-s", "-d", '{"x": 20, "y": 5}', f"{server.client.base_url}/api/v1/perform"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        else:
            out = server.client.post("/api/v1/perform", content='{"x": 20, "y": 5}').text
        assert out == "100.0"


def test_auxiliary_endpoints_sync_and_async() -> None:
    with sample_server("python-auxiliary-endpoints") as server:
        client = server.client
        assert client.post("/api/v1/perform", json={"numbers": [40, 2]}).json() == 42.0
        explain = client.post("/api/v1/explain", json={"x": 1, "y": 3}).json()
        assert explain == {"x_importance": 0.25, "y_importance": 0.75}
        assert 1 <= client.post("/api/v1/random", json={"start": 1, "end": 6}).json() <= 6
        assert client.post("/api/v1/random", json={}).status_code == 200
        bad = client.post("/api/v1/explain", json={"x": 1})
        assert bad.status_code == 422 and bad.json()["details"][0]["loc"] == ["body", "y"]
        spec = client.get("/openapi.json").json()
        example = spec["paths"]["/api/v1/explain"]["post"]["requestBody"]["content"]["application/json"][
            "example"
        ]
        assert example == {"x": 1, "y": 2}


def test_static_endpoints_files_directories_and_no_escape() -> None:
    root = SAMPLES / "python-static-endpoints"
    with sample_server("python-static-endpoints") as server:
        client = server.client
        xrai = client.get("/api/v1/xrai")
        assert xrai.status_code == 200 and xrai.content == (root / "xrai.yaml").read_bytes()
        assert xrai.headers["content-type"].startswith("application/yaml")
        manifest = client.get("/api/v1/manifest")
        assert manifest.headers["content-type"].startswith("application/x-yaml")
        readme = client.get("/api/v1/docs/readme")
        assert readme.headers["content-type"].startswith("text/markdown")
        nested = client.get("/api/v1/docs/pages/subfolder/index.html")
        assert nested.status_code == 200 and "nested page" in nested.text
        assert nested.headers["content-type"].startswith("text/html")
        etag = nested.headers["etag"]
        assert "last-modified" in nested.headers
        assert (
            client.get("/api/v1/docs/pages/subfolder/index.html", headers={"if-none-match": etag}).status_code
            == 304
        )
        head = client.head("/api/v1/xrai")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        for escape in (
            "/api/v1/docs/pages/../../fatman.yaml",
            "/api/v1/docs/pages/%2e%2e/%2e%2e/entrypoint.py",
            "/api/v1/docs/pages/..%2f..%2fentrypoint.py",
            "/api/v1/docs/pages//etc/passwd",
            "/api/v1/docs/pages/%00",
            "/api/v1/docs/pages/index.html%00.txt",
        ):
            response = client.get(escape)
            assert response.status_code == 404, escape
            assert response.json()["type"] == "not_found"
        assert "ValueError" not in server.output()
        # what perform points to: a directory answers its index.html (after a redirect adding the slash)
        assert "/api/v1/docs/pages/" in client.post("/api/v1/perform", json={}).json()
        index = client.get("/api/v1/docs/pages/")
        assert index.status_code == 200 and "Static docs" in index.text
        assert index.headers["content-type"].startswith("text/html")
        redirect = client.get(
            "/pub/fatman/python-static-endpoints/1/api/v1/docs/pages", follow_redirects=False
        )
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "/pub/fatman/python-static-endpoints/1/api/v1/docs/pages/"
        assert client.get("/api/v1/docs/pages/subfolder/").text == nested.text
        missing = client.get("/api/v1/docs/pages/nothing.html").json()
        assert missing["error"] == "no file 'nothing.html' under static endpoint /docs/pages"
        # Range requests: a part, or an error in the standard shape
        part = client.get("/api/v1/xrai", headers={"range": "bytes=0-3"})
        assert part.status_code == 206 and part.content == (root / "xrai.yaml").read_bytes()[:4]
        beyond = client.get("/api/v1/xrai", headers={"range": "bytes=999999-"})
        assert beyond.status_code == 416 and beyond.json()["type"] == "range_not_satisfiable"
        assert beyond.headers["content-range"].startswith("bytes */")


def test_flask_webview_with_static_dir() -> None:
    with sample_server("python-ui-flask") as server:
        client = server.client
        page = client.get("/api/v1/webview/")
        assert page.status_code == 200
        assert 'href="/pub/job/python-ui-flask/0.0.1/api/v1/webview/static/style.css"' in page.text
        same_page = client.get("/pub/fatman/python-ui-flask/0.0.1/api/v1/webview/")
        assert same_page.text == page.text
        assert client.post("/api/v1/webview/postme", json={"a": 1}).json() == {"hello": {"a": 1}}
        css = client.get("/pub/fatman/python-ui-flask/0.0.1/api/v1/webview/static/style.css")
        assert css.status_code == 200 and "font-family" in css.text
        assert client.get("/api/v1/webview/static/../entrypoint.py").status_code == 404
        nul = client.get("/api/v1/webview/static/%00")
        assert nul.status_code == 404 and nul.json()["type"] == "not_found"
        redirect = client.get("/api/v1/webview", follow_redirects=False)
        assert redirect.status_code == 307 and redirect.headers["location"] == "/api/v1/webview/"


def test_custom_metrics_are_exported() -> None:
    with sample_server("python-metrics") as server:
        client = server.client
        assert client.post("/api/v1/perform", json={"word": "racetrack"}).json() == 9
        metrics = client.get("/metrics").text
        assert 'fatman_words_counted{color="blue"} 1.0' in metrics
        assert "# HELP fatman_words_counted Words counted since the job started" in metrics
        assert 'fatman_endpoint_calls_total{endpoint="/perform"} 1.0' in metrics


def test_env_and_secret_env_through_run_local(tmp_path: Path) -> None:
    job = tmp_path / "python-env-secret"
    shutil.copytree(SAMPLES / "python-env-secret", job)
    (job / ".env.runtime").write_text("API_TOKEN=s3cr3t-value\nMODEL_ZOO=from-secret\n")
    racetrack = [str(Path(sys.executable).with_name("racetrack")), "run-local"]
    with job_server([str(job)], command=racetrack) as server:
        result = server.client.post("/api/v1/perform", json={}).json()
        assert result == {
            "greeting": "hello",
            "model_zoo": "from-secret",
            "token_set": True,
            "token_sha256_prefix": hashlib.sha256(b"s3cr3t-value").hexdigest()[:8],
        }
        assert "s3cr3t-value" not in server.output()


def test_env_secret_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    job = tmp_path / "python-env-secret"
    shutil.copytree(SAMPLES / "python-env-secret", job)
    racetrack = Path(sys.executable).with_name("racetrack")
    result = subprocess.run(
        [str(racetrack), "run-local", str(job)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert ".env.runtime.dist" in result.stderr and "Traceback" not in result.stderr


def test_model_loaded_in_init_from_the_repo() -> None:
    with sample_server("python-model") as server:
        client = server.client
        price = client.post("/api/v1/perform", json={"rooms": 3, "area_m2": 64.5, "age_years": 10}).json()
        assert price == pytest.approx(12500 * 3 + 1830.5 * 64.5 - 420 * 10 + 15000)
        batch = client.post("/api/v1/batch", json={"rows": [[1, 30, 5], [2, 40, 0]]}).json()
        assert batch == pytest.approx([12500 + 1830.5 * 30 - 2100 + 15000, 25000 + 1830.5 * 40 + 15000])
        params = client.get("/api/v1/parameters").json()
        assert params[2] == {"name": "age_years", "type": "float", "default_value": 0.0}


def test_samples_have_manifest_readme_and_entrypoint() -> None:
    samples = sorted(path for path in SAMPLES.iterdir() if path.is_dir())
    assert {path.name for path in samples} >= {
        "python-class",
        "python-auxiliary-endpoints",
        "python-static-endpoints",
        "python-ui-flask",
        "python-metrics",
        "python-env-secret",
        "python-model",
    }
    for sample in samples:
        assert (sample / "fatman.yaml").is_file() and (sample / "README.md").is_file(), sample
    assert REPO.joinpath("sample/python-env-secret/.env.runtime.dist").is_file()
    assert REPO.joinpath("sample/python-env-secret/.env.build.dist").is_file()
