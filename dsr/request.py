"""The data-subject request (DESIGN.md §3): its model, and strict validation of the JSON body.

Strict because this API deletes data: unknown fields, loose types, duplicates and a missing or wrong
`confirm` are all refused, and every problem is reported at once, each naming its field.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from jsonschema import Draft202012Validator, ValidationError, validators

from dsr import request_subject
from dsr.canonical_json import sorted_json
from dsr.categories import ALL_CATEGORIES, Category, Operation
from dsr.problems import FieldError
from dsr.settings import DEFAULT_RESOURCE, Settings
from dsr.subject.selector import Subject

MAX_BODY_BYTES = 64 * 1024
MAX_PROBLEMS = 50  # a hostile body can hold thousands; the first fifty say enough
MAX_DEPTH = 16  # a valid body is 2 deep; deeper nesting is refused before the schema runs
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch only: in Python `$` also matches before "\n"

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


@cache
def _openapi_text() -> str:
    return OPENAPI_PATH.read_text(encoding="utf-8")


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document (a fresh copy), served at /api/openapi.json."""
    return json.loads(_openapi_text())


# The one schema: the OpenAPI document holds it, the validator reads it from there.
REQUEST_SCHEMA: dict[str, Any] = openapi_document()["components"]["schemas"]["DataRequest"]
_FIELDS = tuple(REQUEST_SCHEMA["properties"])


class RequestValidationError(ValueError):
    """The body is not a valid request; `problems` names every bad field (JSON pointer) and why."""

    status = 400

    def __init__(self, problems: list[FieldError]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p['field'] or '(body)'}: {p['reason']}" for p in problems))


class RequestTooLargeError(RequestValidationError):
    """The body is over MAX_BODY_BYTES; refused unread (HTTP 413)."""

    status = 413


class RequestDict(TypedDict):
    """`DataRequest.to_dict()`: normalized, JSON-native, the API's camelCase keys."""

    requestId: str
    operation: str
    resource: str
    projects: list[str] | None
    categories: list[str]
    dryRun: bool
    confirm: str | None
    predictionsOlderThanDays: NotRequired[int]  # present only when given, so older requests keep their fingerprint
    resources: NotRequired[list[str]]  # subject requests: the aliases searched
    subject: NotRequired[dict[str, Any]]  # subject requests: the selector (`Subject.to_dict()`); never in history


