"""The request's structure: the JSON Schema in the API's OpenAPI document (the one schema), and its validator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from dsr.canonical_json import sorted_json
from dsr.problems import FieldError
from dsr.request.errors import duplicate_of
from dsr.request.messages import describe

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"  # dsr/openapi.json


@cache
def _openapi_text() -> str:
    return OPENAPI_PATH.read_text(encoding="utf-8")


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document (a fresh copy), served at /api/openapi.json."""
    return json.loads(_openapi_text())


# The one schema: the OpenAPI document holds it, the validator reads it from there.
REQUEST_SCHEMA: dict[str, Any] = openapi_document()["components"]["schemas"]["DataRequest"]


def _unique_items(validator: Any, unique: bool, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """uniqueItems in linear time (jsonschema's is quadratic for objects), one error per duplicate index.

    Items compare as canonical JSON text, so 1 and 1.0 count as different; our arrays hold strings only.
    """
    if not unique or not validator.is_type(instance, "array"):
        return
    first: dict[bytes, int] = {}
    for index, item in enumerate(instance):
        key = sorted_json(item)
        if key in first:
            yield ValidationError(duplicate_of(first[key]), path=[index])
        else:
            first[key] = index


_Validator = validators.extend(Draft202012Validator, {"uniqueItems": _unique_items})
_VALIDATOR = _Validator(REQUEST_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_problems(document: Any) -> list[FieldError]:
    """Every way `document` breaks the schema, each in words naming its field."""
    problems: list[FieldError] = []
    for error in _VALIDATOR.iter_errors(document):
        problems.extend(describe(error))
    return problems
