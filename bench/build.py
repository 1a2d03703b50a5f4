"""Builder benchmark: time `racetrack build DIR --source local` on a copy of a sample job through edits.

Needs a Docker engine. The copy is named `racetrack-bench`; a random nonce in its code and requirements
keeps its first build from hitting any cached layer. Its images are removed afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import docker
import yaml

from bench.servers import REPO_ROOT

JOB_NAME = "racetrack-bench"
BUILD_TIMEOUT_S = 1800
NOOP_TARGET_S = 2.0
CODE_CHANGE_TARGET_S = 10.0
WRAPPER_LAYERS_TARGET_MB = 60.0
EXTRA_REQUIREMENT = "six==1.16.0"


class BuildBenchFailed(RuntimeError):
    """A build failed; the message carries the command and the tail of its output."""


@dataclass(frozen=True)
class BuildStep:
    name: str
    seconds: list[float]
    new_image: list[bool]
    pip_ran: list[bool | None]
    target_s: float | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: list[str]
    size_mb: float
    layers: list[str]
    created: float


@dataclass
class BuildResults:
    sample: str
    steps: list[BuildStep] = field(default_factory=list)
    job: ImageInfo | None = None
    bases: list[ImageInfo] = field(default_factory=list)  # nearest first: wrapper base, Python base, ...


@dataclass(frozen=True)
class JobCopy:
    root: Path
    entrypoint: Path
    requirements: Path

    def commit(self, message: str) -> None:
        identity = ["-c", "user.name=racetrack-bench", "-c", "user.email=bench@localhost"]
        for args in (["add", "-A"], ["commit", "-q", "-m", message]):
            subprocess.run(["git", *identity, *args], cwd=self.root, check=True, capture_output=True)

    def append(self, path: Path, line: str) -> None:
        with path.open("a") as file:
            file.write(line + "\n")
        self.commit(f"bench: {path.name} += {line}")


def copy_job(sample: Path, directory: Path) -> JobCopy:
    """Copy `sample` as job `racetrack-bench`, with a requirements file and a new nonce, into a git repo."""
    nonce = secrets.token_hex(8)
    root = directory / f"job-{nonce}"
    shutil.copytree(sample, root, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"))
    manifest_path = root / "fatman.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["name"] = JOB_NAME
    python = manifest.setdefault("python" if "python" in manifest else "jobtype_extra", {})
    requirements = root / python.setdefault("requirements_path", "requirements.txt")
    existing = requirements.read_text().rstrip() + "\n" if requirements.exists() else ""
    requirements.write_text(f"{existing}# {JOB_NAME} {nonce}\n")
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    entrypoint = root / python["entrypoint_path"]
    entrypoint.write_text(f"{entrypoint.read_text().rstrip()}\n\nBENCH_NONCE = {nonce!r}\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    copy = JobCopy(root, entrypoint, requirements)
    copy.commit("sample job for the builder benchmark")
    return copy


def snapshot_racetrack(directory: Path) -> dict[str, str]:
    """Copy racetrack's checkout and return an environment that runs it, so that edits made to the working
    tree during the benchmark cannot change the wrapper base image between two builds."""
    root = directory / "racetrack-checkout"
    for name in ("src",):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, root / name)
    return os.environ | {"PYTHONPATH": str(root / "src"), "XDG_STATE_HOME": str(directory / "state")}


def pip_reran(env: dict[str, str]) -> bool | None:
    """Whether the latest build's log shows the `pip install` step run (not taken from the layer cache)."""
    logs = sorted(Path(env["XDG_STATE_HOME"], "racetrack", "build-logs", JOB_NAME).glob("*.log"))
    lines = logs[-1].read_text().splitlines() if logs else []
    for line, following in zip(lines, lines[1:], strict=False):
        if line.startswith("Step ") and "pip install" in line:
            return "Using cache" not in following
    return None


def racetrack_command() -> list[str]:
    script = Path(sys.executable).parent / "racetrack"
    return (
        [str(script)] if script.exists() else [sys.executable, "-c", "from racetrack.cli import app; app()"]
    )


def timed_build(job: Path, env: dict[str, str]) -> tuple[float, str]:
    """Seconds `racetrack build` took, and the image tag it printed."""
    command = [*racetrack_command(), "build", str(job), "--source", "local", "--quiet"]
    started = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=job, env=env
    )
    elapsed = time.perf_counter() - started
    output = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not output:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-30:])
        raise BuildBenchFailed(f"`{' '.join(command)}` exited {completed.returncode}:\n{tail}")
    return elapsed, output[-1].strip()


def image_info(image: docker.models.images.Image) -> ImageInfo:
    attrs = image.attrs
    created = datetime.fromisoformat(attrs["Created"][:19] + "+00:00").timestamp()  # drop nanoseconds
    layers = attrs.get("RootFS", {}).get("Layers", [])
    return ImageInfo(attrs["Id"], image.tags, attrs["Size"] / 1e6, layers, created)


def base_chain(client: docker.DockerClient, job: ImageInfo) -> list[ImageInfo]:
    """Local images whose layers are a proper prefix of the job's, nearest (most layers) first."""
    by_depth: dict[int, ImageInfo] = {}
    for info in map(image_info, client.images.list()):
        depth = len(info.layers)
        is_base = 0 < depth < len(job.layers) and job.layers[:depth] == info.layers
        if is_base and (depth not in by_depth or len(info.tags) > len(by_depth[depth].tags)):
            by_depth[depth] = info
    return [by_depth[depth] for depth in sorted(by_depth, reverse=True)]


