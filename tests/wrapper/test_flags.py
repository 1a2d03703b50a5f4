"""`run`'s runtime flags come from fatman.schema.json, bounds included."""

from __future__ import annotations

import pytest

from racetrack.manifest.schema import manifest_schema
from racetrack.wrapper.__main__ import parse_args
from racetrack.wrapper.flags import RUNTIME_FIELDS, runtime_flags

RUN = ["run", "--entrypoint-path", "job.py"]


def test_every_runtime_field_of_the_schema_is_a_flag_with_its_bounds():
    flags = {flag.field: flag for flag in runtime_flags()}
    assert set(flags) == set(RUNTIME_FIELDS)
    assert flags["workers"].maximum == 256 and flags["workers"].kind is int
    assert flags["request_timeout"].exclusive_minimum and flags["request_timeout"].kind is float
    assert "At most 256" in flags["workers"].help  # the schema's description
    assert manifest_schema()  # the document they come from


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "1000"], "--workers must be at most 256, got 1000"),
        (["--workers", "-1"], "--workers must be at least 0"),
        (["--request-timeout", "0"], "--request-timeout must be more than 0"),
        (["--max-concurrency", "many"], "--max-concurrency must be an integer, got 'many'"),
    ],
)
def test_values_outside_the_schema_are_refused(args: list[str], message: str, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args([*RUN, *args])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_values_inside_the_schema_are_taken():
    args = parse_args([*RUN, "--workers", "256", "--request-timeout", "0.5", "--shutdown-grace", "0"])
    assert (args.workers, args.request_timeout, args.shutdown_grace) == (256, 0.5, 0.0)
