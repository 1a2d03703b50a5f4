"""Problems with the manifest file itself: finding it, reading it, parsing its YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from manifest_helpers import MINIMAL, problems

from racetrack.manifest import ManifestError, find_manifest

NO_MANIFEST = (
    "no job.yaml nor fatman.yaml in this directory; create job.yaml (see docs/manifest.md) "
    "or pass the manifest's path"
)
EMPTY = ("the manifest is empty; it needs at least name, owner_email, jobtype, git.remote, "
         "jobtype_extra.entrypoint_path")


def test_directory_without_a_manifest(job: Path) -> None:
    (job / "jobs" / "adder").mkdir(parents=True)
    with pytest.raises(ManifestError) as caught:
        find_manifest(job / "jobs" / "adder")
    assert str(caught.value) == f"jobs/adder: {NO_MANIFEST}"


def test_path_that_does_not_exist(job: Path) -> None:
    assert problems("nowhere.yaml") == [
        "nowhere.yaml: does not exist; give a job directory or a manifest file"
    ]


def test_path_outside_the_working_directory_is_shown_absolute(tmp_path: Path) -> None:
    (tmp_path / "fatman.yaml").write_text("")
    assert problems(tmp_path) == [f"{tmp_path.resolve() / 'fatman.yaml'}: {EMPTY}"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(write, text: str) -> None:
    write(text)
    assert problems() == [f"fatman.yaml: {EMPTY}"]


@pytest.mark.parametrize(
    ("text", "kind", "where"),
    [("- name: adder\n", "a list", "1:1"), ("adder\n", "a string", "1:1"), ("\n\n~\n", "null", "3:1"),
     ("42", "an integer", "1:1")],
)
def test_top_level_value_that_is_not_a_mapping(write, text: str, kind: str, where: str) -> None:
    write(text)
    assert problems() == [
        f"fatman.yaml:{where}: the manifest must be a mapping of fields (like 'name: my-job'), not {kind}"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: adder\n  lang: python3\n", "2:7: invalid YAML: mapping values are not allowed here; a key is "
                                            "indented deeper than the one before it, or a value holds ': ' "
                                            "(quote such a value)"),
        ("name: 'adder\n", "2:1: invalid YAML: found unexpected end of stream "
                            "(while scanning a quoted scalar started at line 1, column 7)"),
        ("name: adder\n\tlang: python3\n", "2:1: invalid YAML: found character '\\t' that cannot start any "
                                           "token; indent with spaces, YAML does not allow tabs"),
        ("git: {remote: x\n", "2:1: invalid YAML: expected ',' or '}', but got '<stream end>' "
                              "(while parsing a flow mapping started at line 1, column 6)"),
        ("name: adder\n---\nname: other\n",
         "2:1: invalid YAML: found another document "
         "(expected a single document in the stream started at line 1, column 1)"),
        ("name: !secret adder\n",
         "1:7: invalid YAML: could not determine a constructor for the tag '!secret'"),
    ],
)
def test_malformed_yaml_reports_the_position(write, text: str, message: str) -> None:
    write(text)
    assert problems() == [f"fatman.yaml:{message}"]


def test_duplicate_keys_name_both_positions(write) -> None:
    extra = "jobtype_extra:\n  entrypoint_path: other.py\n  requirements_path: a\n  requirements_path: b\n"
    write(MINIMAL + extra)
    assert problems() == [
        "fatman.yaml:8:1: jobtype_extra: duplicate key 'jobtype_extra': first set at line 6, column 1; "
        "keep only one",
        "fatman.yaml:11:3: jobtype_extra.requirements_path: duplicate key 'requirements_path': "
        "first set at line 10, column 3; keep only one",
    ]


def test_duplicate_keys_are_listed_with_schema_problems(write) -> None:
    write(MINIMAL + "name: adder\nreplicas: 0\n")
    assert problems() == [
        "fatman.yaml:8:1: name: duplicate key 'name': first set at line 1, column 1; keep only one",
        "fatman.yaml:9:11: replicas: 0 is less than the minimum of 1; use 1 or more",
    ]


def test_keys_that_yaml_reads_as_other_types(write) -> None:
    write(MINIMAL + "labels:\n  yes: sure\n  2024: year\n")
    assert problems() == [
        "fatman.yaml:9:3: labels: key 'yes' is read by YAML as a boolean; field names are text, "
        "so quote it: 'yes'",
        "fatman.yaml:10:3: labels: key '2024' is read by YAML as an integer; field names are text, "
        "so quote it: '2024'",
    ]


def test_keys_that_are_lists_or_mappings_are_shown_as_written(write) -> None:
    write(MINIMAL + "labels:\n  [1, 2]: z\n  {a: 1}: w\n  ? - x\n    - y\n  : v\n")
    assert problems() == [
        "fatman.yaml:9:3: labels: key '[1, 2]' is read by YAML as a list; field names are text, "
        "so quote it: '[1, 2]'",
        "fatman.yaml:10:3: labels: key '{a: 1}' is read by YAML as a mapping; field names are text, "
        "so quote it: '{a: 1}'",
        "fatman.yaml:11:5: labels: key '- x - y' is read by YAML as a list; field names are text, "
        "so quote it: '- x - y'",
    ]


def test_recursive_alias(write) -> None:
    write(MINIMAL + "labels: &loop {a: *loop}\n")
    assert problems() == ["fatman.yaml:8:9: labels.a: an alias refers to itself; remove the recursion"]


def test_file_that_is_not_utf8(write, job: Path) -> None:
    (job / "fatman.yaml").write_bytes(b"name: \xff\xfe\n")
    assert problems() == ["fatman.yaml: is not UTF-8 text (bad byte at offset 6); save it as UTF-8"]


def test_manifest_that_is_a_directory(job: Path) -> None:
    (job / "fatman.yaml").mkdir()
    (job / "fatman.yaml" / "x").write_text("")
    assert problems("fatman.yaml") == [f"fatman.yaml: {NO_MANIFEST}"]