class BuildTimer:
    """Runs the builds of one benchmark, remembering the last image to tell rebuilds from no-ops."""

    def __init__(self, client: docker.DockerClient, env: dict[str, str], log: Callable[[str], None]) -> None:
        self.client = client
        self.env = env
        self.log = log
        self.tags: set[str] = set()
        self.last: ImageInfo | None = None

    def step(
        self,
        name: str,
        job: JobCopy,
        edits: list[Callable[[], None] | None],
        target_s: float | None = None,
    ) -> BuildStep:
        seconds, new_image, pip_ran = [], [], []
        for edit in edits:
            if edit is not None:
                edit()
            elapsed, tag = timed_build(job.root, self.env)
            self.tags.add(tag)
            image = image_info(self.client.images.get(tag))
            seconds.append(elapsed)
            new_image.append(self.last is None or image.id != self.last.id)
            pip_ran.append(pip_reran(self.env) if new_image[-1] else False)
            self.last = image
        step = BuildStep(name, seconds, new_image, pip_ran, target_s)
        self.log(f"{name}: {', '.join(f'{s:.1f}' for s in seconds)} s")
        return step

    def remove_images(self) -> None:
        for tag in self.tags:
            try:
                self.client.images.remove(tag)
            except docker.errors.APIError as error:
                self.log(f"could not remove {tag}: {error}")


def run_build_bench(
    sample: Path, repeats: int, keep_images: bool, log: Callable[[str], None]
) -> BuildResults:
    """Cold builds, a no-op rebuild, code and requirements changes; then the image and its bases' sizes."""
    client = docker.from_env(timeout=BUILD_TIMEOUT_S)
    client.ping()
    results = BuildResults(sample=sample.name)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="racetrack-bench-build-") as scratch:
        timer = BuildTimer(client, snapshot_racetrack(Path(scratch)), log)
        try:
            first = copy_job(sample, Path(scratch))
            results.steps.append(timer.step("first build (new sources)", first, [None]))
            job = copy_job(sample, Path(scratch))
            steps = (
                ("cold build (new sources, wrapper base present)", [None], None),
                ("no-op rebuild", [None] * repeats, NOOP_TARGET_S),
                (
                    "rebuild after a one-line code change",
                    [lambda i=i: job.append(job.entrypoint, f"BENCH_EDIT_{i} = {i}") for i in range(repeats)],
                    CODE_CHANGE_TARGET_S,
                ),
                (
                    "rebuild after a requirements change",
                    [
                        lambda i=i: job.append(
                            job.requirements, EXTRA_REQUIREMENT if i == 0 else f"# edit {i}"
                        )
                        for i in range(repeats)
                    ],
                    None,
                ),
            )
            for name, edits, target in steps:
                results.steps.append(timer.step(name, job, edits, target))
            assert timer.last is not None
            results.job = timer.last
            results.bases = base_chain(client, timer.last)
            if results.bases and results.bases[0].created >= started:
                first_step = results.steps[0]
                results.steps[0] = replace(first_step, name="first build, including the wrapper base image")
        finally:
            if not keep_images:
                timer.remove_images()
    return results


def yes_no(flags: list[bool | None]) -> str:
    return ", ".join("?" if flag is None else "yes" if flag else "no" for flag in flags)


def render_build(results: BuildResults, command: str, machine: dict[str, str], started: str) -> str:
    lines = [
        "## Builder",
        "",
        f"Command: `{command}` — `sample/{results.sample}` copied to a temporary git repository as job "
        f"`{JOB_NAME}` (with a random nonce in its code and requirements, so a cold build cannot hit a "
        "cached layer), then built with `racetrack build DIR --source local` after each change, racetrack "
        "running from a snapshot of this checkout taken at the start. Times are wall-clock seconds of the "
        "whole command, as a user waits for it.",
        "",
        f"Measured {started}.",
        "",
        *(f"- {k}: {v}" for k, v in machine.items()),
        "",
        "| step | seconds: median (each run) | new image | `pip install` ran | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for step in results.steps:
        runs = ", ".join(f"{s:.1f}" for s in step.seconds)
        target = "—" if step.target_s is None else f"< {step.target_s:g} s"
        met = "—" if step.target_s is None else ("yes" if step.median_s < step.target_s else "**NO**")
        new, pip = yes_no(step.new_image), yes_no(step.pip_ran)
        lines.append(f"| {step.name} | **{step.median_s:.1f}** ({runs}) | {new} | {pip} | {target} | {met} |")
    lines += ["", "| image | tags | size MB | over the image below |", "|---|---|---|---|"]
    chain = ([results.job] if results.job else []) + results.bases
    for upper, lower in zip(chain, [*chain[1:], None], strict=True):
        over = "—" if lower is None else f"{upper.size_mb - lower.size_mb:.1f} MB"
        tags = ", ".join(f"`{t}`" for t in upper.tags) or "(untagged)"
        lines.append(f"| {upper.id.removeprefix('sha256:')[:12]} | {tags} | {upper.size_mb:.1f} | {over} |")
    if len(results.bases) >= 2:
        wrapper_mb = results.bases[0].size_mb - results.bases[1].size_mb
        met = "yes" if wrapper_mb < WRAPPER_LAYERS_TARGET_MB else "**NO**"
        lines += [
            "",
            f"Wrapper layers over the Python base image: **{wrapper_mb:.1f} MB** "
            f"(target < {WRAPPER_LAYERS_TARGET_MB:.0f} MB: {met}).",
        ]
    return "\n".join(lines)
