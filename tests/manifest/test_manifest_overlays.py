"""`extends` overlays and `-e key.path=value` overrides."""

from __future__ import annotations

from pathlib import Path

from manifest_helpers import MINIMAL, problems

from racetrack.manifest import load_manifest

BASE = """\
owner_email: team@example.com
lang: python3:latest
git:
  remote: https://github.com/racetrack/models
  branch: main
python:
  entrypoint_path: fatman_entrypoint.py
  max_concurrency: 2
runtime_env:
  MODE: base
  SHARED: 'yes'
public_endpoints: [/api/v1/perform, /api/v1/webview]
"""


def test_extends_merges_mappings_and_replaces_lists(write) -> None:
    write(BASE, "common/base.yaml")
    write("""\
        extends: common/base.yaml
        name: adder
        python:
          requirements_path: requirements.txt
        runtime_env:
          MODE: overlay
        public_endpoints: [/api/v1/perform]
    """)
    manifest = load_manifest(Path("."))
    assert manifest.name == "adder"
    assert manifest.owner_email == "team@example.com"
    assert manifest.git.branch == "main"
    assert manifest.python.entrypoint_path == "fatman_entrypoint.py"
    assert manifest.python.requirements_path == "requirements.txt"
    assert manifest.python.max_concurrency == 2
    assert manifest.runtime_env == {"MODE": "overlay", "SHARED": "yes"}
    assert manifest.public_endpoints == ("/api/v1/perform",)
    assert "extends" not in manifest.data
    assert manifest.path == (Path.cwd() / "fatman.yaml").resolve()


def test_extends_chains_and_resolves_relative_to_each_file(write) -> None:
    write("lang: python3\nreplicas: 2\n", "shared/root.yaml")
    write("extends: root.yaml\n" + BASE.replace("lang: python3:latest\n", ""), "shared/base.yaml")
    write("extends: shared/base.yaml\nname: adder\n")
    manifest = load_manifest(Path("."))
    assert (manifest.lang, manifest.replicas, manifest.name) == ("python3", 2, "adder")


def test_problems_point_into_the_file_the_value_came_from(write) -> None:
    write(BASE.replace("max_concurrency: 2", "max_concurrency: 0"), "base.yaml")
    write("extends: base.yaml\nname: adder\nreplicas: 0\n")
    assert problems() == [
        "base.yaml:8:20: python.max_concurrency: 0 is less than the minimum of 1; use 1 or more",
        "fatman.yaml:3:11: replicas: 0 is less than the minimum of 1; use 1 or more",
    ]


def test_missing_field_in_an_overlaid_mapping(write) -> None:
    write(BASE.replace("  entrypoint_path: fatman_entrypoint.py\n", ""), "base.yaml")
    write("extends: base.yaml\nname: adder\npython:\n  workers: 1\n")
    assert problems() == [
        "fatman.yaml:4:3: python.entrypoint_path: required field is missing "
        "(Path of the .py file with the entrypoint class, relative to the job directory)"
    ]


def test_missing_base(write) -> None:
    write("name: adder\nextends: base.yaml\n")
    assert problems() == [
        "fatman.yaml:2:10: extends: 'base.yaml' does not exist (looked for base.yaml)"
    ]


def test_base_that_is_a_directory(write, job: Path) -> None:
    (job / "base").mkdir()
    write("extends: base\n")
    assert problems() == [
        "fatman.yaml:1:10: extends: 'base' is a directory, not a manifest file (looked for base)"
    ]


def test_extends_cycle(write) -> None:
    write("extends: b.yaml\nname: a\n", "a.yaml")
    write("extends: ./a.yaml\n", "b.yaml")
    write("extends: a.yaml\n")
    assert problems() == [
        "b.yaml:1:10: extends: './a.yaml' makes a cycle: a.yaml -> b.yaml -> a.yaml; "
        "remove one of these extends"
    ]


def test_extends_itself(write) -> None:
    write("extends: fatman.yaml\n")
    assert problems() == [
        "fatman.yaml:1:10: extends: 'fatman.yaml' makes a cycle: fatman.yaml -> fatman.yaml; "
        "remove one of these extends"
    ]


def test_broken_base_and_overlay_problems_are_listed_together(write) -> None:
    write("name: [\n", "base.yaml")
    write("name: adder\nname: adder\nextends: base.yaml\n")
    assert problems() == [
        "base.yaml:2:1: invalid YAML: expected the node content, but found '<stream end>'",
        "fatman.yaml:2:1: name: duplicate key 'name': first set at line 1, column 1; keep only one",
    ]


