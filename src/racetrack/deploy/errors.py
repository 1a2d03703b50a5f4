"""Errors of the deploy target; each message says what went wrong and how to fix it."""

from __future__ import annotations


class DeployError(Exception):
    """A deploy (or another command on deployed jobs) could not be done."""


class StartFailed(DeployError):
    """The new container did not become ready and was removed; `log_tail` holds its last log lines and
    `kept` the container of the same name+version that keeps running (if any)."""

    def __init__(self, message: str, log_tail: list[str], kept: str | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail
        self.kept = kept
