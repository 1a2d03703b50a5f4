"""Shared fixtures; marker gating so CI never silently skips integration tests."""

from __future__ import annotations

import os
import shutil

import pytest

pytest_plugins = ["collection_guard"]

IN_CI = os.environ.get("CI") == "true"


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return True
    except Exception:
        return False


_CHECKS = {
    "docker": (docker_available, "no Docker engine reachable"),
    "browser": (lambda: shutil.which("chromium") is not None, "chromium not installed"),
    "prometheus": (
        lambda: shutil.which("prometheus") is not None and shutil.which("promtool") is not None,
        "prometheus/promtool not installed",
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip marked tests when their tool is missing; with CI=true run them anyway so they fail loudly."""
    if IN_CI:
        return
    results: dict[str, bool] = {}
    for item in items:
        for marker, (check, reason) in _CHECKS.items():
            if marker not in item.keywords:
                continue
            if marker not in results:
                results[marker] = check()
            if not results[marker]:
                item.add_marker(pytest.mark.skip(reason=f"{reason} (with CI=true this fails instead)"))
