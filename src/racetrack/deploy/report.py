"""How a deploy tells the user what it is doing; the CLI shows it live, tests and scripts stay silent."""

from __future__ import annotations

from typing import Protocol

from racetrack.phases import Phase


class Reporter(Protocol):
    def phase(self, phase: Phase) -> None:
        """A phase of the deploy (racetrack.phases) began; the one before it ended."""

    def step(self, text: str) -> None:
        """A new phase started (e.g. 'waiting for /ready'); it ends when the next one starts."""

    def done(self, text: str) -> None:
        """Something finished well; shown as a line of its own."""

    def warn(self, text: str) -> None:
        """Something went wrong, or is not as asked, that does not stop the deploy."""

    def note(self, text: str) -> None:
        """Neither a success nor a problem: something the user may want to know."""


class Silent:
    """A Reporter that says nothing."""

    def phase(self, phase: Phase) -> None:
        pass

    def step(self, text: str) -> None:
        pass

    def done(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass
