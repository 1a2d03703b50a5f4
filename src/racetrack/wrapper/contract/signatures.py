"""Turn an entrypoint method's signature into a typed HTTP contract: request model, parameters, docs."""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from racetrack.wrapper.contract.docstrings import Docstring, parse_docstring
from racetrack.wrapper.contract.encoding import encode_json, non_finite_at
from racetrack.wrapper.contract.loader import LoadError

MAX_EXAMPLE_BYTES = 1024 * 1024
_EMPTY = inspect.Parameter.empty
_RESERVED_FIELD_NAMES = frozenset(dir(BaseModel))
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parameter:
    """One parameter as listed by `GET /api/v1/parameters`."""

    name: str
    type_name: str
    required: bool
    default: Any = None

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"name": self.name, "type": self.type_name}
        if not self.required:
            item["default_value"] = _jsonable(self.default)
        return item


@dataclass
class Endpoint:
    """A callable entrypoint method exposed as `POST /api/v1{path}`."""

    path: str
    method: Callable[..., Any]
    is_async: bool
    request_model: type[BaseModel]
    parameters: tuple[Parameter, ...]
    accepts_extra: bool
    docs: Docstring
    return_annotation: Any = _EMPTY
    example: dict[str, Any] | None = None
    renamed_fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._validate_json = self.request_model.__pydantic_validator__.validate_json
        self._bound_names = _bound_parameter_names(self.method)

    def parse(self, body: bytes) -> dict[str, Any]:
        """Validate a JSON body into keyword arguments; raises pydantic's ValidationError."""
        model = self._validate_json(body)
        kwargs = model.__dict__
        if self.renamed_fields:
            kwargs = {self.renamed_fields.get(key, key): value for key, value in kwargs.items()}
        if self.accepts_extra and model.__pydantic_extra__:
            extra = model.__pydantic_extra__
            _check_extra(extra, self._bound_names, self.request_model.__name__)
            kwargs = {**kwargs, **extra}
        return kwargs

    @property
    def name(self) -> str:
        return getattr(self.method, "__name__", self.path.strip("/"))


