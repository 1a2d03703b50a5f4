"""Secret env files: Docker Compose .env syntax, paths relative to the manifest, helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from manifest_helpers import MINIMAL, with_fields

from racetrack.manifest import (
    ManifestError,
    MissingEnvFile,
    load_manifest,
    read_env_file,
    secret_build_env,
    secret_runtime_env,
)

COMPOSE_SYNTAX = """\
# Git username or email
GITLAB_USERNAME = 'username@example.com'
GITLAB_TOKEN = "Pa55w0rD"

export EXPORTED=yes
PLAIN=a b c # trailing comment
HASH="pa ss # word"
DOLLAR='x$HOME${USER}'
MULTILINE="line1
line2"
EMPTY=
"""


def test_read_env_file_accepts_docker_compose_syntax(job: Path) -> None:
    (job / ".env").write_text(COMPOSE_SYNTAX)
    assert read_env_file(job / ".env") == {
        "GITLAB_USERNAME": "username@example.com",
        "GITLAB_TOKEN": "Pa55w0rD",
        "EXPORTED": "yes",
        "PLAIN": "a b c",
        "HASH": "pa ss # word",
        "DOLLAR": "x$HOME${USER}",
        "MULTILINE": "line1\nline2",
        "EMPTY": "",
    }


def test_example_secret_files(example: Path) -> None:
    manifest = load_manifest(example)
    assert secret_build_env(manifest) == {
        "GITLAB_USERNAME": "username@example.com", "GITLAB_TOKEN": "Pa55w0rD"
    }
    assert secret_runtime_env(manifest) == {"API_KEY": "s3cr3t", "MODEL_PASSWORD": "pa ss # word"}


def test_no_secret_files_means_no_secrets(write) -> None:
    write(MINIMAL)
    manifest = load_manifest(Path("."))
    assert secret_build_env(manifest) == {} and secret_runtime_env(manifest) == {}


def test_paths_are_relative_to_the_manifest(write, job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(with_fields("secret_runtime_env_file: secrets/run.env\n"), "jobs/adder/fatman.yaml")
    write("TOKEN=abc\n", "jobs/adder/secrets/run.env")
    monkeypatch.chdir(job / "jobs")
    assert secret_runtime_env(load_manifest(Path("adder"))) == {"TOKEN": "abc"}


@pytest.mark.parametrize(
    ("template", "hint"),
    [(False, "create it with KEY=VALUE lines, or remove the field"),
     (True, "copy .env.runtime.dist to .env.runtime and fill in the values")],
)
def test_missing_file_names_the_path_and_the_template(write, template: bool, hint: str) -> None:
    write(with_fields("secret_runtime_env_file: .env.runtime\n"))
    if template:
        write("TOKEN=fill me\n", ".env.runtime.dist")
    with pytest.raises(MissingEnvFile) as caught:
        secret_runtime_env(load_manifest(Path(".")))
    assert str(caught.value) == f"fatman.yaml: secret_runtime_env_file: '.env.runtime' does not exist; {hint}"


def test_missing_build_secrets_file(write) -> None:
    write(with_fields("secret_build_env_file: ~/nowhere/.env.build\n"))
    with pytest.raises(ManifestError) as caught:
        secret_build_env(load_manifest(Path(".")))
    expected = Path.home() / "nowhere" / ".env.build"
    assert f"secret_build_env_file: '{expected}' does not exist" in str(caught.value)


def test_reserved_and_invalid_names_in_the_runtime_secrets(write) -> None:
    write(with_fields("secret_runtime_env_file: .env.runtime\n"))
    write("OK=1\nPUB_URL=http://x\n1BAD=y\n", ".env.runtime")
    with pytest.raises(ManifestError) as caught:
        secret_runtime_env(load_manifest(Path(".")))
    assert [str(problem) for problem in caught.value.problems] == [
        ".env.runtime:2:1: PUB_URL: 'PUB_URL' is reserved: racetrack sets or reads this variable itself; "
        "choose another name",
        ".env.runtime:3:1: 1BAD: '1BAD' is not an environment variable name: use letters, digits and '_', "
        "not starting with a digit",
    ]


def test_reserved_names_are_fine_in_build_secrets(write) -> None:
    write(with_fields("secret_build_env_file: .env.build\n"))
    write("PUB_URL=x\n", ".env.build")
    assert secret_build_env(load_manifest(Path("."))) == {"PUB_URL": "x"}


def test_unparseable_lines_are_reported_without_their_secret_content(write) -> None:
    write(with_fields("secret_build_env_file: .env.build\n"))
    write("OK=1\nTOKEN=\"s3cr3t\nNOVALUE\n", ".env.build")
    with pytest.raises(ManifestError) as caught:
        secret_build_env(load_manifest(Path(".")))
    assert str(caught.value) == (
        ".env.build:2:1: not a KEY=VALUE line; quote values with spaces, quotes or #\n"
        ".env.build:3:1: NOVALUE: has no value: write KEY=VALUE"
    )
    assert "s3cr3t" not in str(caught.value)
