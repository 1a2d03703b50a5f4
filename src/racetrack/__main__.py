"""The `racetrack` console script (and `python -m racetrack`): the CLI, when its extra is installed.

Job images install racetrack without the `cli` extra; there the command says so in one line instead of an
ImportError traceback.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

# The top-level modules of pyproject.toml's `cli` extra (tests/build/test_dependency_split.py checks).
CLI_MODULES = ("typer", "rich", "docker", "requests", "certifi", "httpx")
INSTALL_HINT = "pip install 'racetrack[cli]'"


def missing_cli_modules() -> list[str]:
    """The `cli` extra's modules that cannot be imported here."""
    return [name for name in CLI_MODULES if find_spec(name) is None]


def main() -> None:
    """Run the CLI, or exit 1 naming the missing extra."""
    missing = missing_cli_modules()
    if missing:
        sys.exit(f"error: the racetrack CLI needs its extra: {INSTALL_HINT} (missing: {', '.join(missing)})")
    from racetrack.cli import app

    app()


if __name__ == "__main__":
    main()