def build_endpoint(path: str, method: Callable[..., Any]) -> Endpoint:
    """Build the contract of `method` served at `path`; bad signatures raise LoadError."""
    where = f"endpoint {path} ({_qualname(method)})"
    signature = _signature(method, where)
    docs = parse_docstring(method)
    fields: dict[str, Any] = {}
    parameters: list[Parameter] = []
    renamed: dict[str, str] = {}
    accepts_extra = False
    for index, param in enumerate(signature.parameters.values()):
        if param.kind is param.VAR_POSITIONAL:
            raise LoadError(
                f"{where} takes *{param.name}: *args cannot be passed as JSON fields; "
                "use named parameters (or **kwargs for arbitrary fields)",
                "TypeError",
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise LoadError(
                f"{where}: parameter {param.name!r} is positional-only; remove the '/' from the signature",
                "TypeError",
            )
        if param.kind is param.VAR_KEYWORD:
            accepts_extra = True
            continue
        annotation = _json_annotation(param.annotation, where, param.name)
        required = param.default is _EMPTY
        field_name = param.name
        if param.name.startswith("_") or param.name in _RESERVED_FIELD_NAMES:
            field_name = f"field_{index}"
            renamed[field_name] = param.name
        fields[field_name] = (
            annotation,
            Field(
                default=... if required else param.default,
                alias=param.name if field_name != param.name else None,
                description=docs.params.get(param.name),
            ),
        )
        parameters.append(Parameter(param.name, type_name(param.annotation), required, param.default))
    config = ConfigDict(
        extra="allow" if accepts_extra else "forbid",
        strict=True,  # what the OpenAPI document rejects (false or "3" for a float) is a 422
        allow_inf_nan=False,  # 1e400, NaN and "inf" are refused (422): JSON results cannot carry them back
        protected_namespaces=(),
        validate_by_name=False,
        title=_model_title(path),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(_model_title(path), __config__=config, **fields)
    return Endpoint(
        path=path,
        method=method,
        is_async=inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method),
        request_model=model,
        parameters=tuple(parameters),
        accepts_extra=accepts_extra,
        docs=docs,
        return_annotation=signature.return_annotation,
        renamed_fields=renamed,
    )


def check_example(endpoint: Endpoint, example: object, source: str) -> dict[str, Any]:
    """Validate a `docs_input_example(s)` payload for `endpoint`; violations raise LoadError."""
    where = f"{source} for endpoint {endpoint.path}"
    if not isinstance(example, dict):
        raise LoadError(
            f"{where} must be a dict of parameter values, got {type(example).__name__}", "TypeError"
        )
    try:
        size = len(encode_json(example))
    except TypeError as exc:
        raise LoadError(f"{where} is not JSON-serializable: {exc}", "TypeError") from exc
    if size > MAX_EXAMPLE_BYTES:
        raise LoadError(
            f"{where} is {size} bytes as JSON; keep it under {MAX_EXAMPLE_BYTES} bytes", "ValueError"
        )
    known = {param.name for param in endpoint.parameters}
    unknown = [key for key in example if key not in known]
    if unknown and not endpoint.accepts_extra:
        raise LoadError(
            f"{where} has keys {unknown} that are not parameters of {endpoint.name}; "
            f"use only {sorted(known)}",
            "ValueError",
        )
    missing = [param.name for param in endpoint.parameters if param.required and param.name not in example]
    if missing:  # the spec asks for every parameter: Swagger's "Try it out" would answer 422 with it
        logger.warning(
            "%s leaves out the required parameter(s) %s: Swagger UI's 'Try it out' with it gets a 422; "
            "add a sample value for each",
            where,
            missing,
        )
    return example


def type_name(annotation: Any) -> str:
    """A readable type string for /parameters, e.g. `float`, `List[float]`, `dict[str, int]`."""
    if annotation is _EMPTY:
        return "Any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def response_adapter(annotation: Any) -> TypeAdapter[Any] | None:
    """A TypeAdapter describing the response, or None when the return type is unknown or not JSON."""
    if annotation is _EMPTY or isinstance(annotation, str):
        return None
    try:
        adapter = TypeAdapter(annotation)
        adapter.json_schema(mode="serialization")
    except Exception:
        return None
    return adapter


def _signature(method: Callable[..., Any], where: str) -> inspect.Signature:
    try:
        return inspect.signature(method, eval_str=True)
    except (NameError, SyntaxError, TypeError):
        pass
    try:
        return inspect.signature(method)
    except (TypeError, ValueError) as exc:
        raise LoadError(f"cannot read the signature of {where}: {exc}", type(exc).__name__) from exc


def _json_annotation(annotation: Any, where: str, name: str) -> Any:
    """The annotation if pydantic can read it from JSON, else Any (the value is passed through as JSON)."""
    if annotation is _EMPTY or isinstance(annotation, str) or annotation is Any:
        return _JSON_VALUE
    try:
        TypeAdapter(annotation).json_schema()
    except Exception:
        logger.warning(
            "%s: parameter %r has type %s that cannot be read from JSON; passing the raw JSON value",
            where,
            name,
            type_name(annotation),
        )
        return _JSON_VALUE
    return annotation


def _finite(value: Any) -> Any:
    """`value` if it holds no NaN or infinite float (the NaN/Infinity literals are not JSON)."""
    if non_finite_at(value, "value") is not None:
        raise ValueError("NaN and Infinity are not JSON numbers; send a finite number, a string or null")
    return value


_JSON_VALUE = Annotated[Any, AfterValidator(_finite)]  # an unannotated parameter: any JSON value


def _bound_parameter_names(method: Callable[..., Any]) -> frozenset[str]:
    """Names a bound method fills itself (`self`, `cls`): a **kwargs field must not reuse them."""
    function = getattr(method, "__func__", None)
    if function is None:
        return frozenset()
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(names[:1])


def _check_extra(extra: dict[str, Any], bound: frozenset[str], title: str) -> None:
    """Refuse **kwargs fields named like the bound parameter, or holding NaN/Infinity (422)."""
    errors: list[Any] = []
    for key, value in extra.items():
        if key in bound:
            errors.append({"type": "extra_forbidden", "loc": (key,), "input": None})
        elif non_finite_at(value, key) is not None:
            message = "NaN and Infinity are not JSON numbers; send a finite number, a string or null"
            errors.append({"type": "value_error", "loc": (key,), "input": None, "ctx": {"error": message}})
    if errors:
        raise ValidationError.from_exception_data(title, errors)


def _model_title(path: str) -> str:
    words = [word for word in path.replace("-", "/").replace("_", "/").split("/") if word]
    return "".join(word[:1].upper() + word[1:] for word in words) + "Request"


def _qualname(method: Callable[..., Any]) -> str:
    return getattr(method, "__qualname__", repr(method))


def _jsonable(value: Any) -> Any:
    try:
        return orjson.loads(encode_json(value))
    except TypeError:
        return repr(value)


__all__ = ["Endpoint", "Parameter", "ValidationError", "build_endpoint", "check_example", "type_name"]
