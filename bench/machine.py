"""Facts about the machine and software a run measured, so a reader can reproduce or discount it."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "racetrack",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic-core",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "prometheus-client",
)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def command_output(command: list[str], cwd: Path | None = None) -> str:
    """First line a command prints (stdout or stderr), or '' if it cannot run."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (completed.stdout or completed.stderr).strip()
    return text.splitlines()[0] if text else ""


def git_revision(repo: Path) -> str:
    commit = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=repo) or "unknown"
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return f"{commit} (with uncommitted changes)" if dirty else commit


def os_release() -> str:
    return command_output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def describe(repo: Path) -> dict[str, str]:
    """Name -> value, in the order a reader wants them."""
    versions = package_versions()
    return {
        "CPU": f"{os.cpu_count()} cores, {cpu_model()}",
        "OS": f"{platform.system()} {platform.release()}, {os_release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "Load generator": command_output(["wrk", "-v"]).split("Copyright")[0].strip() or "wrk not found",
        "Git revision": git_revision(repo),
    }
