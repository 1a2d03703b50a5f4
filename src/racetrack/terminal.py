"""All of racetrack's terminal output: build and deploy progress by phase, deploy results, the job table,
call responses. Phases come from racetrack.phases; on a terminal a spinner shows the running one."""

from __future__ import annotations

import json
import time
from datetime import datetime
from types import TracebackType

import httpx
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from racetrack.builder.logs import PHASE_LINE
from racetrack.deploy.deployer import Deployed
from racetrack.deploy.errors import StartFailed
from racetrack.deploy.jobs import JobRow, age
from racetrack.deploy.probe import ERROR, RUNNING, STARTING
from racetrack.phases import Phase
from racetrack.protocol import API_PREFIX

PLAIN_WIDTH = 200  # the longest line written when the output is not a terminal
STATE_STYLES = {"done": "green", "cached": "cyan", "failed": "bold red"}


class PhaseDisplay:
    """Build progress callback and deploy Reporter in one: a line per finished phase (with its state and
    time), a spinner on the running one on a terminal; build output only with `verbose`; with `quiet` only
    warnings."""

    def __init__(self, console: Console, verbose: bool = False, quiet: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet and not verbose
        self.live = console.is_terminal and not self.quiet
        if not self.live:
            self.console.width = min(self.console.width, PLAIN_WIDTH) if self.console.width else PLAIN_WIDTH
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self.task: TaskID | None = None
        self.current: str | None = None
        self.started = 0.0

    # -- build output (racetrack.builder.logs.Progress) --
    def __call__(self, line: str) -> None:
        marker = PHASE_LINE.match(line)
        if marker:
            if marker.group("state") == "started":
                self._start(marker.group("phase"))
            else:
                self._finish(marker.group("state"), float(marker.group("seconds") or 0))
        elif line.startswith("racetrack: warning:"):
            self._print(f"[yellow]{escape(line)}[/]")
        elif self.verbose:
            self.console.print(escape(line), style="dim", highlight=False, no_wrap=True, overflow="ellipsis")

    # -- deploy Reporter (racetrack.deploy.report) --
    def phase(self, phase: Phase) -> None:
        self._finish("done", time.monotonic() - self.started)
        self._start(str(phase))

    def step(self, text: str) -> None:
        if self.task is not None and self.current is not None:
            self.progress.update(self.task, description=escape(f"{self.current}: {text}"[:120]))

    def done(self, text: str) -> None:
        self._print(f"  [green]✓[/] {escape(text)}")

    def warn(self, text: str) -> None:
        self._print(f"  [yellow]✗[/] {escape(text)}")

    def note(self, text: str) -> None:
        self._print(f"  [dim]-[/] {escape(text)}")

    def _start(self, phase: str) -> None:
        self._finish("done", time.monotonic() - self.started)
        self.current, self.started = phase, time.monotonic()
        if self.live:
            if self.task is None:
                self.progress.start()
            self.task = self.progress.add_task(escape(phase))

    def _finish(self, state: str, seconds: float) -> None:
        if self.current is None:
            return
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        style = STATE_STYLES.get(state, "")
        if not self.quiet:
            name = escape(self.current)
            self._print(f"[bold]{name:<16}[/] [{style}]{state}[/] [dim]{seconds:.1f} s[/]")
        self.current = None

    def _print(self, markup: str) -> None:
        self.console.print(markup, highlight=False)

    def __enter__(self) -> PhaseDisplay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._finish("failed" if error is not None else "done", time.monotonic() - self.started)
        self.progress.stop()


STATUS_STYLES = {RUNNING: "green", STARTING: "yellow", ERROR: "bold red"}
JOB_COLUMNS = ("NAME", "VERSION", "STATUS", "URL", "AGE", "CONTAINER")


def job_urls(url: str) -> dict[str, str]:
    return {
        "perform": f"{url}{API_PREFIX}/perform",
        "Swagger UI": f"{url}/docs",
        "metrics": f"{url}/metrics",
        "health": f"{url}/health",
    }


def print_deployed(console: Console, deployed: Deployed) -> None:
    d = deployed.deployment
    replaced = ""
    if deployed.replaced is not None:
        old = deployed.replaced
        moved = f"; the port moved from {old.host_port} to {d.host_port}" * (old.host_port != d.host_port)
        replaced = f" (replaced container {old.container_id}{moved})"
    console.print(
        f"[bold green]deployed[/] [bold]{escape(d.name)}[/] {escape(d.version)} as container "
        f"{escape(d.container_name)} ({d.container_id}){escape(replaced)}",
        highlight=False, soft_wrap=False,
    )
    for what, url in job_urls(d.url or "").items():
        console.print(f"  {what + ':':12} {url}", highlight=False, soft_wrap=False)


def print_start_failure(console: Console, error: StartFailed, name: str, version: str) -> None:
    """The reason, the container's last lines, and what was left as it was."""
    console.print(f"[bold red]error:[/] {escape(name)} {escape(version)} did not start: {escape(str(error))}",
                  highlight=False, soft_wrap=False)
    if error.log_tail:
        console.print(f"last {len(error.log_tail)} log lines of the container:", highlight=False)
        for line in error.log_tail:
            console.print(f"  | {escape(line)}", highlight=False, soft_wrap=False)
    previous = (f"the running {escape(name)} {escape(version)} (container {escape(error.kept)}) is untouched"
                if error.kept else "other versions are untouched")
    console.print(f"The failed container was removed; {previous}.", highlight=False, soft_wrap=False)


def jobs_listing(rows: list[JobRow], now: datetime) -> Group:
    """The job table, then the reason of each job in error. When the terminal is narrow, CONTAINER folds
    first and URL shrinks next; NAME, VERSION, STATUS and AGE are never cut."""
    cells = [
        (d.name, d.version, row.status, d.url or "-", age(d.created, now),
         d.container_name + (" (replacement starting)" if d.is_candidate else ""))
        for row in rows
        for d in [row.deployment]
    ]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for index, column in enumerate(JOB_COLUMNS):
        widest = max(len(text) for text in [column, *(cell[index] for cell in cells)])
        if column == "CONTAINER":
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, no_wrap=True, min_width=None if column == "URL" else widest)
    for row, cell in zip(rows, cells, strict=True):
        status = f"[{STATUS_STYLES.get(row.status, 'dim')}]{escape(row.status)}[/]"
        table.add_row(*(status if index == 2 else escape(text) for index, text in enumerate(cell)))
    reasons = [
        f"{escape(row.deployment.name)} {escape(row.deployment.version)}: [dim]{escape(row.reason)}[/]"
        for row in rows
        if row.status == ERROR and row.reason
    ]
    return Group(table, *map(Text.from_markup, reasons))


def print_call_response(out: Console, err: Console, response: httpx.Response) -> bool:
    """The JSON result on `out`; for an error, the job's error shape on `err`. True when it succeeded."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        text = response.text if body is None else json.dumps(body, indent=2, ensure_ascii=False)
        out.print(text, highlight=False, soft_wrap=True, markup=False)  # results are never wrapped
        return True
    if isinstance(body, dict) and "error" in body:
        err.print(f"[bold red]error:[/] HTTP {response.status_code} {escape(str(body.get('type')))}: "
                  f"{escape(str(body['error']))}", highlight=False, soft_wrap=False)
        for detail in body.get("details") or []:
            err.print(f"  {escape(json.dumps(detail, ensure_ascii=False))}", highlight=False, soft_wrap=False)
    else:
        err.print(f"[bold red]error:[/] HTTP {response.status_code}: {escape(response.text[:2000])}",
                  highlight=False, soft_wrap=False)
    return False
