"""The wrapper runs on racetrack's base dependencies alone; the CLI's packages are an extra that job images
do not carry, and the `racetrack` command says how to install it when it is missing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from build_helpers import JOBS, make_repo

from racetrack.__main__ import CLI_MODULES, INSTALL_HINT
from racetrack.builder import build_image
from racetrack.builder.config import load_config
from racetrack.builder.wrapper_image import REPOSITORY
from racetrack.manifest import load_manifest

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
# Besides the CLI extra: packages the wrapper must not import (fastapi only arrives with fastapi-offline,
# whose static files are all the wrapper uses) and racetrack's own build/deploy side.
NOT_FOR_THE_WRAPPER = (*CLI_MODULES, "fastapi", "racetrack.cli", "racetrack.builder", "racetrack.deploy")
WRAPPER_LAYERS_LIMIT_MB = 60  # issue 7's target for the wrapper base image over the Python base


def run_blocking(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where importing any of `modules` fails as if not installed."""
    block = f"import sys; sys.modules.update(dict.fromkeys({list(modules)!r}))\n"
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True, timeout=120)


def extra_names(extra: str) -> set[str]:
    """Distribution names listed by one of pyproject.toml's extras."""
    requirements = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"][extra]
    return {re.match(r"[A-Za-z0-9._-]+", line).group().lower() for line in requirements}


def test_cli_modules_are_the_cli_extra():
    assert set(CLI_MODULES) == extra_names("cli")


def test_wrapper_and_manifest_import_without_the_cli_extra():
    code = """
import importlib, pkgutil
import racetrack.manifest, racetrack.wrapper
for package in (racetrack.manifest, racetrack.wrapper):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print("imported")
"""
    result = run_blocking(NOT_FOR_THE_WRAPPER, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_the_command_without_the_cli_extra_says_how_to_install_it():
    code = "import sys; sys.argv = ['racetrack', '--version']\nfrom racetrack.__main__ import main; main()"
    result = run_blocking(("typer", "docker"), code)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the racetrack CLI needs its extra: {INSTALL_HINT} (missing: typer, docker)"
    ]


def test_the_command_with_the_cli_extra_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "racetrack", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == __import__("racetrack").__version__


@pytest.fixture(scope="module")
def probe_image(tmp_path_factory, engine):
    repo = make_repo(tmp_path_factory.mktemp("slim") / "repo", {"jobs/probe": JOBS / "probe"})
    return build_image(load_manifest(repo / "jobs" / "probe", [f"git.remote={repo}"]), "git")


def in_image(engine, tag: str, code: str) -> object:
    """What `code` prints as JSON, run by the image's Python as its user."""
    return json.loads(engine.containers.run(tag, ["python", "-c", code], remove=True, network_mode="none"))


@pytest.mark.docker
def test_job_image_carries_no_pip_setuptools_or_cli_packages(engine, probe_image):
    absent = ("pip", "setuptools", "pkg_resources", "pygments", *CLI_MODULES)
    code = (
        "import importlib.util, json, pathlib, six\n"
        f"print(json.dumps({{'found': [m for m in {absent!r} if importlib.util.find_spec(m)],\n"
        "  'six': six.__file__,\n"
        "  'job_bin': sorted(p.name for p in pathlib.Path('/opt/job/venv/bin').iterdir()),\n"
        "  'compiled': [str(p) for p in pathlib.Path('/opt/racetrack/venv').glob('lib/*/site-packages/"
        "racetrack/wrapper/http/__pycache__/app.*.pyc')]}))"
    )
    result = in_image(engine, probe_image.tag, code)
    assert result["found"] == []
    assert result["six"].startswith("/opt/job/venv/")  # the requirements still install, without a pip there
    assert not {"pip", "pip3"} & set(result["job_bin"])
    assert result["compiled"]  # byte-compiled at build time: the job's user cannot write __pycache__ there


@pytest.mark.docker
def test_racetrack_command_in_the_image_names_the_missing_extra(engine, probe_image):
    container = engine.containers.run(probe_image.tag, ["racetrack", "--version"], detach=True)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 1
        stderr = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)
    assert stderr.splitlines() == [
        f"error: the racetrack CLI needs its extra: {INSTALL_HINT} (missing: {', '.join(CLI_MODULES)})"
    ]


@pytest.mark.docker
def test_wrapper_layers_stay_small(engine, probe_image):
    """The wrapper base image the job was built on, over the configured base image."""
    tagged = [layer for layer in engine.images.get(probe_image.tag).history() if layer.get("Tags")]
    wrapper = next(layer for layer in tagged if any(t.startswith(REPOSITORY + ":") for t in layer["Tags"]))
    base = engine.images.get(load_config().base_image)
    over_base = engine.images.get(wrapper["Id"]).attrs["Size"] - base.attrs["Size"]
    assert over_base / 1e6 < WRAPPER_LAYERS_LIMIT_MB
