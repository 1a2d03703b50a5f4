"""Logging for the job server: request ids on every record, text or JSON lines, one access line per call."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from racetrack.protocol import PROBE_PATHS
from racetrack.wrapper.telemetry.tracing import request_id_var

ACCESS_LOGGER = "racetrack.access"

_QUIET_PATH_SUFFIXES = PROBE_PATHS  # probes and scrapes: logged only when they fail
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into JSON lines.
_STANDARD_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record as `record.request_id` ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    """The text line format, with the date and time part of the timestamp formatted once per second."""

    def __init__(self, fmt: str = _TEXT_FORMAT) -> None:
        super().__init__(fmt)
        self._stamp: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        stamp = self._stamp  # one tuple, swapped whole: safe when handlers share this formatter
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime(self.default_time_format, self.converter(second)))
        return self.default_msec_format % (stamp[1], record.msecs)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with Racetrack's keys (time, lvl, msg, tracing_id, exc_info) so its log
    queries keep working, plus logger and the record's `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "lvl": record.levelname,
            "msg": record.getMessage(),
            "logger": record.name,
            "tracing_id": _record_request_id(record),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_FIELDS and not key.startswith("_") and key != "color_message":
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=repr).decode()


def _record_request_id(record: logging.LogRecord) -> str | None:
    rid = getattr(record, "request_id", None) or request_id_var.get()
    return None if rid == "-" else rid


def env_log_settings(environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """(level, structured) from LOG_LEVEL (default INFO) and LOG_STRUCTURED (true/1/yes)."""
    env = os.environ if environ is None else environ
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in logging.getLevelNamesMapping():
        raise ValueError(
            f"LOG_LEVEL={env.get('LOG_LEVEL')!r} is not a logging level:"
            " use DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    structured = env.get("LOG_STRUCTURED", "false").strip().lower() in ("1", "true", "yes", "on")
    return level, structured


def configure_logging(level: str | None = None, structured: bool | None = None) -> None:
    """Route all logging (user code and uvicorn included) through one stderr handler with request ids.

    Arguments left as None come from LOG_LEVEL / LOG_STRUCTURED. uvicorn's own access log is switched off:
    the app writes one line per request instead (`AccessLog`).
    """
    env_level, env_structured = env_log_settings()
    level = level or env_level
    structured = env_structured if structured is None else structured
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if structured else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
    logging.captureWarnings(True)


def escape_control_characters(text: str) -> str:
    """`text` with CR, LF, NUL and other unprintable characters as backslash escapes (`\\r`, `\\x00`)."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class AccessLog:
    """One line per HTTP request: method, path, status, duration (and the request id, like every line);
    probes and scrapes (/live /ready /health /metrics) only when they fail.

    The line goes through `logging` (levels, handlers, filters, JSON lines all apply) as a record built
    from a per-thread template: `Logger.info` would look up the caller's frame, thread and process names
    for every request, the largest cost of a trivial call.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)
        self._shared: tuple[int, float, dict[str, Any]] = (-1, 0.0, {})  # thread id, start time, template

    def __call__(self, method: str, path: str, status: int, seconds: float) -> None:
        logger = self.logger
        if (status < 400 and path.endswith(_QUIET_PATH_SUFFIXES)) or not logger.isEnabledFor(logging.INFO):
            return
        if not path.isprintable():  # a decoded %0d%0a must not start a fake log line
            path = escape_control_characters(path)
        duration_ms = round(seconds * 1000, 2)
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        started, template = self._shared_fields(threading.get_ident())
        fields.update(template)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0
        fields["relativeCreated"] = (now - started) * 1000
        fields["msg"] = f"{method} {path} {status} {duration_ms:.2f}ms"
        fields["method"] = method
        fields["path"] = path
        fields["status"] = status
        fields["duration_ms"] = duration_ms
        logger.handle(record)

    def _shared_fields(self, thread: int) -> tuple[float, dict[str, Any]]:
        """(logging's start time, the fields every access record of `thread` shares, as `Logger.info`
        would set them)."""
        shared = self._shared
        if shared[0] != thread:
            name = self.logger.name
            record = self.logger.makeRecord(name, logging.INFO, __file__, 0, "", (), None, "__call__")
            shared = self._shared = (thread, record.created - record.relativeCreated / 1000, record.__dict__)
        return shared[1], shared[2]
