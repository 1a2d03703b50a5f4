"""Encode results as JSON with orjson, covering numpy, dataclasses, pydantic models, dates and paths."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import pathlib
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def encode_json(value: Any) -> bytes:
    """JSON bytes for `value`; raises TypeError naming the type that cannot be encoded."""
    try:
        return orjson.dumps(value, default=_fallback, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise TypeError(str(exc.__cause__ or exc)) from None


def _fallback(value: Any) -> Any:
    """Convert what orjson cannot encode natively into something it can."""
    if hasattr(value, "model_dump"):  # pydantic v2 models
        return value.model_dump(mode="json")
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # non-contiguous arrays, odd dtypes
        return value.tolist()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__array__") or hasattr(value, "tolist"):  # pandas, torch and other array-likes
        return value.tolist()
    raise TypeError(
        f"object of type {type(value).__module__}.{type(value).__qualname__} is not JSON serializable"
    )
