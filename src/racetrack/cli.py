"""The `racetrack` command line: parse arguments, call the modules that do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from racetrack import __version__

app = typer.Typer(
    name="racetrack",
    help="Turn a Python class with perform() into a production HTTP job.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

JobDir = Annotated[
    Path, typer.Argument(help="Job directory (holding fatman.yaml) or a manifest file.", show_default=True)
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--extra", "-e", help="Override a manifest field: -e key.path=value (value parsed as YAML)."),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a user-facing error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print racetrack's version and exit.")] = False,
) -> None:
    """Turn a Python class with perform() into a production HTTP job."""
    if version:
        console.print(__version__)
        raise typer.Exit(0)


# --- commands: each helper adds its own below, keeping them thin ---
