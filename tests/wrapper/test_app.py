"""The ASGI app in-process: error shape, request ids, encoding, routes, metrics, loader errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wrapper_helpers import make_app, write_job

from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.http.app import JobApp
from racetrack.wrapper.settings import WRAPPER_ENV_VARS

ERROR_KEYS = {"error", "type", "details", "request_id"}

FAILING_JOB = """
class Job:
    def perform(self, mode: str = "ok"):
        if mode == "value":
            raise ValueError("mode must be positive")
        if mode == "crash":
            raise KeyError("boom")
        if mode == "unserializable":
            return {"thing": object()}
        return mode

    def auxiliary_endpoints(self):
        return {"/whoami": self.whoami}

    def whoami(self) -> dict:
        request = self.request_context.get()
        return {"agent": request.headers.get("user-agent"), "path": request.url.path}
"""


def test_every_error_has_one_shape_and_the_request_id(client_for) -> None:
    client = client_for(FAILING_JOB)
    cases = [
        (client.post("/api/v1/perform", json={"mode": "value"}), 400, "bad_request"),
        (client.post("/api/v1/perform", json={"mode": "crash"}), 500, "internal_error"),
        (client.post("/api/v1/perform", json={"mode": "unserializable"}), 500, "internal_error"),
        (client.post("/api/v1/perform", content=b"[1, 2]"), 422, "validation_error"),
        (client.post("/api/v1/perform", content=b"{not json"), 422, "validation_error"),
        (client.post("/api/v1/perform"), 422, "validation_error"),
        (client.get("/api/v1/perform"), 405, "method_not_allowed"),
        (client.get("/nope"), 404, "not_found"),
        (client.post("/health"), 405, "method_not_allowed"),
    ]
    for response, status, kind in cases:
        body = response.json()
        assert (response.status_code, body["type"]) == (status, kind), body
        assert set(body) == ERROR_KEYS
        assert body["request_id"] == response.headers["x-request-tracing-id"]
        assert "Traceback" not in body["error"]
    assert "mode must be positive" in cases[0][0].json()["error"]
    # the job's message verbatim, as Racetrack clients display it; the type goes into the details
    assert cases[1][0].json()["error"] == "'boom'"
    assert cases[1][0].json()["details"][0]["exception_type"] == "KeyError"
    assert "builtins.object" in cases[2][0].json()["error"]


def test_cross_origin_calls_are_allowed_without_credentials(client_for) -> None:
    client = client_for(FAILING_JOB)
    page = {"Origin": "https://dashboard.example"}
    preflight = client.options(
        "/pub/job/j/1.0.0/api/v1/perform",
        headers={
            **page,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-racetrack-auth",
        },
    )
    assert preflight.status_code == 200 and preflight.text == "OK"
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "content-type, x-racetrack-auth"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers  # a user's cookies never count
    called = client.post("/api/v1/perform", json={"mode": "ok"}, headers=page)
    assert called.json() == "ok" and called.headers["access-control-allow-origin"] == "*"
    failed = client.get("/nope", headers=page)
    assert failed.status_code == 404 and failed.headers["access-control-allow-origin"] == "*"
    same_origin = client.post("/api/v1/perform", json={"mode": "ok"})
    assert "access-control-allow-origin" not in same_origin.headers
    not_a_preflight = client.options("/api/v1/perform", headers=page)  # no Access-Control-Request-Method
    assert not_a_preflight.status_code == 405


def test_request_id_is_taken_from_the_caller_or_generated(client_for) -> None:
    client = client_for(FAILING_JOB)
    given = client.post("/api/v1/perform", json={}, headers={"X-Request-Tracing-Id": "abc-123"})
    assert given.headers["x-request-tracing-id"] == "abc-123"
    generated = client.post("/api/v1/perform", json={})
    assert len(generated.headers["x-request-tracing-id"]) == 16
    hostile = client.post("/api/v1/perform", json={}, headers={"X-Request-Tracing-Id": "<script>" * 40})
    assert hostile.headers["x-request-tracing-id"] != "<script>" * 40


def test_user_code_reads_the_current_request(client_for) -> None:
    client = client_for(FAILING_JOB)
    result = client.post("/pub/job/job/1.2/api/v1/whoami", json={}, headers={"User-Agent": "tester/1"}).json()
    assert result == {"agent": "tester/1", "path": "/pub/job/job/1.2/api/v1/whoami"}


def test_results_encode_numpy_dataclasses_models_dates_paths(client_for) -> None:
    client = client_for("""
        import dataclasses, datetime, pathlib
        import numpy as np
        import pydantic

        @dataclasses.dataclass
        class Point:
            x: float
            tags: set

        class Model(pydantic.BaseModel):
            when: datetime.date

        class Job:
            def perform(self):
                return {
                    "array": np.arange(4).reshape(2, 2)[:, ::-1],
                    "scalars": [np.float32(0.5), np.int64(7), np.bool_(True)],
                    "nested": [{"deep": np.array([1.5])}],
                    "point": Point(1.0, {"a"}),
                    "model": Model(when=datetime.date(2024, 1, 2)),
                    "path": pathlib.Path("a/b"),
                    "at": datetime.datetime(2024, 1, 2, 3, 4, 5),
                }
    """)
    assert client.post("/api/v1/perform", json={}).json() == {
        "array": [[1, 0], [3, 2]],
        "scalars": [0.5, 7, True],
        "nested": [{"deep": [1.5]}],
        "point": {"x": 1.0, "tags": ["a"]},
        "model": {"when": "2024-01-02"},
        "path": "a/b",
        "at": "2024-01-02T03:04:05",
    }


def test_routes_under_every_prefix_and_redirects(client_for) -> None:
    client = client_for("class Job:\n    def perform(self, x: int) -> int:\n        return x\n")
    for prefix in ("", "/pub/fatman/job/1.0.0", "/pub/job/job/latest"):
        assert client.post(f"{prefix}/api/v1/perform", json={"x": 3}).json() == 3
        assert client.get(f"{prefix}/", follow_redirects=False).headers["location"] == f"{prefix}/docs"
        spec = client.get(f"{prefix}/openapi.json").json()
        assert spec["servers"] == [{"url": prefix or "/"}]
        docs = client.get(f"{prefix}/docs").text
        assert f'src="{prefix}/docs/assets/swagger-ui-bundle.js"' in docs and "cdn" not in docs
        assert client.get(f"{prefix}/redoc").status_code == 200
    assert client.get("/pub/fatman/other-job/1/api/v1/parameters").status_code == 404
    assets = [client.get(f"/docs/assets/{name}") for name in ("swagger-ui-bundle.js", "swagger-ui.css")]
    assert all(asset.status_code == 200 and len(asset.content) > 10_000 for asset in assets)
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 200
    assert client.get("/docs/assets/../../settings.py").status_code == 404


def test_openapi_documents_fields_defaults_errors_and_example(client_for) -> None:
    client = client_for('''
        class Job:
            def perform(self, x: float, y: float = 2.0) -> float:
                """
                Multiply.
                :param x: First factor.
                :param y: Second factor.
                :return: The product.
                """
                return x * y

            def docs_input_example(self):
                return {"x": 3}
    ''')
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/perform"]["post"]
    media = operation["requestBody"]["content"]["application/json"]
    assert operation["requestBody"]["required"] is True
    assert media["example"] == {"x": 3}
    model = spec["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]
    assert model["properties"]["x"] == {"title": "X", "type": "number", "description": "First factor."}
    assert model["properties"]["y"]["default"] == 2.0 and model["required"] == ["x"]
    assert operation["description"] == "Multiply."
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"type": "number"}
    assert operation["responses"]["200"]["description"] == "The product."
    assert operation["responses"]["422"] == {"$ref": "#/components/responses/422"}
    for runtime_error in ("413", "429", "503", "504"):  # body limit, overload, shutdown, timeout
        assert operation["responses"][runtime_error] == {"$ref": f"#/components/responses/{runtime_error}"}
        assert runtime_error in spec["components"]["responses"]
    error_schema = spec["components"]["schemas"]["ErrorBody"]
    assert set(error_schema["properties"]) == ERROR_KEYS
    # no body never runs the example silently
    assert client.post("/api/v1/perform").status_code == 422


def test_metrics_count_calls_errors_and_skip_junk_custom_metrics(client_for, caplog) -> None:
    client = client_for("""
        class Job:
            def perform(self, fail: bool = False):
                if fail:
                    raise RuntimeError("no")
                return 1

            def metrics(self):
                return [
                    {"name": "job_good", "value": 2, "labels": {"kind": "a"}},
                    {"name": "bad name", "value": 1},
                    {"name": "job_no_value"},
                    {"name": "job_not_yet", "value": None},
                    {"value": 3},
                    "junk",
                    {"name": "fatman_calls_started_total", "value": 5},
                ]
    """)
    client.post("/api/v1/perform", json={})
    client.post("/api/v1/perform", json={"fail": True})
    client.post("/api/v1/perform", json={"zzz": 1})
    text = client.get("/metrics").text
    assert "fatman_calls_started_total 3.0" in text and "fatman_calls_finished_total 3.0" in text
    assert 'fatman_endpoint_errors_total{endpoint="/perform",kind="client"} 1.0' in text
    assert 'fatman_endpoint_errors_total{endpoint="/perform",kind="server"} 1.0' in text
    assert 'fatman_call_duration_seconds_count{endpoint="/perform"} 3.0' in text
    assert "fatman_calls_in_progress 0.0" in text and "fatman_last_call_timestamp_seconds" in text
    assert 'job_good{kind="a"} 2.0' in text
    assert (
        "bad name" not in text and "job_no_value" not in text and "fatman_calls_started_total 5" not in text
    )
    assert "job_not_yet" not in text  # None: no value yet, skipped quietly as in Racetrack
    logged = caplog.text
    assert "'value' is missing" in logged and "'name' is missing" in logged and "job_not_yet" not in logged


def test_metrics_returning_a_dict_is_skipped_saying_to_return_a_list(client_for, caplog) -> None:
    client = client_for(
        "class Job:\n    def perform(self):\n        return 1\n"
        "    def metrics(self):\n        return {'name': 'job_x', 'value': 1}\n"
    )
    assert client.get("/metrics").status_code == 200
    assert "metrics() returned a dict; return a list of dicts" in caplog.text


def test_metrics_function_that_raises_does_not_break_the_scrape(client_for) -> None:
    client = client_for(
        "class Job:\n    def perform(self):\n        return 1\n    def metrics(self):\n        1 / 0\n"
    )
    response = client.get("/metrics")
    assert response.status_code == 200 and "fatman_calls_started_total" in response.text


def test_static_directory_does_not_follow_symlinks_out(tmp_path: Path, client_for) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("top secret")
    (public / "leak.txt").symlink_to(tmp_path / "secret.txt")
    client = client_for("""
        class Job:
            def perform(self):
                return 1
            def static_endpoints(self):
                return {"/files": "public", "/one": ("public/ok.txt", "text/x-custom")}
    """)
    assert client.get("/api/v1/files/ok.txt").text == "fine"
    assert client.get("/api/v1/files/leak.txt").status_code == 404
    assert client.get("/api/v1/one").headers["content-type"].startswith("text/x-custom")
    assert client.get("/api/v1/one/anything").status_code == 404
    assert client.post("/api/v1/files/ok.txt").status_code == 405


@pytest.mark.parametrize(
    ("files", "class_name", "message", "exception_type", "line"),
    [
        ({}, None, "does not exist", "FileNotFoundError", None),
        ({"entrypoint.py": "class Job:\n    def perform(self)\n"}, None, "syntax error", "SyntaxError", 2),
        ({"entrypoint.py": "import not_installed_pkg_xyz\n"}, None, "requirements", "ModuleNotFoundError", 1),
        ({"entrypoint.py": "class A:\n    pass\n"}, None, "no perform method", "AttributeError", None),
        ({"entrypoint.py": "x = 1\n"}, None, "found none", "LookupError", None),
        (
            {
                "entrypoint.py": "class A:\n    def perform(self): pass\n"
                "class B:\n    def perform(self): pass\n"
            },
            None,
            "found A, B",
            "LookupError",
            None,
        ),
        (
            {"entrypoint.py": "class A:\n    def perform(self): pass\n"},
            "Missing",
            "not found",
            "LookupError",
            None,
        ),
        (
            {
                "entrypoint.py": "class A:\n    def __init__(self):\n        open('missing.bin')\n"
                "    def perform(self): pass\n"
            },
            None,
            "__init__",
            "FileNotFoundError",
            3,
        ),
        (
            {"entrypoint.py": "class A:\n    def perform(self, *args): pass\n"},
            None,
            "*args",
            "TypeError",
            None,
        ),
        (
            {
                "entrypoint.py": "class A:\n    def perform(self): pass\n"
                "    def auxiliary_endpoints(self):\n        return {'/parameters': self.perform}\n"
            },
            None,
            "collides",
            "LoadError",
            None,
        ),
        (
            {
                "entrypoint.py": "class A:\n    def perform(self): pass\n"
                "    def static_endpoints(self):\n        return {'/x': 'missing.txt'}\n"
            },
            None,
            "missing.txt does not exist",
            "FileNotFoundError",
            None,
        ),
        (
            {
                "entrypoint.py": "class A:\n    def perform(self, x): pass\n"
                "    def docs_input_examples(self):\n        return {'/perform': {'y': 1}}\n"
            },
            None,
            "not parameters",
            "ValueError",
            None,
        ),
        (
            {
                "base.py": "class Model:\n    def perform(self): pass\n",
                "entrypoint.py": "from base import Model\n",
            },
            None,
            "found none (imported classes are not considered: Model; name one in entrypoint_class)",
            "LookupError",
            None,
        ),
    ],
)
def test_load_errors_say_what_to_change(
    tmp_path: Path, files: dict, class_name: str | None, message: str, exception_type: str, line: int | None
) -> None:
    for name, code in files.items():
        write_job(tmp_path, code, name)
    app = make_app(tmp_path, entrypoint_class=class_name)
    error = app.load_error
    assert isinstance(error, LoadError), "expected the job to fail loading"
    assert message in str(error) and error.exception_type == exception_type
    if line is not None:
        assert error.location == f"{tmp_path / 'entrypoint.py'}:{line}"


def test_failed_load_keeps_serving_and_reports_it(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    write_job(
        tmp_path,
        "class A:\n    def __init__(self):\n        raise RuntimeError('no model')\n"
        "    def perform(self): pass\n",
    )
    client = TestClient(make_app(tmp_path))
    live = client.get("/live")
    assert live.status_code == 500
    body = live.json()
    assert "RuntimeError: no model" in body["error"]
    assert body["details"] == [
        {"exception_type": "RuntimeError", "location": f"{tmp_path / 'entrypoint.py'}:3"}
    ]
    assert client.get("/ready").status_code == 503
    assert client.post("/api/v1/perform", json={}).status_code == 503
    health = client.get("/health").json()
    assert (health["status"], health["live"], health["ready"]) == ("fail", False, False)


def test_parameters_list_keyword_only_and_defaults(client_for) -> None:
    client = client_for(
        "class J:\n    def perform(self, a: list[float], *, b: int, c: str = 'x'):\n        pass\n"
    )
    assert client.get("/api/v1/parameters").json() == [
        {"name": "a", "type": "list[float]"},
        {"name": "b", "type": "int"},
        {"name": "c", "type": "str", "default_value": "x"},
    ]


def test_wrapper_env_vars_are_reserved_by_the_manifest_schema() -> None:
    schema = json.loads((Path(__file__).parents[2] / "fatman.schema.json").read_text())
    from jsonschema import Draft202012Validator

    runtime_env = {"$defs": schema["$defs"], **schema["properties"]["runtime_env"]}
    validator = Draft202012Validator(runtime_env)
    for name in (*WRAPPER_ENV_VARS, "RACETRACK_ANYTHING"):
        assert list(validator.iter_errors({name: "x"})), f"{name} should be reserved"
    assert not list(validator.iter_errors({"MY_SETTING": "x"}))


def test_app_answers_before_loading(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    write_job(tmp_path, "class A:\n    def perform(self): return 1\n")
    app = JobApp(make_settings(tmp_path))
    client = TestClient(app)  # no lifespan: nothing loads
    assert client.get("/live").json() == {"live": True, "ready": False, "deployment_timestamp": None}
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["type"] == "not_ready"
    assert client.post("/api/v1/perform", json={}).status_code == 503
    assert client.get("/docs").status_code == 503
    app.load()
    assert client.get("/ready").status_code == 200


def make_settings(root: Path):
    from racetrack.wrapper.settings import JobSettings

    return JobSettings(entrypoint_path="entrypoint.py", root=root, name="job")
