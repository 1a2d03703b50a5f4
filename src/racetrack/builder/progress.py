"""Live build output for the terminal: a spinner on the current Dockerfile step above the streamed lines."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from racetrack.builder.logs import STEP_LINE


class BuildProgress:
    """A progress callback for build_image; shows every line, or only steps and racetrack's own with quiet."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.status: Status = console.status("starting the build")

    def __call__(self, line: str) -> None:
        step = STEP_LINE.match(line)
        if step:
            self.status.update(f"step {step.group(1)}/{step.group(2)}: {escape(step.group(3)[:100])}")
            self.console.print(f"[bold]{escape(line)}[/]", highlight=False, soft_wrap=True)
        elif line.startswith("racetrack: warning:"):
            self.console.print(f"[yellow]{escape(line)}[/]", highlight=False, soft_wrap=True)
        elif line.startswith("racetrack:"):
            self.console.print(f"[cyan]{escape(line)}[/]", highlight=False, soft_wrap=True)
        elif not self.quiet:
            self.console.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)

    def __enter__(self) -> BuildProgress:
        self.status.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.status.stop()
