"""Logging for the job server: request ids on every record, text or JSON lines, one access line per call."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from racetrack.wrapper.tracing import request_id_var

ACCESS_LOGGER = "racetrack.access"

_QUIET_PATH_SUFFIXES = ("/live", "/ready", "/health", "/metrics")
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into JSON lines.
_STANDARD_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record as `record.request_id` ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, exception, plus `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _record_request_id(record),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_FIELDS and not key.startswith("_") and key != "color_message":
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
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
    handler.setFormatter(JsonFormatter() if structured else logging.Formatter(_TEXT_FORMAT))
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


class AccessLog:
    """One line per HTTP request: method, path, status, duration (and the request id, like every line);
    probes and scrapes (/live /ready /health /metrics) only when they fail."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, method: str, path: str, status: int, seconds: float) -> None:
        if (status < 400 and path.endswith(_QUIET_PATH_SUFFIXES)) or not self.logger.isEnabledFor(
            logging.INFO
        ):
            return
        duration_ms = round(seconds * 1000, 2)
        self.logger.info(
            "%s %s %d %.2fms",
            method,
            path,
            status,
            duration_ms,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )
