"""Valid manifests load into the typed Manifest with defaults applied."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from manifest_helpers import MINIMAL, OLD_MINIMAL, with_fields

from racetrack.manifest import (
    GitSource,
    Manifest,
    PythonSettings,
    Resources,
    find_manifest,
    load_manifest,
    manifest_digest,
)


def test_example_sets_every_field_as_written(example: Path) -> None:
    manifest = load_manifest(example.parent)

    assert manifest.path == example.resolve()
    assert manifest.root == example.parent.resolve()
    assert (manifest.name, manifest.owner_email) == ("supersmart", "nobody@example.com")
    assert manifest.jobtype == manifest.lang == "python3:2.4.0"
    assert manifest.version == "1.2.0-rc.1+build.5"
    assert manifest.git == GitSource(
        remote="https://github.com/racetrack/supersmart-model", branch="master", directory="jobs/supersmart"
    )
    assert manifest.python == PythonSettings(
        entrypoint_path="fatman_entrypoint.py",
        entrypoint_class="FatmanEntrypoint",
        requirements_path="supersmart/requirements.txt",
        max_concurrency=4,
        max_queue=16,
        request_timeout=120,
        endpoint_timeouts={"/explain": 600},
        workers=2,
        max_body_bytes=1048576,
        shutdown_grace=12.5,
        home_page="/api/v1/webview/",
    )
    assert manifest.jobtype_extra is manifest.python
    assert manifest.python.timeout_for("/explain") == 600
    assert manifest.python.timeout_for("/perform") == 120
    assert manifest.system_dependencies == ("libgomp1", "curl=7.88.1-10+deb12u5")
    assert manifest.build_env == {"DEBIAN_FRONTEND": "noninteractive"}
    assert manifest.runtime_env == {"DJANGO_DEBUG": "true", "TORCH_MODEL_ZOO": "zoo", "LOG_LEVEL": "debug"}
    assert manifest.secret_build_env_file == ".env.build"
    assert manifest.secret_runtime_env_file == ".env.runtime"
    assert manifest.public_endpoints == ("/api/v1/perform", "/api/v1/webview")
    assert manifest.labels == {"team": "data-science", "model": "gradient boosting", "tier": 2,
                               "tags": ["nlp", "beta"]}
    assert manifest.label_strings() == {"team": "data-science", "model": "gradient boosting", "tier": "2",
                                        "tags": '["nlp","beta"]'}
    assert manifest.replicas == 3
    assert manifest.resources == Resources(cpu_min="500m", cpu_max="2", memory_min="256Mi", memory_max="1Gi")
    assert (manifest.image_type, manifest.infrastructure_target) == ("docker", "docker")
    assert manifest.notices == (
        "warning: public endpoint /api/v1/perform answers without authentication once an admin approves it, "
        "and so does every path below it, like /api/v1/perform/secret; use this with care",
        "warning: public endpoint /api/v1/webview answers without authentication once an admin approves it, "
        "and so does every path below it, like /api/v1/webview/secret; use this with care",
    )


def test_minimal_manifest_gets_the_schema_defaults(write) -> None:
    write(MINIMAL)

    manifest = load_manifest(Path("."))

    assert manifest.version == "0.0.1"
    assert manifest.replicas == 1
    assert manifest.git == GitSource("https://github.com/racetrack/adder", None, ".")
    assert manifest.python == PythonSettings("fatman_entrypoint.py")
    assert (manifest.python.max_concurrency, manifest.python.max_queue, manifest.python.workers) == (8, 64, 0)
    assert (manifest.python.request_timeout, manifest.python.shutdown_grace) == (300, 30)
    assert manifest.python.max_body_bytes == 16777216
    assert manifest.python.endpoint_timeouts == {}
    assert manifest.resources == Resources()
    assert (manifest.system_dependencies, manifest.public_endpoints) == ((), ())
    assert (manifest.build_env, manifest.runtime_env, manifest.labels) == ({}, {}, {})
    assert manifest.secret_build_env_file is None and manifest.secret_runtime_env_file is None
    assert (manifest.image_type, manifest.infrastructure_target) == ("docker", None)
    assert manifest.python.home_page is None
    assert manifest.notices == ()
    assert list(manifest.data) == [
        "name", "owner_email", "jobtype", "version", "git", "jobtype_extra", "system_dependencies",
        "build_env", "runtime_env", "public_endpoints", "labels", "replicas", "resources", "image_type",
    ]
    assert manifest.data["git"] == {"remote": "https://github.com/racetrack/adder", "directory": "."}


@pytest.mark.parametrize(
    "jobtype", ["python3", "python3:latest", "python3:3.11", "python3:2.4.0", "python3:2.*.*", "python3:*"]
)
@pytest.mark.parametrize("base", [MINIMAL, OLD_MINIMAL], ids=["jobtype", "lang"])
def test_jobtype_forms_under_both_names(write, jobtype: str, base: str) -> None:
    write(base.replace("python3:latest", jobtype))
    manifest = load_manifest(Path("."))
    assert manifest.jobtype == manifest.lang == manifest.data["jobtype"] == jobtype


@pytest.mark.parametrize(
    "labels", ["{tier: 2}", "{canary: true}", "{owners: [a, b]}", "{spec: {gpu: 1}}", "{x: null}"]
)
def test_labels_take_any_json_value(write, labels: str) -> None:
    write(with_fields(f"labels: {labels}\n"))
    manifest = load_manifest(Path("."))
    assert manifest.labels == yaml.safe_load(labels)
    strings = manifest.label_strings()
    assert all(isinstance(value, str) for value in strings.values())
    assert {key: json.loads(value) for key, value in strings.items()} == manifest.labels


@pytest.mark.parametrize("version", ["0.0.1", "1.2.3", "10.20.30", "1.0.0-alpha.1", "1.0.0+20130313144700"])
def test_semver_versions(write, version: str) -> None:
    write(with_fields(f"version: '{version}'\n"))
    assert load_manifest(Path(".")).version == version


@pytest.mark.parametrize(
    "remote",
    ["https://github.com/racetrack/adder", "https://example.com/git/x.git", "file:///srv/git/adder", ".",
     "../adder-repo", "/srv/git/adder"],
)
def test_git_remote_accepts_https_and_local_repositories(write, remote: str) -> None:
    write(MINIMAL.replace("https://github.com/racetrack/adder", remote))
    assert load_manifest(Path(".")).git.remote == remote


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ("{cpu_min: 0.5, cpu_max: '1'}", Resources(cpu_min="0.5", cpu_max="1")),
        ("{cpu_min: 100m, cpu_max: 1500m}", Resources(cpu_min="100m", cpu_max="1500m")),
        ("{memory_min: 128974848, memory_max: 129e6}", Resources(memory_min="128974848", memory_max="129e6")),
        ("{memory_min: 500M, memory_max: 2Gi}", Resources(memory_min="500M", memory_max="2Gi")),
    ],
)
def test_resources_as_kubernetes_quantities(write, resources: str, expected: Resources) -> None:
    write(with_fields(f"resources: {resources}\n"))
    assert load_manifest(Path(".")).resources == expected


def test_branch_may_be_null_and_runtime_env_may_set_log_knobs(write) -> None:
    write(with_fields("runtime_env: {LOG_LEVEL: debug, LOG_STRUCTURED: 'true'}\n").replace(
        "  remote:", "  branch:\n  remote:"
    ))
    manifest = load_manifest(Path("."))
    assert manifest.git.branch is None
    assert manifest.runtime_env == {"LOG_LEVEL": "debug", "LOG_STRUCTURED": "true"}


def test_yaml_anchors_and_merge_keys_work(write) -> None:
    write(with_fields("""\
        build_env: &common {HTTP_PROXY: 'http://proxy:3128'}
        runtime_env:
          <<: *common
          MODE: fast
        labels:
          <<: [{team: a, model: m}, {team: b}]
          team: c
    """))
    manifest = load_manifest(Path("."))
    assert manifest.runtime_env == {"HTTP_PROXY": "http://proxy:3128", "MODE": "fast"}
    assert manifest.labels == {"team": "c", "model": "m"}


def test_find_manifest(job: Path, write) -> None:
    write(MINIMAL, "other.yaml")
    assert find_manifest(job / "other.yaml") == job / "other.yaml"
    write(MINIMAL)
    assert find_manifest(job) == job / "fatman.yaml"


@pytest.mark.parametrize("name", ["job.yaml", "fatman.yaml"])
def test_both_file_names_are_first_class(job: Path, write, caplog: pytest.LogCaptureFixture, name) -> None:
    write(MINIMAL, name)
    with caplog.at_level(logging.WARNING):
        manifest = load_manifest(job)
    assert manifest.path.name == name
    assert caplog.text == "" and manifest.notices == ()


def test_job_yaml_wins_over_fatman_yaml_and_says_so(job: Path, write, caplog) -> None:
    write(MINIMAL, "job.yaml")
    write(MINIMAL.replace("adder", "other"))
    with caplog.at_level(logging.WARNING):
        manifest = load_manifest(job)
    assert manifest.name == "adder"
    notice = ("notice: job.yaml and fatman.yaml are both here; using job.yaml (as Racetrack does), "
              "delete or rename fatman.yaml")
    assert manifest.notices == (notice,)
    assert [record.getMessage() for record in caplog.records] == [notice]
    assert load_manifest(job / "fatman.yaml").name == "other"  # a file named explicitly is used as it is


def test_job_yaml_extending_fatman_yaml_is_no_conflict(job: Path, write) -> None:
    write(MINIMAL)
    write("extends: fatman.yaml\nname: adder-dev\n", "job.yaml")
    manifest = load_manifest(job, notify=False)
    assert manifest.name == "adder-dev" and manifest.notices == ()


def test_old_names_load_like_the_new_ones_with_one_notice(write, caplog: pytest.LogCaptureFixture) -> None:
    write(OLD_MINIMAL + "  max_concurrency_queue: 3\n")
    with caplog.at_level(logging.WARNING):
        old = load_manifest(Path("."))
    write(MINIMAL + "  max_queue: 3\n")
    new = load_manifest(Path("."), notify=False)
    assert old.data == new.data and old.python == new.python and old.python.max_queue == 3
    assert "lang" not in old.data and "python" not in old.data
    notice = ("notice: old field names, still accepted: lang (fatman.yaml:3:1) is now jobtype, "
              "python (fatman.yaml:6:1) is now jobtype_extra; rename them when convenient")
    assert old.notices == (notice,) and new.notices == ()
    assert [record.getMessage() for record in caplog.records] == [notice]


def test_racetrack_build_settings_are_accepted_and_said_to_be_unused(write) -> None:
    write(MINIMAL + "  python_version: 3.9\n  debian_version: slim-bullseye\n  check_requirements: false\n")
    manifest = load_manifest(Path("."), notify=False)
    assert manifest.data["jobtype_extra"]["python_version"] == 3.9
    assert manifest.notices == (
        "notice: Racetrack settings accepted but not used here: jobtype_extra.python_version "
        "(fatman.yaml:8:3): the base image sets the Python version; jobtype_extra.debian_version "
        "(fatman.yaml:9:3): the base image sets the Debian version; jobtype_extra.check_requirements "
        "(fatman.yaml:10:3): racetrack does not run pip check",
    )


def test_digest_follows_the_effective_manifest(write) -> None:
    write(MINIMAL)
    first = manifest_digest(load_manifest(Path(".")))
    assert len(first) == 64 and int(first, 16) >= 0
    write("# a comment changes nothing\n" + MINIMAL.replace("name: adder", "name:   adder"))
    assert manifest_digest(load_manifest(Path("."))) == first
    assert manifest_digest(load_manifest(Path("."), ["replicas=2"])) != first


def test_manifest_fields_match_the_schema() -> None:
    from dataclasses import fields

    from racetrack.manifest.schema import manifest_schema, resolve

    properties = manifest_schema()["properties"]
    current = {name for name, sub in properties.items() if "aliasOf" not in sub}
    current -= {"extends", "jobtype_extra"}
    assert {f.name for f in fields(Manifest)} - {"path", "data", "notices", "python"} == current
    extra = resolve(properties["jobtype_extra"])["properties"]
    used = {name for name, sub in extra.items() if "aliasOf" not in sub and "unused" not in sub}
    assert {f.name for f in fields(PythonSettings)} == used
    assert resolve(properties["python"]) == {**resolve(properties["jobtype_extra"]), **{
        key: properties["python"][key] for key in ("description", "deprecated", "aliasOf")}}
    assert {f.name for f in fields(GitSource)} == set(properties["git"]["properties"])
    assert {f.name for f in fields(Resources)} == set(properties["resources"]["properties"])
