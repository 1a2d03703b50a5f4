"""Live deploy progress for the terminal: the current phase with a spinner and its elapsed time."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class DeployDisplay:
    """A Reporter drawing on `console`; the live line starts with the first phase and goes away at exit."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self.task: TaskID | None = None

    def step(self, text: str) -> None:
        if self.task is None:
            self.progress.start()
        else:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(escape(text))

    def done(self, text: str) -> None:
        self.console.print(f"  [green]✓[/] {escape(text)}", highlight=False, soft_wrap=True)

    def warn(self, text: str) -> None:
        self.console.print(f"  [yellow]✗[/] {escape(text)}", highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]-[/] {escape(text)}", highlight=False, soft_wrap=True)

    def __enter__(self) -> DeployDisplay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()
