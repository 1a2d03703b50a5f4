"""Terminal output of the deploy commands: where a job is, why it did not start, the job table."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from racetrack.deploy.deployer import Deployed
from racetrack.deploy.errors import StartFailed
from racetrack.deploy.jobs import JobRow, age
from racetrack.deploy.probe import ERROR, RUNNING, STARTING

STATUS_STYLES = {RUNNING: "green", STARTING: "yellow", ERROR: "bold red"}
JOB_COLUMNS = ("NAME", "VERSION", "STATUS", "URL", "AGE", "CONTAINER")


def job_urls(url: str) -> dict[str, str]:
    return {
        "perform": f"{url}/api/v1/perform",
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
        highlight=False, soft_wrap=True,
    )
    for what, url in job_urls(d.url or "").items():
        console.print(f"  {what + ':':12} {url}", highlight=False, soft_wrap=True)


def print_start_failure(console: Console, error: StartFailed, name: str, version: str) -> None:
    """The reason, the container's last lines, and what was left as it was."""
    console.print(f"[bold red]error:[/] {escape(name)} {escape(version)} did not start: {escape(str(error))}",
                  highlight=False, soft_wrap=True)
    if error.log_tail:
        console.print(f"last {len(error.log_tail)} log lines of the container:", highlight=False)
        for line in error.log_tail:
            console.print(f"  | {escape(line)}", highlight=False, soft_wrap=True)
    previous = (f"the running {escape(name)} {escape(version)} (container {escape(error.kept)}) is untouched"
                if error.kept else "other versions are untouched")
    console.print(f"The failed container was removed; {previous}.", highlight=False, soft_wrap=True)


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
        out.print(text, highlight=False, soft_wrap=True, markup=False)
        return True
    if isinstance(body, dict) and "error" in body:
        err.print(f"[bold red]error:[/] HTTP {response.status_code} {escape(str(body.get('type')))}: "
                  f"{escape(str(body['error']))}", highlight=False, soft_wrap=True)
        for detail in body.get("details") or []:
            err.print(f"  {escape(json.dumps(detail, ensure_ascii=False))}", highlight=False, soft_wrap=True)
    else:
        err.print(f"[bold red]error:[/] HTTP {response.status_code}: {escape(response.text[:2000])}",
                  highlight=False, soft_wrap=True)
    return False
