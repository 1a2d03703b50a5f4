"""Bad manifests raise ManifestError listing every problem with file, line, column, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from manifest_helpers import MINIMAL, OLD_MINIMAL, problems, with_fields

from racetrack.manifest import Problem, load_manifest

NOT_AN_EMAIL = "is not an email address; write the owner's address, e.g. data-team@example.com"
NOT_A_NAME = (
    "is not a valid job name: use lowercase letters, digits and '-' (starting and ending with a letter "
    "or digit), at most 63 characters"
)
NOT_SEMVER = (
    "is not a SemVer version: use MAJOR.MINOR.PATCH such as '1.0.0' (optionally with -prerelease or +build)"
)
NOT_CPU = "is not a CPU quantity: use cores such as '1' or '0.5', or millicores such as '500m'"
NOT_MEMORY = (
    "is not a memory quantity: use bytes with an optional suffix such as '512Mi', '1Gi', '500M' or '129e6'"
)
SSH_REMOTE = (
    "is an SSH remote: racetrack clones without your SSH keys, so use the repository's https:// URL "
    "(e.g. https://github.com/org/repo) or a local path"
)
RESERVED = "is reserved: racetrack sets or reads this variable itself; choose another name"


def test_problem_renders_file_line_column_field_and_message() -> None:
    problem = Problem("fatman.yaml", "'moron' is not an email address", "owner_email", 2, 14)
    assert str(problem) == "fatman.yaml:2:14: owner_email: 'moron' is not an email address"
    assert str(Problem("fatman.yaml", "the manifest is empty")) == "fatman.yaml: the manifest is empty"


def test_bad_email_points_at_the_value(write) -> None:
    write(MINIMAL.replace("owner_email: nobody@example.com", "owner_email: moron"))
    assert problems() == [f"fatman.yaml:2:14: owner_email: 'moron' {NOT_AN_EMAIL}"]


@pytest.mark.parametrize("email", ["moron", "a@b", "two@@example.com", "sp ace@example.com"])
def test_format_email_is_really_checked(write, email: str) -> None:
    write(MINIMAL.replace("nobody@example.com", f"'{email}'"))
    assert problems() == [f"fatman.yaml:2:14: owner_email: {email!r} {NOT_AN_EMAIL}"]


def test_every_problem_is_listed_in_file_order(write) -> None:
    write("""\
        name: Bad_Name
        owner_email: moron
        lang: java
        version: '1.0'
        git:
          remote: https://github.com/racetrack/adder
        python:
          entrypoint_path: main.js
        replicas: 0
    """)
    assert problems() == [
        f"fatman.yaml:1:7: name: 'Bad_Name' {NOT_A_NAME}",
        f"fatman.yaml:2:14: owner_email: 'moron' {NOT_AN_EMAIL}",
        "fatman.yaml:3:7: lang: 'java' is not a supported job type: use python3, python3:latest or "
        "python3:<version> (e.g. python3:2.4.0)",
        f"fatman.yaml:4:10: version: '1.0' {NOT_SEMVER}",
        "fatman.yaml:8:20: python.entrypoint_path: 'main.js' is not a .py file inside the job directory: "
        "use a relative path ending in .py without '..', e.g. fatman_entrypoint.py",
        "fatman.yaml:9:11: replicas: 0 is less than the minimum of 1; use 1 or more",
    ]


@pytest.mark.parametrize("name", ["-adder", "adder-", "ad.der", "ad der", "Adder", "a" * 64])
def test_name_must_be_a_dns_label(write, name: str) -> None:
    write(MINIMAL.replace("name: adder", f"name: '{name}'"))
    [problem] = problems()
    assert problem.startswith(f"fatman.yaml:1:7: name: {name[:10]!r}"[:-1])
    assert problem.endswith(NOT_A_NAME)


def test_63_character_name_is_fine(write) -> None:
    write(MINIMAL.replace("name: adder", f"name: {'a' * 63}"))
    assert load_manifest(Path(".")).name == "a" * 63


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("name: no", "1:7: name: no is read by YAML as a boolean, expected a string; quote it: 'no'"),
        ("name: 1234", "1:7: name: 1234 is read by YAML as an integer, expected a string; quote it: '1234'"),
        ("name: 2024-01-01", "1:7: name: 2024-01-01 is read by YAML as a date, expected a string; quote it: "
                             "'2024-01-01'"),
        ("name:", "1:6: name: has no value, expected a string"),
        ("name: [a, b]", "1:7: name: ['a', 'b'] is a list, expected a string"),
    ],
)
def test_wrong_types_explain_yaml_surprises(write, line: str, message: str) -> None:
    write(MINIMAL.replace("name: adder", line))
    assert problems() == [f"fatman.yaml:{message}"]


def test_version_1_0_is_a_float(write) -> None:
    write(with_fields("version: 1.0\n"))
    assert problems() == [
        "fatman.yaml:8:10: version: 1.0 is read by YAML as a float, expected a string; quote it: '1.0'"
    ]


@pytest.mark.parametrize("version", ["1.0", "1", "v1.0.0", "01.2.3", "1.2.3-", "1.2.3.4"])
def test_bad_semver(write, version: str) -> None:
    write(with_fields(f"version: '{version}'\n"))
    assert problems() == [f"fatman.yaml:8:10: version: {version!r} {NOT_SEMVER}"]


def test_quoted_number_where_a_number_is_expected(write) -> None:
    write(with_fields("replicas: '3'\n"))
    assert problems() == [
        "fatman.yaml:8:11: replicas: '3' is a string, expected an integer; remove the quotes"
    ]


def test_racetrack_spelling_problems_name_the_fields_as_written(write) -> None:
    write("""\
        name: adder
        owner_email: nobody@example.com
        jobtype: golang:latest
        git:
          remote: https://github.com/racetrack/adder
        jobtype_extra:
          entrypoint_path: main.go
          max_concurrency_queue: -1
          home_page: webview
          python_version: [3]
        image_type: packer
    """)
    assert problems() == [
        "fatman.yaml:3:10: jobtype: 'golang:latest' is not a supported job type: use python3, python3:latest "
        "or python3:<version> (e.g. python3:2.4.0)",
        "fatman.yaml:7:20: jobtype_extra.entrypoint_path: 'main.go' is not a .py file inside the job "
        "directory: use a relative path ending in .py without '..', e.g. fatman_entrypoint.py",
        "fatman.yaml:8:26: jobtype_extra.max_concurrency_queue: -1 is less than the minimum of 0; "
        "use 0 or more",
        "fatman.yaml:9:14: jobtype_extra.home_page: 'webview' is not a path of the job: start it with '/' "
        "and use no spaces, e.g. /api/v1/webview/",
        "fatman.yaml:10:19: jobtype_extra.python_version: [3] is a list, expected a string or a number",
        "fatman.yaml:11:13: image_type: 'packer' is not a supported image type: only docker is",
    ]


def test_a_field_under_both_its_names_is_a_problem(write) -> None:
    write(with_fields("lang: python3\npython:\n  workers: 1\n  max_concurrency_queue: 3\n  max_queue: 3\n"))
    assert problems() == [
        "fatman.yaml:8:1: lang: another name of jobtype, which is set too; keep only one of them",
        "fatman.yaml:9:1: python: another name of jobtype_extra, which is set too; keep only one of them",
    ]
    write(OLD_MINIMAL + "  max_concurrency_queue: 3\n  max_queue: 4\n")
    assert problems() == [
        "fatman.yaml:8:3: python.max_concurrency_queue: another name of jobtype_extra.max_queue, "
        "which is set too; keep only one of them",
    ]


def test_other_job_types_sections_are_explained(write) -> None:
    write(with_fields("golang: {gomod: go.mod}\nwrapper_properties: {max_concurrency: 2}\n"))
    assert problems() == [
        "fatman.yaml:8:1: golang: unknown field 'golang': it configures Racetrack's Go job type; racetrack "
        "runs python3 jobs only (jobtype: python3, settings under jobtype_extra)",
        "fatman.yaml:9:1: wrapper_properties: unknown field 'wrapper_properties': it is an old Racetrack "
        "name of the job type settings; move its entries to jobtype_extra",
    ]


def test_missing_required_fields_point_at_the_enclosing_mapping(write) -> None:
    write("""\
        # the job
        name: adder
        git:
          branch: main
        python: {}
    """)
    assert problems() == [
        "fatman.yaml:2:1: jobtype: required field is missing (The job type, python3)",
        "fatman.yaml:2:1: owner_email: required field is missing "
        "(Email address of the job's owner, to reach out about it)",
        "fatman.yaml:4:3: git.remote: required field is missing (Repository to build from: an https:// "
        "URL or a local repository (a file:// URL or a path, relative to the manifest))",
        "fatman.yaml:5:9: python.entrypoint_path: required field is missing "
        "(Path of the .py file with the entrypoint class, relative to the job directory)",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  entrypint_path: a.py\n",
         "8:3: jobtype_extra.entrypint_path: unknown field 'entrypint_path'; "
         "did you mean 'entrypoint_path'?"),
        ("owner_emial: x@example.com\n",
         "8:1: owner_emial: unknown field 'owner_emial'; did you mean 'owner_email'?"),
        ("branch: main\n", "8:1: branch: unknown field 'branch'; did you mean git.branch (under git:)?"),
        ("resources: {gpu: 1}\n",
         "8:13: resources.gpu: unknown field 'gpu'; "
         "known fields here: cpu_min, cpu_max, memory_min, memory_max"),
    ],
)
def test_unknown_fields_suggest_the_right_one(write, extra: str, message: str) -> None:
    write(MINIMAL + extra)
    assert problems() == [f"fatman.yaml:{message}"]


@pytest.mark.parametrize("remote", ["git@github.com:racetrack/adder.git", "ssh://git@github.com/racetrack/adder"])
def test_ssh_remotes_are_refused_with_the_reason(write, remote: str) -> None:
    write(MINIMAL.replace("https://github.com/racetrack/adder", remote))
    assert problems() == [f"fatman.yaml:5:11: git.remote: {remote!r} {SSH_REMOTE}"]


@pytest.mark.parametrize("remote", ["http://github.com/racetrack/adder", "git://github.com/racetrack/adder"])
def test_other_url_schemes_are_refused(write, remote: str) -> None:
    write(MINIMAL.replace("https://github.com/racetrack/adder", remote))
    assert problems() == [
        f"fatman.yaml:5:11: git.remote: {remote!r} is not a supported git remote: "
        "use an https:// URL, a file:// URL or a local path"
    ]


@pytest.mark.parametrize(
    "name", ["PUB_URL", "FATMAN_NAME", "FATMAN_VERSION", "JOB_NAME", "JOB_VERSION", "GIT_VERSION",
             "DEPLOYMENT_TIMESTAMP", "AUTH_TOKEN", "JOB_DEPLOYMENT_TIMESTAMP",
             "DEPLOYED_BY_RACETRACK_VERSION", "JOB_TYPE_VERSION", "RACETRACK_ANYTHING"],
)
def test_reserved_runtime_env_names(write, name: str) -> None:
    write(with_fields(f"runtime_env:\n  OK: fine\n  {name}: x\n"))
    assert problems() == [f"fatman.yaml:10:3: runtime_env.{name}: {name!r} {RESERVED}"]


def test_reserved_names_are_fine_at_build_time(write) -> None:
    write(with_fields("build_env: {PUB_URL: x}\n"))
    assert load_manifest(Path(".")).build_env == {"PUB_URL": "x"}


def test_env_names_and_values(write) -> None:
    write(with_fields("build_env:\n  1BAD: x\n  PORT: 8080\n"))
    assert problems() == [
        "fatman.yaml:9:3: build_env.1BAD: '1BAD' is not an environment variable name: "
        "use letters, digits and '_', not starting with a digit",
        "fatman.yaml:10:9: build_env.PORT: 8080 is read by YAML as an integer, expected a string; "
        "quote it: '8080'",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpu_min", "lots", f"'lots' {NOT_CPU}"),
        ("cpu_max", "0", f"0 {NOT_CPU}"),
        ("memory_min", "1GB", f"'1GB' {NOT_MEMORY}"),
        ("memory_max", "1.5",
         "1.5 is read by YAML as a float, expected a string or an integer; quote it: '1.5'"),
    ],
)
def test_bad_quantities(write, field: str, value: str, message: str) -> None:
    write(with_fields(f"resources:\n  {field}: {value}\n"))
    assert problems() == [f"fatman.yaml:9:{len(field) + 5}: resources.{field}: {message}"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"system_dependencies": "libgomp1"},
         "system_dependencies: 'libgomp1' is a string, expected a list; write a list, e.g. [libgomp1] or one "
         "'- libgomp1' line per item below the key"),
        ({"system_dependencies": ["libgomp1; rm -rf /"]},
         "system_dependencies[0]: 'libgomp1; rm -rf /' is not a Debian package name"),
        ({"public_endpoints": ["api/v1/perform"]},
         "public_endpoints[0]: 'api/v1/perform' is not an endpoint path: start it with '/'"),
        ({"public_endpoints": ["/pub/fatman/adder/1.0.0/api/v1/perform"]},
         "public_endpoints[0]: '/pub/fatman/adder/1.0.0/api/v1/perform' starts with the gateway's /pub/... "
         "prefix, so it never matches: write the path inside the job, e.g. /api/v1/perform"),
        ({"public_endpoints": ["/pub"]}, "public_endpoints[0]: '/pub' starts with the gateway's /pub/..."),
        ({"public_endpoints": ["/a", "/a"]},
         "public_endpoints[1]: '/a' is already listed at public_endpoints[0]; remove this one"),
        ({"image_type": "packer"}, "image_type: 'packer' is not a supported image type: only docker is"),
        ({"infrastructure_target": "K8s!"},
         "infrastructure_target: 'K8s!' is not an infrastructure target name"),
        ({"jobtype_extra": {"home_page": "webview"}},
         "jobtype_extra.home_page: 'webview' is not a path of the job: start it with '/'"),
        ({"secret_build_env_file": ""}, "secret_build_env_file: '' is not a file path"),
        ({"jobtype_extra": {"entrypoint_path": "../outside.py"}},
         "jobtype_extra.entrypoint_path: '../outside.py' is not a .py file inside the job directory"),
        ({"jobtype_extra": {"entrypoint_class": "1x"}},
         "jobtype_extra.entrypoint_class: '1x' is not a Python class name"),
        ({"jobtype_extra": {"requirements_path": "/etc/passwd"}},
         "jobtype_extra.requirements_path: '/etc/passwd' is not a file inside the job directory"),
        ({"git": {"directory": "../x"}}, "git.directory: '../x' is not a directory inside the repository"),
        ({"jobtype_extra": {"max_concurrency": 0}},
         "jobtype_extra.max_concurrency: 0 is less than the minimum of 1; use 1 or more"),
        ({"jobtype_extra": {"max_queue": -1}},
         "jobtype_extra.max_queue: -1 is less than the minimum of 0; use 0 or more"),
        ({"jobtype_extra": {"request_timeout": 0}},
         "jobtype_extra.request_timeout: 0 is not more than 0; use a number above 0"),
        ({"jobtype_extra": {"workers": 1.5}}, "jobtype_extra.workers: 1.5 is a float, expected an integer"),
        ({"jobtype_extra": {"max_body_bytes": 0}},
         "jobtype_extra.max_body_bytes: 0 is less than the minimum of 1; use 1 or more"),
        ({"jobtype_extra": {"shutdown_grace": -1}},
         "jobtype_extra.shutdown_grace: -1 is less than the minimum of 0; use 0 or more"),
        ({"jobtype_extra": {"endpoint_timeouts": {"perform": 5}}},
         "jobtype_extra.endpoint_timeouts.perform: 'perform' is not an endpoint path: start it with '/'"),
        ({"jobtype_extra": {"endpoint_timeouts": {"/perform": "fast"}}},
         "jobtype_extra.endpoint_timeouts./perform: 'fast' is a string, expected a number"),
        ({"extends": 5}, "extends: 5 is read by YAML as an integer, expected a string; quote it: '5'"),
    ],
)
def test_each_field_rejects_bad_values(write, fields: dict, message: str) -> None:
    data = yaml.safe_load(MINIMAL)
    for key, value in fields.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    write(yaml.safe_dump(data, sort_keys=False))
    [problem] = problems()
    assert problem.startswith("fatman.yaml:")
    assert message in problem


@pytest.mark.parametrize(
    ("field", "too_big", "maximum"),
    [
        ("replicas", "99999999999999999999", 1000),
        ("replicas", "1001", 1000),
        ("python.max_concurrency", "10001", 10000),
        ("python.max_queue", "1000001", 1000000),
        ("python.request_timeout", "86400.5", 86400),
        ("python.endpoint_timeouts./perform", "86401", 86400),
        ("python.workers", "257", 256),
        ("python.max_body_bytes", str(10**23), 2**34),
        ("python.shutdown_grace", "3601", 3600),
    ],
)
def test_numbers_have_sensible_maximums(write, field: str, too_big: str, maximum: int) -> None:
    write(MINIMAL)
    assert problems(".", [f"{field}={too_big}"]) == [
        f"-e {field}={too_big}: {field}: {too_big} is more than the maximum of {maximum}; "
        f"use {maximum} or less"
    ]
    assert load_manifest(Path("."), [f"{field}={maximum}"]).data is not None


def test_each_repeated_list_item_is_named_where_it_is_written(write) -> None:
    write(with_fields("public_endpoints:\n  - /a\n  - /b\n  - /a\n  - /b\n  - /a\n"))
    assert problems() == [
        "fatman.yaml:11:5: public_endpoints[2]: '/a' is already listed at public_endpoints[0]; "
        "remove this one",
        "fatman.yaml:12:5: public_endpoints[3]: '/b' is already listed at public_endpoints[1]; "
        "remove this one",
        "fatman.yaml:13:5: public_endpoints[4]: '/a' is already listed at public_endpoints[0]; "
        "remove this one",
    ]
