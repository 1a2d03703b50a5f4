"""Build logs: every line redacted of secret values, streamed to a callback and kept on disk."""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

Progress = Callable[[str], None]
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
REDACTED = "[secret redacted]"
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ENGINE_BOOKKEEPING = re.compile(r"^( ---> |Removing intermediate container )")


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

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def line(self, text: str) -> None:
        """Record one line of output (secrets redacted) and pass it on to the progress callback."""
        text = self.redact(_TERMINAL_CODES.sub("", text).rstrip())
        if STEP_LINE.match(text):
            self.step = text
            self.tail.clear()
        elif text.strip() and not _ENGINE_BOOKKEEPING.match(text):
            self.tail.append(text)
        self._file.write(text + "\n")
        self._file.flush()
        if self._progress:
            self._progress(text)

    def failure_report(self, error: str) -> str:
        """What failed, where, and the step's last lines of output."""
        lines = [f"docker build failed: {self.redact(error).strip()}"]
        if self.step:
            lines.append(f"failing step: {self.step}")
        if self.tail:
            lines.append("last lines of its output:")
            lines.extend(f"  | {line}" for line in self.tail)
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