def test_overrides_parse_values_as_yaml(write) -> None:
    write(MINIMAL)
    manifest = load_manifest(Path("."), [
        "git.branch=feature/x", "replicas=3", "python.endpoint_timeouts={/perform: 5}",
        "public_endpoints=[/api/v1/perform]", "runtime_env.MODE=fast", "version='2.0.0'",
    ])
    assert manifest.git.branch == "feature/x"
    assert manifest.replicas == 3
    assert manifest.python.endpoint_timeouts == {"/perform": 5}
    assert manifest.public_endpoints == ("/api/v1/perform",)
    assert manifest.runtime_env == {"MODE": "fast"}
    assert manifest.version == "2.0.0"


def test_override_wins_over_extends_and_empty_value_is_null(write) -> None:
    write(BASE, "base.yaml")
    write("extends: base.yaml\nname: adder\n")
    manifest = load_manifest(Path("."), ["git.branch=", "python.max_concurrency=5", "name=other"])
    assert (manifest.git.branch, manifest.python.max_concurrency, manifest.name) == (None, 5, "other")


def test_override_problems_name_the_override(write) -> None:
    write(MINIMAL)
    assert problems(".", ["version=1.0", "nonsense", "replicas=0", "entrypint_path=a.py", "labels=[",
                          "extends=base.yaml", ".x=1"]) == [
        "-e .x=1: expected key.path=value, e.g. -e git.branch=main",
        "-e entrypint_path=a.py: entrypint_path: unknown field 'entrypint_path'; "
        "did you mean jobtype_extra.entrypoint_path (under jobtype_extra:)?",
        "-e extends=base.yaml: extends: cannot be overridden; set it in the manifest",
        "-e labels=[: invalid YAML: expected the node content, but found '<stream end>'",
        "-e nonsense: expected key.path=value, e.g. -e git.branch=main",
        "-e replicas=0: replicas: 0 is less than the minimum of 1; use 1 or more",
        "-e version=1.0: version: 1.0 is read by YAML as a float, expected a string; quote it: '1.0'",
    ]


UNKNOWN_FOO = "unknown field 'foo'; known fields here: extends, name, owner_email, jobtype, version"


def test_missing_base_does_not_hide_the_overlays_own_problems(write) -> None:
    write("extends: nope.yaml\nname: BAD\nfoo: 1\nreplicas: 0\n")
    listed = problems()
    assert listed[:2] == [
        "fatman.yaml:1:10: extends: 'nope.yaml' does not exist (looked for nope.yaml)",
        "fatman.yaml:2:7: name: 'BAD' is not a valid job name: use lowercase letters, digits and '-' "
        "(starting and ending with a letter or digit), at most 63 characters",
    ]
    assert listed[2].startswith(f"fatman.yaml:3:1: foo: {UNKNOWN_FOO}")
    assert listed[3:] == ["fatman.yaml:4:11: replicas: 0 is less than the minimum of 1; use 1 or more"]


def test_cycle_does_not_hide_the_problems_of_each_file_in_it(write) -> None:
    write("extends: b.yaml\nname: A\n", "a.yaml")
    write("extends: a.yaml\nreplicas: many\n", "b.yaml")
    write("extends: a.yaml\nfoo: 1\n")
    listed = problems()
    assert listed[:3] == [
        "a.yaml:2:7: name: 'A' is not a valid job name: use lowercase letters, digits and '-' "
        "(starting and ending with a letter or digit), at most 63 characters",
        "b.yaml:1:10: extends: 'a.yaml' makes a cycle: a.yaml -> b.yaml -> a.yaml; "
        "remove one of these extends",
        "b.yaml:2:11: replicas: 'many' is a string, expected an integer",
    ]
    assert listed[3].startswith(f"fatman.yaml:2:1: foo: {UNKNOWN_FOO}")
    assert len(listed) == 4


def test_bad_extends_value_does_not_hide_the_other_fields(write) -> None:
    write("extends: 5\npublic_endpoints: [/a, /a]\n")
    assert problems() == [
        "fatman.yaml:1:10: extends: 5 is read by YAML as an integer, expected a string; quote it: '5'",
        "fatman.yaml:2:24: public_endpoints[1]: '/a' is already listed at public_endpoints[0]; "
        "remove this one",
    ]


def test_override_that_replaces_a_value_with_a_mapping_names_the_override(write) -> None:
    write(BASE, "base.yaml")
    write("extends: base.yaml\nname: adder\n")
    assert problems(".", ["name.first=x", "replicas.count.of=2"]) == [
        "-e name.first=x: name: {'first': 'x'} is a mapping, expected a string",
        "-e replicas.count.of=2: replicas: {'count': {'of': 2}} is a mapping, expected an integer",
    ]


def test_override_into_a_mapping_leaves_its_problems_in_the_file(write) -> None:
    write(BASE.replace("  entrypoint_path: fatman_entrypoint.py\n", ""), "base.yaml")
    write("extends: base.yaml\nname: adder\n")
    assert problems(".", ["python.workers=2", "labels.team=x"]) == [
        "base.yaml:7:3: python.entrypoint_path: required field is missing "
        "(Path of the .py file with the entrypoint class, relative to the job directory)",
    ]