@dataclass(frozen=True, kw_only=True)
class DataRequest:
    """A validated request: projects lower-case and sorted, categories in canonical order."""

    operation: Operation
    resource: str
    request_id: str
    projects: tuple[str, ...] | None = None  # None: every project of the resource
    categories: tuple[Category, ...] = ALL_CATEGORIES
    dry_run: bool = False
    confirm: str | None = None
    predictions_older_than_days: int | None = None  # delete: only predictions older than this many days
    resources: tuple[str, ...] | None = None  # subject requests: the aliases searched (resource: the one, or "*")
    subject: Subject | None = None  # one data subject's images (and predictions) instead of whole categories

    def to_dict(self) -> RequestDict:
        """The normalized request as the orchestration input carries it."""
        data = RequestDict(
            requestId=self.request_id,
            operation=str(self.operation),
            resource=self.resource,
            projects=list(self.projects) if self.projects is not None else None,
            categories=[str(c) for c in self.categories],
            dryRun=self.dry_run,
            confirm=self.confirm,
        )
        if self.predictions_older_than_days is not None:
            data["predictionsOlderThanDays"] = self.predictions_older_than_days
        if self.subject is not None:
            data["resources"] = list(self.resources or ())
            data["subject"] = self.subject.to_dict()
        return data

    def fingerprint(self) -> str:
        """sha256 of the canonical normalized body: equal for requests that mean the same thing."""
        return fingerprint(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataRequest:
        """Read back `to_dict()` output (trusted: e.g. an orchestration input); not a validator."""
        projects = data.get("projects")
        subject = data.get("subject")
        return cls(
            resources=tuple(data["resources"]) if subject else None,
            subject=Subject.from_dict(subject) if subject else None,
            operation=Operation(data["operation"]),
            resource=str(data["resource"]),
            request_id=str(data["requestId"]),
            projects=tuple(projects) if projects is not None else None,
            categories=tuple(Category(c) for c in data.get("categories") or ALL_CATEGORIES),
            dry_run=bool(data.get("dryRun", False)),
            confirm=data.get("confirm"),
            predictions_older_than_days=data.get("predictionsOlderThanDays"),
        )


def fingerprint(request: Mapping[str, Any]) -> str:
    """sha256 hex of `request` as canonical JSON (sorted keys, no whitespace, ASCII)."""
    return hashlib.sha256(sorted_json(request, ascii_only=True)).hexdigest()


def new_request_id() -> str:
    """A fresh random request id (a UUID4, which fits the requestId pattern)."""
    return str(uuid.uuid4())


def is_request_id(value: object) -> bool:
    """True for 1-64 characters of [A-Za-z0-9_-]: safe as an instance id and a blob prefix."""
    return isinstance(value, str) and REQUEST_ID.fullmatch(value) is not None


def request_id_from_message(message_id: str) -> str:
    """A queue message id as a request id: itself when valid, else a stable id derived from it."""
    if is_request_id(message_id):
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"msg-{digest[:40]}"


def parse_request(
    body: bytes,
    *,
    settings: Settings,
    message_id: str | None = None,
    new_id: Callable[[], str],
) -> DataRequest:
    """Validate a request body; raise RequestValidationError listing every problem, or return the request.

    The request id is the body's `requestId`, else `message_id` (Service Bus; made valid
    deterministically when it is not), else `new_id()`.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestTooLargeError(
            [_problem("", f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes")]
        )
    document = _decode(body)
    problems = _schema_problems(document)
    if isinstance(document, dict):
        problems += _rule_problems(document, settings)
    problems = _unique(problems)
    if problems:
        if len(problems) > MAX_PROBLEMS:
            hidden = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], _problem("", f"{hidden} more problems not shown")]
        raise RequestValidationError(problems)
    return _build(document, settings, message_id=message_id, new_id=new_id)


# --- decoding ---------------------------------------------------------------------------------------


class _BadJson(ValueError):
    """Raised from json hooks: the body is JSON we refuse (duplicate keys, NaN, Infinity)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _decode(body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")  # a byte order mark is tolerated (RFC 8259 §8.1)
    except UnicodeDecodeError as exc:
        reason = f"the body is not UTF-8 (bad byte at offset {exc.start})"
        raise RequestValidationError([_problem("", reason)]) from None
    if not text.strip():
        raise RequestValidationError([_problem("", "the body is empty; send a JSON object")])
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)
    except _BadJson as exc:
        raise RequestValidationError([_problem(exc.field, str(exc))]) from None
    except json.JSONDecodeError as exc:
        reason = f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise RequestValidationError([_problem("", reason)]) from None
    except (ValueError, RecursionError):  # e.g. integers over 4300 digits, nesting past the parser's limit
        raise RequestValidationError([_problem("", "the body is not valid JSON we accept")]) from None
    if _depth(document) > MAX_DEPTH:
        raise RequestValidationError([_problem("", f"the body is nested more than {MAX_DEPTH} levels deep")])
    duplicate = _first_duplicate(document)
    if duplicate is not None:
        raise RequestValidationError([_problem(duplicate, "duplicate key")])
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
            return _pointer([*path, value.duplicate])
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


# --- structure: the JSON Schema ---------------------------------------------------------------------


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
            yield ValidationError(_duplicate(first[key]), path=[index])
        else:
            first[key] = index


_Validator = validators.extend(Draft202012Validator, {"uniqueItems": _unique_items})
_VALIDATOR = _Validator(REQUEST_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

_TYPE_NAMES = {
    "object": "a JSON object",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
_FORMAT_REASONS = {
    "projects": "must be a project id (a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e)",
    "requestId": "may only hold letters, digits, '_' and '-' (1-64 characters)",
    "subject": "must be an image id (a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e)",
}


def _schema_problems(document: Any) -> list[FieldError]:
    problems: list[FieldError] = []
    for error in _VALIDATOR.iter_errors(document):
        problems.extend(_describe(error))
    return problems


def _describe(error: ValidationError) -> list[FieldError]:
    path = list(error.absolute_path)
    field = _pointer(path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "additionalProperties":
        allowed = tuple(error.schema.get("properties") or ())
        return [_problem(_pointer([*path, name]), _unknown(name, allowed)) for name in instance if name not in allowed]
    if keyword in ("minProperties", "maxProperties"):
        return [_problem(field, _PROPERTY_COUNTS.get((str(path[0]) if path else "", keyword), error.message))]
    if keyword == "required":
        missing = [name for name in expected if name not in instance]
        return [_problem(_pointer([*path, name]), _required(name)) for name in missing]
    if keyword == "type":
        kinds = " or ".join(_TYPE_NAMES.get(k, k) for k in (expected if isinstance(expected, list) else [expected]))
        return [_problem(field, f"must be {kinds}, not {_json_type(instance)}")]
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in expected)
        return [_problem(field, f"{_show(instance)} is not one of: {allowed}")]
    if keyword == "uniqueItems":
        return [_problem(field, error.message)]
    if keyword == "minItems":
        empty = "must not be empty" + ("" if path and path[0] == "subject" else " (leave the field out to mean all)")
        return [_problem(field, empty)]
    if keyword == "maxItems":
        return [_problem(field, f"must hold at most {expected} items, not {len(instance)}")]
    if keyword == "minLength":
        return [_problem(field, "must not be empty")]
    if keyword == "maxLength":
        return [_problem(field, f"must be at most {expected} characters")]
    if keyword == "minimum":
        return [_problem(field, f"must be at least {expected}")]
    if keyword == "maximum":
        return [_problem(field, f"must be at most {expected}")]
    if keyword in ("pattern", "format"):
        return [_problem(field, _FORMAT_REASONS.get(str(path[0]) if path else "", error.message))]
    return [_problem(field, error.message)]


def _unknown(name: str, allowed: tuple[str, ...] = _FIELDS) -> str:
    lowered = {f.lower(): f for f in allowed}
    hint = lowered.get(name.lower().replace("_", "").replace("-", ""))
    return f"unknown field; did you mean {hint!r}?" if hint else f"unknown field (allowed: {', '.join(allowed)})"


_PROPERTY_COUNTS = {
    ("subject", "minProperties"): "must hold metadata or imageIds",
    ("subject", "maxProperties"): "must hold exactly one of metadata or imageIds",
    ("predictions", "minProperties"): "must hold application, from or to",
}


def _required(name: str) -> str:
    if name == "operation":
        return "is required: export or delete"
    return "is required"


# --- meaning: rules across fields -------------------------------------------------------------------


def _rule_problems(document: dict[str, Any], settings: Settings) -> list[FieldError]:
    if request_subject.is_subject_request(document):
        return _common_problems(document) + request_subject.subject_problems(document, settings)
    problems = _common_problems(document) + request_subject.unrelated_problems(document)
    resource = document.get("resource", DEFAULT_RESOURCE)
    if isinstance(resource, str) and resource not in settings.resources:
        known = ", ".join(sorted(settings.resources)) or "none"
        given = "" if "resource" in document else "no resource given and "
        reason = f"{given}{resource!r} is not a configured resource (configured: {known})"
        problems.append(_problem("/resource", reason))
    if document.get("operation") == Operation.DELETE:
        problems += _confirm_problems(document, resource)
        problems += _older_than_problems(document)
    return problems


def _common_problems(document: dict[str, Any]) -> list[FieldError]:
    """Rules every request keeps: the request id's form, projects once each, delete-only fields."""
    problems: list[FieldError] = []
    request_id = document.get("requestId")
    if isinstance(request_id, str) and not is_request_id(request_id):
        problems.append(_problem("/requestId", _FORMAT_REASONS["requestId"]))
    for name in ("projects", "subject"):
        items = document.get(name)
        items = items.get("imageIds") if name == "subject" and isinstance(items, dict) else items
        if isinstance(items, list):
            problems += _case_insensitive_duplicates(items, f"/{name}" + ("/imageIds" if name == "subject" else ""))
    if document.get("operation") == Operation.EXPORT:
        delete_only = [name for name in ("dryRun", "confirm", _OLDER_THAN) if name in document]
        problems += [_problem(f"/{name}", "only allowed when operation is delete") for name in delete_only]
    return problems


_OLDER_THAN = "predictionsOlderThanDays"


def _older_than_problems(document: dict[str, Any]) -> list[FieldError]:
    """The predictions age filter: a whole number of days, and only where predictions are deleted."""
    if _OLDER_THAN not in document:
        return []
    value = document[_OLDER_THAN]
    if isinstance(value, float):  # the schema's "integer" admits 30.0; the API's types are exact
        return [_problem(f"/{_OLDER_THAN}", "must be an integer, not a number")]
    categories = document.get("categories")
    if isinstance(categories, list) and Category.PREDICTIONS not in categories:
        return [_problem(f"/{_OLDER_THAN}", "only allowed when categories include predictions")]
    return []


def _case_insensitive_duplicates(ids: list[Any], where: str) -> list[FieldError]:
    first: dict[str, int] = {}
    problems: list[FieldError] = []
    for index, item in enumerate(ids):
        if not isinstance(item, str):
            continue
        key = item.lower()
        if key in first:
            problems.append(_problem(f"{where}/{index}", _duplicate(first[key])))
        else:
            first[key] = index
    return problems


def _confirm_problems(document: dict[str, Any], resource: object) -> list[FieldError]:
    if "confirm" not in document:
        if document.get("dryRun", False) is True:
            return []
        reason = f"is required for delete unless dryRun is true: repeat the resource alias {resource!r}"
        return [_problem("/confirm", reason)]
    confirm = document["confirm"]
    if isinstance(confirm, str) and isinstance(resource, str) and confirm != resource:
        return [_problem("/confirm", f"must equal the resource alias {resource!r} exactly")]
    return []


# --- the model --------------------------------------------------------------------------------------


def _build(document: dict[str, Any], settings: Settings, *, message_id: str | None,
           new_id: Callable[[], str]) -> DataRequest:
    projects = document.get("projects")
    given = set(document.get("categories") or ALL_CATEGORIES)
    request = DataRequest(
        operation=Operation(document["operation"]),
        resource=document.get("resource", DEFAULT_RESOURCE),
        request_id=_request_id(document.get("requestId"), message_id, new_id),
        projects=tuple(sorted(str(uuid.UUID(p)) for p in projects)) if projects is not None else None,
        categories=tuple(c for c in ALL_CATEGORIES if c in given),
        dry_run=document.get("dryRun", False),
        confirm=document.get("confirm"),
        predictions_older_than_days=document.get(_OLDER_THAN),
    )
    if not request_subject.is_subject_request(document):
        return request
    resources, subject = request_subject.build(document, settings)
    return replace(request, resource=resources[0] if len(resources) == 1 else request_subject.ALL,
                   resources=resources, subject=subject, categories=request_subject.categories(subject))


def _request_id(given: str | None, message_id: str | None, new_id: Callable[[], str]) -> str:
    if given is not None:
        return given
    if message_id:
        return request_id_from_message(message_id)
    generated = new_id()
    if not is_request_id(generated):
        raise ValueError(f"new_id() returned {generated!r}, which is not a valid request id")
    return generated


# --- helpers ----------------------------------------------------------------------------------------


def _duplicate(first: int) -> str:
    return f"duplicate of item {first}"


def _problem(field: str, reason: str) -> FieldError:
    return FieldError(field=field, reason=reason)


def _pointer(path: list[str | int]) -> str:
    """An RFC 6901 JSON pointer ("" is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("true or false", bool), ("a number", int | float), ("a string", str)):
        if isinstance(value, kind):
            return name
    return "a list" if isinstance(value, list) else "a JSON object"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    result: list[FieldError] = []
    for p in problems:
        if (p["field"], p["reason"]) not in seen:
            seen.add((p["field"], p["reason"]))
            result.append(p)
    return result
