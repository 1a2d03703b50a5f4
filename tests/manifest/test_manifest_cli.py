"""`racetrack validate`: normalized YAML and exit 0, or every problem on stderr and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from manifest_helpers import MINIMAL, OLD_MINIMAL, with_fields
from typer.testing import CliRunner

from racetrack.cli import app

runner = CliRunner()
NOT_AN_EMAIL = "is not an email address; write the owner's address, e.g. data-team@example.com"


def test_validate_prints_the_normalized_manifest(write) -> None:
    write(MINIMAL)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert printed["version"] == "0.0.1"
    assert printed["git"] == {"remote": "https://github.com/racetrack/adder", "directory": "."}
    assert printed["jobtype"] == "python3:latest"
    assert printed["jobtype_extra"]["max_concurrency"] == 8
    assert result.stderr == ""


def test_validate_applies_extends_and_overrides(write) -> None:
    write("owner_email: team@example.com\njobtype: python3\n", "jobs/base.yaml")
    overlay = MINIMAL.replace("owner_email: nobody@example.com\njobtype: python3:latest\n", "")
    write("extends: base.yaml\n" + overlay, "jobs/adder.yaml")
    arguments = ["validate", "jobs/adder.yaml", "-e", "replicas=2", "--extra", "git.branch=dev"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert (printed["owner_email"], printed["jobtype"]) == ("team@example.com", "python3")
    assert printed["replicas"] == 2
    assert printed["git"]["branch"] == "dev"
    assert "extends" not in printed


def test_validate_lists_every_problem_and_exits_1(write) -> None:
    write(OLD_MINIMAL.replace("nobody@example.com", "moron").replace("name: adder", "name: no")
          + "python:\n  entrypint_path: x.py\n")
    result = runner.invoke(app, ["validate", ".", "-e", "replicas=0"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "-e replicas=0: replicas: 0 is less than the minimum of 1; use 1 or more",
        "fatman.yaml:1:7: name: no is read by YAML as a boolean, expected a string; quote it: 'no'",
        f"fatman.yaml:2:14: owner_email: 'moron' {NOT_AN_EMAIL}",
        "fatman.yaml:8:1: python: duplicate key 'python': first set at line 6, column 1; keep only one",
        "fatman.yaml:9:3: python.entrypint_path: unknown field 'entrypint_path'; "
        "did you mean 'entrypoint_path'?",
        "fatman.yaml:9:3: python.entrypoint_path: required field is missing "
        "(Path of the .py file with the entrypoint class, relative to the job directory)",
        "error: 6 problems in the manifest; see docs/manifest.md",
    ]


def test_validate_a_directory_without_manifest(job: Path) -> None:
    (job / "empty").mkdir()
    result = runner.invoke(app, ["validate", "empty"])
    assert result.exit_code == 1
    assert result.stderr.startswith("empty: no job.yaml nor fatman.yaml in this directory")


def test_validate_warns_about_missing_secret_files_but_passes(write) -> None:
    write(with_fields("secret_runtime_env_file: .env.runtime\n"))
    write("TOKEN=\n", ".env.runtime.dist")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0
    assert result.stderr.strip() == (
        "warning: fatman.yaml: secret_runtime_env_file: '.env.runtime' does not exist; "
        "copy .env.runtime.dist to .env.runtime and fill in the values"
    )


def test_validate_fails_on_bad_secret_files_without_showing_values(write) -> None:
    write(with_fields("secret_runtime_env_file: .env.runtime\n"))
    write("RACETRACK_TOKEN=s3cr3t\n", ".env.runtime")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        ".env.runtime:1:1: RACETRACK_TOKEN: 'RACETRACK_TOKEN' is reserved: racetrack sets or reads this "
        "variable itself; choose another name",
        "error: 1 problem in the secret env files; see docs/manifest.md",
    ]
    assert "s3cr3t" not in result.output


def test_validate_escapes_rich_markup(write) -> None:
    write(MINIMAL + "labels: {'[bold]x': 1}\nresources: {'[bold]y': 1}\n")
    result = runner.invoke(app, ["validate"])
    assert "resources.[bold]y: unknown field '[bold]y'" in result.stderr


def test_validate_in_a_real_process(example: Path) -> None:
    racetrack = Path(sys.executable).with_name("racetrack")
    ok = subprocess.run([racetrack, "validate", str(example)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(ok.stdout)["resources"] == {
        "cpu_min": "500m", "cpu_max": 2, "memory_min": "256Mi", "memory_max": "1Gi"
    }
    assert "s3cr3t" not in ok.stdout + ok.stderr

    example.write_text(example.read_text().replace("replicas: 3", "replicas: three"))
    bad = subprocess.run([racetrack, "validate", "-e", "version=1.0"], capture_output=True, text=True,
                         timeout=60, cwd=example.parent, env={**os.environ, "COLUMNS": "40"})
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    assert bad.stderr.splitlines() == [
        "-e version=1.0: version: 1.0 is read by YAML as a float, expected a string; quote it: '1.0'",
        "fatman.yaml:51:11: replicas: 'three' is a string, expected an integer",
        *bad.stderr.splitlines()[2:],
    ]
    summary = " ".join(" ".join(bad.stderr.splitlines()[2:]).split())  # wrapped to COLUMNS
    assert summary == "error: 2 problems in the manifest; see docs/manifest.md"


def test_validate_old_names_in_a_real_process_one_notice_and_exit_0(write, job: Path) -> None:
    write(OLD_MINIMAL, "job.yaml")
    racetrack = Path(sys.executable).with_name("racetrack")
    result = subprocess.run([racetrack, "validate"], capture_output=True, text=True, timeout=60, cwd=job,
                            env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "notice: old field names, still accepted: lang (job.yaml:3:1) is now jobtype, python (job.yaml:6:1) "
        "is now jobtype_extra; rename them when convenient\n"
    )
    printed = yaml.safe_load(result.stdout)
    assert (printed["name"], printed["jobtype"]) == ("adder", "python3:latest")
    assert "lang" not in printed and "python" not in printed


def test_validate_reads_a_piped_manifest_from_stdin(write, job: Path) -> None:
    write(MINIMAL.replace("name: adder\n", ""), "jobs/base.yaml")
    racetrack = Path(sys.executable).with_name("racetrack")
    piped = "extends: jobs/base.yaml\nname: piped\n"
    ok = subprocess.run([racetrack, "validate", "-"], input=piped, capture_output=True, text=True, timeout=60,
                        cwd=job)
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(ok.stdout)["name"] == "piped"
    bad = subprocess.run([racetrack, "validate", "-"], input=piped + "replicas: 0\n", capture_output=True,
                         text=True, timeout=60, cwd=job, env={**os.environ, "COLUMNS": "400"})
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == (
        "<stdin>:3:11: replicas: 0 is less than the minimum of 1; use 1 or more")


def test_version_as_a_command_and_an_option() -> None:
    from racetrack import __version__

    assert runner.invoke(app, ["version"]).output.strip() == f"racetrack {__version__}"
    assert runner.invoke(app, ["--version"]).output.strip() == __version__
