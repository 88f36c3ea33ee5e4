"""The body's bytes to a JSON document, refusing what JSON parsers disagree on (duplicate keys, NaN, Infinity,
nesting past what a request needs) so that a delete is never ambiguous."""

from __future__ import annotations

import json
from typing import Any

from dsr.request.errors import RequestValidationError, field_error, pointer

MAX_DEPTH = 16  # a valid body is 2 deep; deeper nesting is refused before the schema runs


class _BadJson(ValueError):
    """Raised from json hooks: the body is JSON we refuse (duplicate keys, NaN, Infinity)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def decode(body: bytes) -> Any:
    """The JSON document of `body`, or RequestValidationError saying why it is not one we accept."""
    try:
        text = body.decode("utf-8-sig")  # a byte order mark is tolerated (RFC 8259 §8.1)
    except UnicodeDecodeError as exc:
        reason = f"the body is not UTF-8 (bad byte at offset {exc.start})"
        raise RequestValidationError([field_error("", reason)]) from None
    if not text.strip():
        raise RequestValidationError([field_error("", "the body is empty; send a JSON object")])
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)
    except _BadJson as exc:
        raise RequestValidationError([field_error(exc.field, str(exc))]) from None
    except json.JSONDecodeError as exc:
        reason = f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise RequestValidationError([field_error("", reason)]) from None
    except (ValueError, RecursionError):  # e.g. integers over 4300 digits, nesting past the parser's limit
        raise RequestValidationError([field_error("", "the body is not valid JSON we accept")]) from None
    if _depth(document) > MAX_DEPTH:
        raise RequestValidationError([field_error("", f"the body is nested more than {MAX_DEPTH} levels deep")])
    duplicate = _first_duplicate(document)
    if duplicate is not None:
        raise RequestValidationError([field_error(duplicate, "duplicate key")])
    return document


class _WithDuplicates(dict[str, Any]):
    """A parsed object that had a key twice; found with its path once the whole document is parsed."""

    duplicate: str = ""


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # JSON parsers disagree on which one wins; a delete must not be ambiguous
            marked = _WithDuplicates(result)
            marked.duplicate = key
            return marked
        result[key] = value
    return result


def _first_duplicate(document: Any) -> str | None:
    """The JSON pointer of the first duplicated key in the document, if any (depth already bounded)."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _WithDuplicates):
            return pointer([*path, value.duplicate])
        if isinstance(value, dict):
            stack.extend((child, [*path, key]) for key, child in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((child, [*path, n]) for n, child in reversed(list(enumerate(value))))
    return None


def _no_constant(name: str) -> Any:
    raise _BadJson("", f"the body is not valid JSON: {name} is not a JSON number")


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH and isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest
