"""Deploy payload checks, version resolution, public endpoint matching, error statuses."""

from __future__ import annotations

import pytest

from racetrack.server.callauth import is_public, normalize
from racetrack.server.errors import (
    AuthError,
    BadRequest,
    Conflict,
    EntityNotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    status_of,
)
from racetrack.server.jobs import resolve
from racetrack.server.payload import parse_deploy


def test_a_racetrack_client_payload_is_accepted() -> None:
    request = parse_deploy(
        {
            "manifest": {"name": "x"},
            "git_credentials": {"username": "u", "password": "p"},
            "secret_vars": {"build_env": {"A": "1"}, "runtime_env": {}},
            "build_context": "abc",
            "force": True,
            "build_flags": ["--no-cache"],
        }
    )
    assert (request.git_username, request.build_env, request.force) == ("u", {"A": "1"}, True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"manifest": {}, "surname": 1}, "unknown field(s) in the deploy request: surname"),
        ({"manifest": "x"}, "`manifest` must be a JSON object"),
        ({"manifest": {}, "force": "yes"}, "`force` must be true or false"),
        ({"manifest": {}, "secret_vars": {"build_env": {"A": 1}}}, "secret_vars.build_env"),
        ({"manifest": {}, "git_credentials": {"username": "u"}}, "git_credentials"),
        ({"manifest": {}, "build_context": 5}, "base64 string"),
        ({"manifest": {}, "build_flags": ["--squash"]}, "unsupported build flag"),
    ],
)
def test_malformed_payloads_are_bad_requests_naming_the_field(body: object, message: str) -> None:
    with pytest.raises(BadRequest) as error:
        parse_deploy(body)
    assert message in str(error.value)


def test_versions_resolve_exactly_latest_and_by_wildcard() -> None:
    versions = ["0.9.0", "1.0.0", "1.2.3", "1.10.0", "2.0.0-rc.1"]
    assert resolve("j", versions, "1.2.3") == "1.2.3"
    assert resolve("j", versions, "latest") == "1.10.0"
    assert resolve("j", versions, "1.x") == "1.10.0"
    assert resolve("j", versions, "1.2.x") == "1.2.3"
    assert resolve("j", versions, "0.x") == "0.9.0"
    with pytest.raises(EntityNotFound, match="has no version 3.x"):
        resolve("j", versions, "3.x")
    with pytest.raises(EntityNotFound, match="job j was not found"):
        resolve("j", [], "latest")


def test_public_endpoints_open_the_path_and_its_subpaths_only() -> None:
    approved = ["/api/v1/perform", "/api/v1/webview/"]
    assert normalize("api/v1/perform/") == "/api/v1/perform"
    assert is_public("/api/v1/perform", approved)
    assert is_public("/api/v1/webview/static/x.js", approved)
    assert not is_public("/api/v1/performance", approved)
    assert not is_public("/api/v1/other", approved)


def test_every_error_has_one_status() -> None:
    expected = {
        BadRequest: 400,
        PayloadTooLarge: 413,
        AuthError: 401,
        PermissionDenied: 403,
        EntityNotFound: 404,
        Conflict: 409,
        ServerError: 500,
    }
    assert {kind: status_of(kind("x")) for kind in expected} == expected


def test_client_secret_vars_reach_the_job_exactly_through_private_files(tmp_path) -> None:  # noqa: ANN001
    from racetrack.manifest import load_manifest, secret_build_env, secret_runtime_env
    from racetrack.server.deployments import _with_secret_files

    job = tmp_path / "job"
    job.mkdir()
    (job / "entrypoint.py").write_text("class J:\n    def perform(self):\n        return 1\n")
    (job / "fatman.yaml").write_text(
        "name: j\nowner_email: a@b.c\nlang: python3:latest\ngit:\n  remote: https://example.invalid/r.git\n"
        "python:\n  entrypoint_path: entrypoint.py\n"
    )
    manifest = load_manifest(job / "fatman.yaml", notify=False)
    values = {"API_TOKEN": 'it\'s a \\ "tricky" $value #1'}
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    with_files = _with_secret_files(manifest, secret_dir, {"build_env": {"B": "x y"}, "runtime_env": values})
    assert secret_runtime_env(with_files) == values
    assert secret_build_env(with_files) == {"B": "x y"}
    assert all(path.stat().st_mode & 0o077 == 0 for path in secret_dir.iterdir())
    assert with_files.data == manifest.data  # the image's manifest (and its tag) do not change


def test_git_credentials_are_looked_up_as_racetracks_client_does() -> None:
    from racetrack.server.client import git_credentials

    stored = {
        "git_credentials": {
            "https://github.com": {"username": "host", "password": "p1"},
            "https://github.com/team/repo.git": {"username": "exact", "password": "p2"},
        }
    }
    assert git_credentials("https://github.com/team/repo.git", stored)["username"] == "exact"
    assert git_credentials("https://github.com/team/other.git", stored)["username"] == "host"
    assert git_credentials("https://gitlab.com/x.git", stored) is None


def test_followed_logs_print_only_lines_not_printed_before() -> None:
    from racetrack.server.remote_cli import _overlap

    assert _overlap(["a", "b", "c"], ["b", "c", "d"]) == 2
    assert _overlap(["a", "b"], ["a", "b"]) == 2  # nothing new
    assert _overlap(["x", "y"], ["a", "b"]) == 0  # all new (or more than the window was written)
    assert _overlap([], ["a"]) == 0
    assert _overlap(["a", "a"], ["a", "a", "a"]) == 2


def test_list_columns_follow_racetracks_order_and_refuse_unknown_names() -> None:
    import typer

    from racetrack.server.remote_cli import list_columns

    assert list_columns(["pub_url", "job_type"]) == ["job_type", "pub_url"]
    assert list_columns(["all"])[-1] == "pub_url" and len(list_columns(["all"])) == 6
    with pytest.raises(typer.Exit):
        list_columns(["colour"])
