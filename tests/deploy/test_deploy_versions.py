"""SemVer precedence and `latest` resolution."""

from __future__ import annotations

import pytest

from racetrack.deploy.versions import VersionNotFound, resolve_version, semver_key

SEMVER_ORDER = [
    "0.0.1",
    "0.9.0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.2.0",
    "1.10.0",
    "2.0.0",
]


def test_semver_precedence_follows_the_spec() -> None:
    assert sorted(reversed(SEMVER_ORDER), key=semver_key) == SEMVER_ORDER


def test_build_metadata_does_not_change_precedence() -> None:
    assert semver_key("1.0.0+build.7") == semver_key("1.0.0")


def test_latest_is_the_highest_semver_not_the_last_string() -> None:
    available = ["1.9.0", "1.10.0", "1.10.0-rc.1", "0.0.1"]
    assert resolve_version("adder", available, "latest") == "1.10.0"
    assert resolve_version("adder", available, None) == "1.10.0"


def test_an_exact_version_is_taken_as_is() -> None:
    assert resolve_version("adder", ["1.0.0", "2.0.0"], "1.0.0") == "1.0.0"


def test_a_missing_version_lists_the_deployed_ones() -> None:
    with pytest.raises(VersionNotFound, match=r"no version '3.0.0' deployed; deployed: 1.0.0, 2.0.0"):
        resolve_version("adder", ["2.0.0", "1.0.0"], "3.0.0")


def test_a_job_with_no_versions_is_not_deployed() -> None:
    with pytest.raises(VersionNotFound, match="no job named 'adder' is deployed"):
        resolve_version("adder", [], "latest")


def test_non_semver_sorts_below_every_version() -> None:
    assert resolve_version("adder", ["weird", "0.0.1"], "latest") == "0.0.1"
