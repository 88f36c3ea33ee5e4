"""What a request means beyond its shape: the rules across fields (a configured resource, `confirm` repeating it,
delete-only fields, ids once each); a subject request's own rules are subject_rules.py."""

from __future__ import annotations

from typing import Any

from dsr.categories import Category, Operation
from dsr.problems import FieldError
from dsr.request import subject_rules
from dsr.request.errors import duplicate_of, field_error
from dsr.request.messages import FORMAT_REASONS
from dsr.request.model import is_request_id
from dsr.settings import DEFAULT_RESOURCE, Settings

OLDER_THAN = "predictionsOlderThanDays"


def rule_problems(document: dict[str, Any], settings: Settings) -> list[FieldError]:
    """Every problem across fields of a body the schema has read (the configured resources, confirm, ...)."""
    if subject_rules.is_subject_request(document):
        return _common_problems(document) + subject_rules.subject_problems(document, settings)
    problems = _common_problems(document) + subject_rules.unrelated_problems(document)
    resource = document.get("resource", DEFAULT_RESOURCE)
    if isinstance(resource, str) and resource not in settings.resources:
        known = ", ".join(sorted(settings.resources)) or "none"
        given = "" if "resource" in document else "no resource given and "
        reason = f"{given}{resource!r} is not a configured resource (configured: {known})"
        problems.append(field_error("/resource", reason))
    if document.get("operation") == Operation.DELETE:
        problems += _confirm_problems(document, resource)
        problems += _older_than_problems(document)
    return problems


def _common_problems(document: dict[str, Any]) -> list[FieldError]:
    """Rules every request keeps: the request id's form, projects once each, delete-only fields."""
    problems: list[FieldError] = []
    request_id = document.get("requestId")
    if isinstance(request_id, str) and not is_request_id(request_id):
        problems.append(field_error("/requestId", FORMAT_REASONS["requestId"]))
    for name in ("projects", "subject"):
        items = document.get(name)
        items = items.get("imageIds") if name == "subject" and isinstance(items, dict) else items
        if isinstance(items, list):
            problems += _case_insensitive_duplicates(items, f"/{name}" + ("/imageIds" if name == "subject" else ""))
    if document.get("operation") == Operation.EXPORT:
        delete_only = [name for name in ("dryRun", "confirm", OLDER_THAN) if name in document]
        problems += [field_error(f"/{name}", "only allowed when operation is delete") for name in delete_only]
    return problems



def _older_than_problems(document: dict[str, Any]) -> list[FieldError]:
    """The predictions age filter: a whole number of days, and only where predictions are deleted."""
    if OLDER_THAN not in document:
        return []
    value = document[OLDER_THAN]
    if isinstance(value, float):  # the schema's "integer" admits 30.0; the API's types are exact
        return [field_error(f"/{OLDER_THAN}", "must be an integer, not a number")]
    categories = document.get("categories")
    if isinstance(categories, list) and Category.PREDICTIONS not in categories:
        return [field_error(f"/{OLDER_THAN}", "only allowed when categories include predictions")]
    return []


def _case_insensitive_duplicates(ids: list[Any], where: str) -> list[FieldError]:
    first: dict[str, int] = {}
    problems: list[FieldError] = []
    for index, item in enumerate(ids):
        if not isinstance(item, str):
            continue
        key = item.lower()
        if key in first:
            problems.append(field_error(f"{where}/{index}", duplicate_of(first[key])))
        else:
            first[key] = index
    return problems


def _confirm_problems(document: dict[str, Any], resource: object) -> list[FieldError]:
    if "confirm" not in document:
        if document.get("dryRun", False) is True:
            return []
        reason = f"is required for delete unless dryRun is true: repeat the resource alias {resource!r}"
        return [field_error("/confirm", reason)]
    confirm = document["confirm"]
    if isinstance(confirm, str) and isinstance(resource, str) and confirm != resource:
        return [field_error("/confirm", f"must equal the resource alias {resource!r} exactly")]
    return []
