"""The runtime test jobs, the wrapper options that serve one, and process CPU time from /proc."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).parent
JOB = HERE / "jobs" / "runtime_job.py"


def job_options(job: Path) -> list[str]:
    """`racetrack.wrapper run` options serving the entrypoint module `job` from its own directory."""
    return ["--entrypoint-path", job.name, "--root", str(job.parent)]


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc, None once it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
