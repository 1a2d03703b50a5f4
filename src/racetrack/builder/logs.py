"""Build logs: every line redacted of secret values, streamed to a callback and kept on disk."""

from __future__ import annotations

import os
import re
import textwrap
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from racetrack.phases import Phase

Progress = Callable[[str], None]
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
# Phase boundaries, in the log and to the progress callback: "racetrack: phase requirements: done in 3.2 s"
PHASE_LINE = re.compile(r"^racetrack: phase (?P<phase>[a-z ]+): (?P<state>started|cached|done|failed)"
                        r"(?: in (?P<seconds>[0-9.]+) s)?$")
_STAGE_START = re.compile(r"^FROM \S+ AS (\S+)$", re.IGNORECASE)
_STEP_RAN = re.compile(r"^ ---> Running in ")
REDACTED = "[secret redacted]"
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ENGINE_BOOKKEEPING = re.compile(r"^( ---> |Removing intermediate container )")
_COMMAND_FAILED = re.compile(r"^The command .* returned a non-zero code: (\d+)$", re.DOTALL)
REPORT_WIDTH = 120  # a failure report's lines are wrapped here, so no line outgrows a terminal


def logs_dir() -> Path:
    """$XDG_STATE_HOME/racetrack/build-logs (~/.local/state by default)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "racetrack" / "build-logs"


def job_logs(name: str) -> list[Path]:
    """A job's build logs, oldest first."""
    return sorted((logs_dir() / name).glob("*.log"))


class BuildLog:
    """One build's log file; remembers the current Dockerfile step and the last lines for error reports."""

    def __init__(self, name: str, secrets: Iterable[str] = (), progress: Progress | None = None) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory = logs_dir() / name
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{stamp}-{os.getpid()}.log"
        self._file = self.path.open("w", encoding="utf-8")
        # Longest first, so a secret containing another is redacted whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._progress = progress
        self.step = ""
        self.tail: deque[str] = deque(maxlen=25)
        self.phase: Phase | None = None
        self.stage_phases: dict[str, Phase] = {}  # Dockerfile stage name -> the phase it begins
        self._phase_started = 0.0
        self._phase_ran = False

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def line(self, text: str) -> None:
        """Record one line of output (secrets redacted) and pass it on to the progress callback."""
        text = self.redact(_TERMINAL_CODES.sub("", text).rstrip())
        step = STEP_LINE.match(text)
        if step:
            stage = _STAGE_START.match(step.group(3).strip())
            if stage and stage.group(1) in self.stage_phases:
                self.begin(self.stage_phases[stage.group(1)])
            self.step = text
            self.tail.clear()
        elif _STEP_RAN.match(text):
            self._phase_ran = True
        elif text.strip() and not _ENGINE_BOOKKEEPING.match(text):
            self.tail.append(text)
        self._write(text)

    def _write(self, text: str) -> None:
        self._file.write(text + "\n")
        self._file.flush()
        if self._progress:
            self._progress(text)

    def begin(self, phase: Phase) -> None:
        """End the current phase (cached unless a Dockerfile step ran or ran() was called), start `phase`."""
        self.end()
        self.phase, self._phase_started, self._phase_ran = phase, time.monotonic(), False
        self._write(f"racetrack: phase {phase}: started")

    def ran(self) -> None:
        """The current phase did work (it was not cached)."""
        self._phase_ran = True

    def end(self, failed: bool = False) -> None:
        if self.phase is None:
            return
        state = "failed" if failed else "done" if self._phase_ran else "cached"
        seconds = time.monotonic() - self._phase_started
        self._write(f"racetrack: phase {self.phase}: {state} in {seconds:.1f} s")
        self.phase = None

    def cached(self, *phases: Phase) -> None:
        """Phases skipped because their result already exists."""
        for phase in phases:
            self.begin(phase)
        self.end()

    def failure_report(self, error: str) -> str:
        """What failed, where, and the step's last lines of output."""
        error = self.redact(error).strip()
        if failed := _COMMAND_FAILED.match(error):
            error = f"the step's command exited with code {failed.group(1)}"
        lines = _wrapped(f"docker build failed: {error}")
        if self.phase is not None:
            lines.append(f"failed phase: {self.phase}")
        if self.step:
            lines.extend(_wrapped(f"failing step: {self.step}", "    "))
        if self.tail:
            lines.append("last lines of its output:")
            for line in self.tail:
                lines.extend(_wrapped(f"  | {line}", "  | "))
        lines.append(f"full log: {self.path} (or `racetrack build-logs`)")
        return "\n".join(lines)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BuildLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _wrapped(line: str, indent: str = "  ") -> list[str]:
    """`line` as lines of at most REPORT_WIDTH characters (unless one word is longer), nothing dropped."""
    if len(line) <= REPORT_WIDTH:
        return [line]
    return textwrap.wrap(
        line, REPORT_WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
