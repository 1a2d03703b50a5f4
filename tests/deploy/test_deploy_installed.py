"""A racetrack installed from its wheel (or sdist) into a fresh virtualenv builds and deploys from a working
directory outside any checkout, and its images carry exactly the installed distribution."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_helpers import SAMPLES

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
MARKER = "racetrack/installed-marker.txt"


def run(*command: str | Path, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Wheel and sdist of a copy of this checkout holding a marker file no checkout has; the marker."""
    work = tmp_path_factory.mktemp("dist")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    source = work / "source"
    for name in filter(None, tracked):
        if (ROOT / name).is_file() or (ROOT / name).is_symlink():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name, follow_symlinks=False)
    marker = secrets.token_hex(8)
    (source / "src" / MARKER).write_text(marker)
    out = work / "out"
    build = (sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir")
    run(*build, out, source, cwd=work)
    return next(out.glob("racetrack-*.whl")), next(out.glob("racetrack-*.tar.gz")), marker


def installed(distribution: Path, where: Path) -> Path:
    """A fresh venv in `where` with `distribution[cli]` installed; its bin directory."""
    run(sys.executable, "-m", "venv", where / "venv", cwd=where)
    pip = (where / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet")
    run(*pip, f"{distribution}[cli]", cwd=where)
    return where / "venv" / "bin"


@pytest.fixture(scope="module")
def wheel_bin(distributions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installed(distributions[0], tmp_path_factory.mktemp("wheel-install"))


def test_a_wheel_install_deploys_outside_any_checkout(distributions, wheel_bin, job_repo, tmp_path, engine):
    marker = distributions[2]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    bin_dir = wheel_bin
    job = outside / "python-class"
    shutil.copytree(SAMPLES / "python-class", job)
    repo = job_repo(SAMPLES / "python-class", name="installed")  # for its name and clean-up only
    deployed = run(bin_dir / "racetrack", "deploy", job, "--source", "local", "-e", f"name={repo.name}",
                   cwd=outside)
    assert "wrapper layer" in deployed.stderr
    called = run(bin_dir / "racetrack", "call", repo.name, '{"x": 20, "y": 5}', cwd=outside)
    assert called.stdout.strip() == "100.0"
    container = engine.containers.get(f"{repo.name}-0.0.1")
    inside = container.exec_run(
        ["python", "-c", f"import racetrack, pathlib; print((pathlib.Path(racetrack.__file__).parent.parent"
                         f" / {MARKER!r}).read_text())"]
    )
    assert inside.exit_code == 0 and inside.output.decode().strip() == marker  # the installed files


def test_an_sdist_install_builds_the_same_image(distributions, wheel_bin, tmp_path: Path):
    tags = []
    for name in ("wheel", "sdist"):
        where = tmp_path / name
        where.mkdir()
        bin_dir = wheel_bin if name == "wheel" else installed(distributions[1], where)
        shutil.copytree(SAMPLES / "python-class", where / "job")
        built = run(bin_dir / "racetrack", "build", where / "job", "--source", "local", "--quiet", cwd=where)
        tags.append(built.stdout.strip().splitlines()[-1])
    assert tags[0] == tags[1]  # same files installed, same content-addressed tag: the second is a no-op
