"""The JSON Schema's findings in words: one reason per schema keyword, each naming the field (a JSON pointer)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jsonschema import ValidationError

from dsr.problems import FieldError
from dsr.request.errors import field_error, pointer

TYPE_NAMES = {
    "object": "a JSON object",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
FORMAT_REASONS = {  # by top-level field: what its pattern or format means
    "projects": "must be a project id (a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e)",
    "requestId": "may only hold letters, digits, '_' and '-' (1-64 characters)",
    "subject": "must be an image id (a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e)",
}
PROPERTY_COUNTS = {  # (top-level field, keyword): what an object of the wrong size must hold
    ("subject", "minProperties"): "must hold metadata or imageIds",
    ("subject", "maxProperties"): "must hold exactly one of metadata or imageIds",
    ("predictions", "minProperties"): "must hold application, from or to",
}

Reason = Callable[[ValidationError, str], str]  # (the finding, its top-level field) -> why, in words

_REASONS: dict[str, Reason] = {
    "minProperties": lambda e, top: PROPERTY_COUNTS.get((top, str(e.validator)), e.message),
    "maxProperties": lambda e, top: PROPERTY_COUNTS.get((top, str(e.validator)), e.message),
    "type": lambda e, top: f"must be {_kinds(e.validator_value)}, not {_json_type(e.instance)}",
    "enum": lambda e, top: f"{_show(e.instance)} is not one of: {', '.join(str(v) for v in e.validator_value)}",
    "uniqueItems": lambda e, top: e.message,
    "minItems": lambda e, top: "must not be empty" + ("" if top == "subject" else " (leave the field out to mean all)"),
    "maxItems": lambda e, top: f"must hold at most {e.validator_value} items, not {len(e.instance)}",
    "minLength": lambda e, top: "must not be empty",
    "maxLength": lambda e, top: f"must be at most {e.validator_value} characters",
    "minimum": lambda e, top: f"must be at least {e.validator_value}",
    "maximum": lambda e, top: f"must be at most {e.validator_value}",
    "pattern": lambda e, top: FORMAT_REASONS.get(top, e.message),
    "format": lambda e, top: FORMAT_REASONS.get(top, e.message),
}


def describe(error: ValidationError) -> list[FieldError]:
    """The problems of one finding: one per unknown or missing member, else one for the field."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = tuple(error.schema.get("properties") or ())
        return [field_error(pointer([*path, name]), unknown_field(name, allowed))
                for name in error.instance if name not in allowed]
    if error.validator == "required":
        return [field_error(pointer([*path, name]), _required(name))
                for name in error.validator_value if name not in error.instance]
    reason = _REASONS.get(str(error.validator), lambda e, top: e.message)
    return [field_error(pointer(path), reason(error, str(path[0]) if path else ""))]


def unknown_field(name: str, allowed: tuple[str, ...]) -> str:
    """Why `name` is refused, with the field it probably means (`dryrun`: `dryRun`)."""
    lowered = {f.lower(): f for f in allowed}
    hint = lowered.get(name.lower().replace("_", "").replace("-", ""))
    return f"unknown field; did you mean {hint!r}?" if hint else f"unknown field (allowed: {', '.join(allowed)})"


def _required(name: str) -> str:
    return "is required: export or delete" if name == "operation" else "is required"


def _kinds(expected: Any) -> str:
    return " or ".join(TYPE_NAMES.get(k, k) for k in (expected if isinstance(expected, list) else [expected]))


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("true or false", bool), ("a number", int | float), ("a string", str)):
        if isinstance(value, kind):
            return name
    return "a list" if isinstance(value, list) else "a JSON object"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
