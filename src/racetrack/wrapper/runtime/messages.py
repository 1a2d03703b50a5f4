"""The messages between the server process and its worker processes (pickled over a pipe), one type each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- server -> worker


@dataclass(frozen=True, slots=True)
class Call:
    """Run `name(**kwargs)` for the request `request_id` (its scope rebuilds `request_context`)."""

    name: str
    kwargs: dict[str, Any]
    request_id: str | None
    scope: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Next:
    """Send the next item of the stream being served."""


@dataclass(frozen=True, slots=True)
class Close:
    """Close the stream being served (its consumer stopped early)."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The client left: cancel the async call being served (a sync one runs on)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Exit once the current call is done."""


# ---------------------------------------------------------------- worker -> server


@dataclass(frozen=True, slots=True)
class Loaded:
    """The entrypoint is loaded; the routes it declares."""

    pid: int
    routes: Any  # job.Routes


@dataclass(frozen=True, slots=True)
class LoadFailed:
    """Loading the entrypoint failed (a LoadError's fields)."""

    message: str
    exception_type: str
    location: str | None
    traceback: str | None


@dataclass(frozen=True, slots=True)
class Result:
    value: Any


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """The call returned a generator: its items follow, one per Next."""


@dataclass(frozen=True, slots=True)
class Item:
    value: Any


@dataclass(frozen=True, slots=True)
class End:
    """The stream has no more items."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The stream was closed as asked."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Job code raised: the exception's class name, message, whether it is a ValueError, its traceback."""

    type_name: str
    message: str
    is_value_error: bool
    traceback: str


@dataclass(frozen=True, slots=True)
class Died:
    """Posted by the server's reader thread: the worker process exited with `exitcode`."""

    exitcode: int | None


@dataclass(frozen=True, slots=True)
class MetricsReply:
    """The entrypoint's `metrics()` for scrape `sequence`, or the error it raised."""

    sequence: int
    entries: Any
    error: str | None = None


Request = Call | Next | Close | Cancel | Stop
Reply = Loaded | LoadFailed | Result | StreamStarted | Item | End | Closed | Failed | Died
