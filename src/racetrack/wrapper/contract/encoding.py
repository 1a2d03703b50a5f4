"""Encode results as JSON with orjson, covering numpy, dataclasses, pydantic models, dates and paths."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import os
import pathlib
import uuid
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_BIG_INT = "Integer exceeds 64-bit range"
NON_FINITE = "a non-finite float (inf or NaN), which JSON cannot represent; return None or a string instead"


def encode_json(value: Any) -> bytes:
    """JSON bytes for `value`; raises TypeError naming the type that cannot be encoded.

    Non-finite floats become null (orjson's rule); `encode_result` refuses them instead.
    """
    try:
        return orjson.dumps(value, default=_fallback, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if str(exc) == _BIG_INT:  # valid JSON all the same: take the slower encoder without that limit
            return _encode_with_stdlib(value)
        raise TypeError(str(exc.__cause__ or exc)) from None


def encode_result(value: Any, what: str = "result") -> bytes:
    """JSON bytes for a call's result; TypeError names what cannot be encoded, a non-finite float included.

    The search for inf/NaN runs only when the JSON holds a null: a fast path for every other result.
    """
    payload = encode_json(value)
    if b"null" in payload and (where := non_finite_at(value, what)) is not None:
        raise TypeError(f"{where} is {NON_FINITE}")
    return payload


def non_finite_at(value: Any, where: str = "result") -> str | None:
    """Where in `value` (e.g. `result['scores'][2]`) the first inf or NaN float is; None if it has none."""
    if isinstance(value, float):  # numpy.float64 included
        return None if math.isfinite(value) else where
    if value is None or isinstance(value, str | int):
        return None
    if isinstance(value, dict):
        items: Any = ((f"{where}[{key!r}]", item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{where}[{index}]", item) for index, item in enumerate(value))
    else:
        try:
            converted = _fallback(value)  # numpy arrays and scalars, dataclasses, Decimal ...
        except TypeError:
            return None  # encoded natively by orjson (dates, UUIDs): no floats inside
        return non_finite_at(converted, where)
    for place, item in items:
        found = non_finite_at(item, place)
        if found is not None:
            return found
    return None


def _encode_with_stdlib(value: Any) -> bytes:
    huge: list[int] = []
    try:
        text = json.dumps(value, default=_stdlib_fallback, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise TypeError(f"{non_finite_at(value) or 'the value'} is {NON_FINITE}") from None
        # ints of more than sys.get_int_max_str_digits() digits: str() refuses them, Decimal does not
        mark = f"racetrack-huge-int-{os.urandom(8).hex()}-"  # no string of the value can equal it
        text = _encode_with_stdlib(_mark_huge_ints(value, huge, mark)).decode()
        for index, number in enumerate(huge):
            text = text.replace(f'"{mark}{index}"', str(decimal.Decimal(number)), 1)
    return text.encode()


_HUGE_INT_BITS = 14_000  # about 4,200 decimal digits, just below Python's default conversion limit


def _mark_huge_ints(value: Any, huge: list[int], mark: str) -> Any:
    """`value` with every int too long for str() replaced by a marker string (its index in `huge`)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _HUGE_INT_BITS:
        huge.append(value)
        return f"{mark}{len(huge) - 1}"
    if isinstance(value, dict):
        return {key: _mark_huge_ints(item, huge, mark) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mark_huge_ints(item, huge, mark) for item in value]
    try:
        converted = _fallback(value)
    except TypeError:
        return value
    return value if converted is value else _mark_huge_ints(converted, huge, mark)


def _stdlib_fallback(value: Any) -> Any:
    """What orjson encodes natively but the json module does not, then `_fallback`."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return _fallback(value)


def _fallback(value: Any) -> Any:
    """Convert what orjson cannot encode natively into something it can."""
    to_json = getattr(type(value), "__to_json__", None)
    if to_json is not None:  # Racetrack's hook for custom result types
        return to_json(value)
    if hasattr(value, "model_dump"):  # pydantic v2 models
        return value.model_dump(mode="json")
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # non-contiguous arrays, odd dtypes
        return value.tolist()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):  # as Racetrack (FastAPI's encoder): UTF-8 text
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TypeError(
                f"bytes that are not UTF-8 text (byte {exc.start} is {bytes(value)[exc.start]:#04x}); "
                "JSON has no bytes: return them base64-encoded as a string"
            ) from None
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
