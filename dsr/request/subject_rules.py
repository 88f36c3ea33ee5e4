"""The rules of a subject request (DESIGN.md §3) across fields, beyond what the JSON Schema can say.

A subject request names one person (`subject`), searches the resources in `resources` (a list of aliases, or
"*"; every configured resource when absent), and may add their stored predictions (`predictions`). Because it
deletes across resources, its `confirm` repeats the one alias it targets, or "*" when it targets several or all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from customvision import is_filter_key
from dsr.categories import Category
from dsr.problems import FieldError
from dsr.settings import Settings
from dsr.subject.selector import Subject
from dsr.times import parse_instant

ALL = "*"
SUBJECT_ONLY = ("resources", "predictions")  # fields that only mean something beside `subject`
NOT_WITH_SUBJECT = {
    "categories": "not allowed with subject: a subject request covers the subject's images (and predictions)",
    "predictionsOlderThanDays": "not allowed with subject: select predictions with predictions.from/to",
}


def is_subject_request(document: Mapping[str, Any]) -> bool:
    return "subject" in document


def targets(document: Mapping[str, Any], settings: Settings) -> list[str]:
    """The aliases a (valid) subject request searches, in configuration order."""
    resources = document.get("resources", document.get("resource", ALL))
    if resources == ALL:
        return list(settings.resources)
    chosen = [resources] if isinstance(resources, str) else resources if isinstance(resources, list) else []
    return [alias for alias in settings.resources if alias in chosen]


def subject_problems(document: Mapping[str, Any], settings: Settings) -> list[FieldError]:
    """Every cross-field problem of a subject request (the schema has checked the shapes)."""
    problems = _metadata_problems(document.get("subject")) + _predictions_problems(document.get("predictions"))
    problems += [FieldError(field=f"/{name}", reason=why) for name, why in NOT_WITH_SUBJECT.items() if name in document]
    problems += _resources_problems(document, settings)
    if problems:
        return problems
    chosen = targets(document, settings)
    if "projects" in document and len(chosen) != 1:
        problems.append(FieldError(field="/projects", reason=f"only with one resource; this request targets "
                                   f"{len(chosen)}: name it in resources"))
    if document.get("operation") == "delete":
        problems += _confirm_problems(document, chosen)
    return problems


def unrelated_problems(document: Mapping[str, Any]) -> list[FieldError]:
    """`resources` or `predictions` without a subject."""
    return [FieldError(field=f"/{name}", reason="only allowed with subject") for name in SUBJECT_ONLY
            if name in document]


def _metadata_problems(subject: Any) -> list[FieldError]:
    metadata = subject.get("metadata") if isinstance(subject, dict) else None
    if not isinstance(metadata, dict):
        return []
    return [FieldError(field=f"/subject/metadata/{_escape(key)}",
                       reason="not usable as a filter key: a letter or '_' first, then letters, digits or '_' "
                              "(at most 100), and not an OData keyword such as eq, and, or, not")
            for key in metadata if not is_filter_key(key)]


def _predictions_problems(predictions: Any) -> list[FieldError]:
    if not isinstance(predictions, dict):
        return []
    problems: list[FieldError] = []
    moments = {}
    for name in ("from", "to"):
        value = predictions.get(name)
        if isinstance(value, str):
            try:
                moments[name] = parse_instant(value)
            except ValueError:
                problems.append(FieldError(field=f"/predictions/{name}",
                                           reason="must be an ISO-8601 date-time with a zone, "
                                                  "e.g. 2026-03-01T00:00:00Z"))
    if "application" not in predictions and not ("from" in predictions and "to" in predictions):
        problems.append(FieldError(field="/predictions", reason="give application, or both from and to: every "
                                   "stored prediction of a resource is not one person's"))
    if len(moments) == 2 and moments["from"] > moments["to"]:
        problems.append(FieldError(field="/predictions/to", reason="must not be before from"))
    return problems


def _resources_problems(document: Mapping[str, Any], settings: Settings) -> list[FieldError]:
    if "resource" in document and "resources" in document:
        return [FieldError(field="/resource", reason="give resources (a subject request may span several), "
                                                     "not both")]
    if "resource" in document:
        return _aliases_problems([document["resource"]], settings, "/resource")
    resources = document.get("resources", ALL)
    if isinstance(resources, str):
        if resources != ALL:
            return [FieldError(field="/resources", reason='must be a list of aliases, or "*" for every resource')]
        return [] if settings.resources else [FieldError(field="/resources", reason="no resource is configured")]
    return _aliases_problems(resources, settings, "/resources") if isinstance(resources, list) else []


def _aliases_problems(aliases: list[Any], settings: Settings, where: str) -> list[FieldError]:
    known = ", ".join(sorted(settings.resources)) or "none"
    return [FieldError(field=where if where == "/resource" else f"{where}/{n}",
                       reason=f"{alias!r} is not a configured resource (configured: {known})")
            for n, alias in enumerate(aliases) if isinstance(alias, str) and alias not in settings.resources]


def _confirm_problems(document: Mapping[str, Any], chosen: list[str]) -> list[FieldError]:
    """The one alias targeted, or "*" for several or all (and, for all when there is only one, either)."""
    everything = document.get("resources", document.get("resource", ALL)) == ALL
    allowed = ([ALL] if everything or len(chosen) > 1 else []) + (chosen if len(chosen) == 1 else [])
    if "confirm" not in document:
        if document.get("dryRun", False) is True:
            return []
        return [FieldError(field="/confirm", reason=f"is required for delete unless dryRun is true: "
                                                    f"{_either(allowed)}")]
    if isinstance(document["confirm"], str) and document["confirm"] not in allowed:
        return [FieldError(field="/confirm", reason=f"must be {_either(allowed)} exactly")]
    return []


def _either(allowed: list[str]) -> str:
    shown = {ALL: '"*" (this request targets several or all resources)'}
    return " or ".join(shown.get(a, f"the resource alias {a!r}") for a in allowed)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def build(document: Mapping[str, Any], settings: Settings) -> tuple[tuple[str, ...], Subject]:
    """(the aliases searched, the normalized selector) of a valid subject request."""
    subject = dict(document["subject"])
    if "predictions" in document:
        subject["predictions"] = document["predictions"]
    return tuple(targets(document, settings)), Subject.from_dict(subject)


def categories(subject: Subject) -> tuple[Category, ...]:
    """What a subject request reports on: its images, and its stored predictions when selected."""
    return (Category.IMAGES, Category.PREDICTIONS) if subject.predictions else (Category.IMAGES,)
