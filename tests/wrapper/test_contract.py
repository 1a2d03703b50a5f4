"""Signatures to typed contracts: parameters, validation, docs, examples (in-process)."""

# ruff: noqa: UP006, UP035, UP045  (typing.List / Optional are what users write; their names are tested)

from __future__ import annotations

from typing import Any, List, Optional

import pytest

from racetrack.wrapper.contract.docstrings import parse_docstring
from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.contract.signatures import build_endpoint, check_example


class Job:
    def perform(
        self, x: float, numbers: List[float], *, scale: int, label: Optional[str] = None, raw=3
    ) -> float:
        """
        Scale numbers.
        Second line of description.
        :param x: An offset.
        :param numbers: The values,
            on two lines.
        :param scale: Multiplier (keyword-only, required).
        :return: The total.
        """
        return x

    def extra(self, a: int, **kwargs: Any) -> dict:
        return {"a": a, **kwargs}

    def star(self, *args):
        return args

    def positional(self, a, /, b):
        return a


def test_parameters_have_honest_types_and_required_ness() -> None:
    endpoint = build_endpoint("/perform", Job().perform)
    assert [p.as_json() for p in endpoint.parameters] == [
        {"name": "x", "type": "float"},
        {"name": "numbers", "type": "List[float]"},
        {"name": "scale", "type": "int"},
        {"name": "label", "type": "Optional[str]", "default_value": None},
        {"name": "raw", "type": "Any", "default_value": 3},
    ]


def test_body_is_validated_against_the_published_schema() -> None:
    endpoint = build_endpoint("/perform", Job().perform)
    for loose in (b'"1.5"', b"false"):  # the OpenAPI document says number: no coercion from strings or bools
        with pytest.raises(ValueError) as refused:
            endpoint.parse(b'{"x": ' + loose + b', "numbers": [1, 2], "scale": 2}')
        assert refused.value.errors()[0]["loc"] == ("x",)
    assert endpoint.parse(b'{"x": 1.5, "numbers": [1, 2], "scale": 2}') == {
        "x": 1.5,
        "numbers": [1.0, 2.0],
        "scale": 2,
        "label": None,
        "raw": 3,
    }
    assert endpoint.parse(b'{"x": 1, "numbers": [], "scale": 1, "raw": {"any": ["json"]}}')["raw"] == {
        "any": ["json"]
    }
    with pytest.raises(ValueError) as missing:
        endpoint.parse(b'{"x": 1, "numbers": []}')
    assert missing.value.errors()[0]["loc"] == ("scale",)
    with pytest.raises(ValueError) as unknown:
        endpoint.parse(b'{"x": 1, "numbers": [], "scale": 1, "zzz": 1}')
    assert unknown.value.errors()[0]["loc"] == ("zzz",)
    assert unknown.value.errors()[0]["type"] == "extra_forbidden"


def test_kwargs_accepts_extra_fields() -> None:
    endpoint = build_endpoint("/extra", Job().extra)
    assert endpoint.parse(b'{"a": 4, "b": [1]}') == {"a": 4, "b": [1]}


def test_underscore_and_reserved_names_still_work() -> None:
    class Odd:
        def perform(self, _private: int, json: str = "j", model_config: int = 0) -> int:
            return _private

    endpoint = build_endpoint("/perform", Odd().perform)
    assert endpoint.parse(b'{"_private": 1, "json": "x"}') == {"_private": 1, "json": "x", "model_config": 0}


def test_star_args_and_positional_only_are_load_errors() -> None:
    with pytest.raises(LoadError, match=r"\*args"):
        build_endpoint("/star", Job().star)
    with pytest.raises(LoadError, match="positional-only"):
        build_endpoint("/positional", Job().positional)


def test_docstring_descriptions() -> None:
    docs = parse_docstring(Job.perform)
    assert docs.description == "Scale numbers.\nSecond line of description."
    assert docs.params["numbers"] == "The values, on two lines."
    assert docs.returns == "The total."
    schema = build_endpoint("/perform", Job().perform).request_model.model_json_schema()
    assert schema["properties"]["scale"]["description"] == "Multiplier (keyword-only, required)."
    assert schema["required"] == ["x", "numbers", "scale"]


@pytest.mark.parametrize(
    ("example", "message"),
    [
        ([1, 2], "must be a dict"),
        ({"x": object()}, "not JSON-serializable"),
        ({"x": "a" * (1024 * 1024 + 1)}, "keep it under"),
        ({"nope": 1}, "not parameters"),
    ],
)
def test_bad_examples_are_load_errors_naming_the_endpoint(example: object, message: str) -> None:
    endpoint = build_endpoint("/perform", Job().perform)
    with pytest.raises(LoadError, match=message) as error:
        check_example(endpoint, example, "docs_input_example()")
    assert "/perform" in str(error.value)


def test_an_example_leaving_out_a_required_parameter_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = build_endpoint("/perform", Job().perform)
    required = [param.name for param in endpoint.parameters if param.required]
    assert check_example(endpoint, {required[0]: 1}, "docs_input_example()") == {required[0]: 1}
    assert f"leaves out the required parameter(s) {required[1:]}" in caplog.text
    assert "'Try it out' with it gets a 422" in caplog.text
    caplog.clear()
    full = {name: 1 for name in required}
    check_example(endpoint, full, "docs_input_example()")
    assert "leaves out" not in caplog.text
