"""A pytest plugin: fail the run when a folder holding test_*.py files collects no test (pytest skips folders
named build, dist, venv... and an import-time skip can empty a folder: neither may pass unnoticed)."""

from __future__ import annotations

from pathlib import Path

import pytest

_collected: set[Path] = set()


def pytest_itemcollected(item: pytest.Item) -> None:
    _collected.add(item.path.parent.resolve())


def test_folders(root: Path) -> set[Path]:
    """Every folder at or under `root` that directly holds a test_*.py file (hidden folders left out)."""
    if root.is_file():
        return set()
    return {
        path.parent.resolve()
        for path in root.rglob("test_*.py")
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


def pytest_collection_finish(session: pytest.Session) -> None:
    roots = [Path(arg.split("::")[0]) for arg in session.config.args]
    expected = set().union(*(test_folders(root.resolve()) for root in roots))
    empty = sorted(expected - _collected)
    if empty:
        where = ", ".join(str(path.relative_to(session.config.rootpath)) for path in empty)
        raise pytest.UsageError(
            f"no test was collected from {where}: pytest ignores folders named build, dist, venv, "
            "node_modules or starting with '.', and a module-level skip or failed import empties a folder; "
            "rename the folder or fix the module"
        )
