"""A delete receipt's content (DESIGN.md §5): request metadata, per-category before/after counts, timestamps and
the verification result; never names, image ids, keys or service messages (which can quote ids).

Signed by dsr/delete/receipt_signature.py, stored once by dsr/delete/receipt_store.py, checked by anyone with
`python -m dsr.receipt` (dsr/receipt.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from dsr.categories import Operation
from dsr.delete.plan import ProjectPlan, category_counts
from dsr.delete.receipt_signature import Signature
from dsr.delete.results import category_outcome, receipt_entry, sum_counts
from dsr.delete.verify import Verification

SCHEMA_VERSION = 1
KIND = "customvision-dsr-delete-receipt"


class CategoryEntry(TypedDict):
    """One category across the request's projects; `before`/`after` are None where nothing is countable."""

    status: str
    before: int | None
    after: int | None
    errorCode: str | None
    reason: NotRequired[str]  # our own explanation of a skipped category (never a service message)


class ProjectEntry(TypedDict):
    projectId: str
    before: dict[str, int | None]
    after: dict[str, int | None]
    clean: bool


class Receipt(TypedDict):
    """The receipt document; `signature` is added by `sign`."""

    schemaVersion: int
    kind: str
    requestId: str
    resource: str
    operation: str
    categories: list[str]
    olderThan: str | None  # predictions cutoff, when the request limited them by age
    startedAt: str
    completedAt: str
    results: dict[str, CategoryEntry]
    projects: list[ProjectEntry]
    missingProjects: list[str]
    verification: dict[str, Any]  # {"clean", "checkedAt", "remaining": {category: n}, "notes": [str]}
    signature: NotRequired[Signature]


def build_receipt(
    *,
    request_id: str,
    resource: str,
    categories: Sequence[str],
    started_at: str,
    completed_at: str,
    plans: Sequence[ProjectPlan],
    verifications: Sequence[Verification],
    results: Mapping[str, Mapping[str, Any]] | None = None,
    missing_projects: Sequence[str] = (),
    older_than: str | None = None,
    verified_at: str | None = None,
) -> Receipt:
    """The unsigned receipt from the plans (before), verifications (after) and per-category results.

    `results` maps a category to its merged envelope (`{"status", "error": {"code", "message"}}`); a
    category without one is complete when verification found it empty. A category with anything left
    is failed with `VerificationFoundRemaining`, whatever its steps reported.
    """
    categories = [str(c) for c in categories]
    after_by_project = {v["projectId"]: v for v in verifications}
    projects: list[ProjectEntry] = []
    for plan in plans:
        check = after_by_project.get(plan["projectId"])
        after = dict(check["remaining"]) if check else dict.fromkeys(category_counts(plan, categories))
        projects.append(ProjectEntry(projectId=plan["projectId"], before=category_counts(plan, categories),
                                     after=after, clean=bool(check and check["clean"])))
    entries = {c: _entry(c, projects, (results or {}).get(c)) for c in categories}
    remaining = {c: e["after"] for c, e in entries.items() if e["after"] is not None}
    notes = [f"{v['projectId']}: {note}" for v in verifications for note in v["notes"]]
    return Receipt(
        schemaVersion=SCHEMA_VERSION,
        kind=KIND,
        requestId=request_id,
        resource=resource,
        operation=str(Operation.DELETE),
        categories=categories,
        olderThan=older_than,
        startedAt=started_at,
        completedAt=completed_at,
        results=entries,
        projects=projects,
        missingProjects=list(missing_projects),
        verification={
            "clean": all(p["clean"] for p in projects) and not any(remaining.values()),
            "checkedAt": verified_at or completed_at,
            "remaining": remaining,
            "notes": notes,
        },
    )


def _entry(category: str, projects: list[ProjectEntry], result: Mapping[str, Any] | None) -> CategoryEntry:
    """The category's outcome (decided by dsr.delete.results) over the projects' counts."""
    before = sum_counts([p["before"].get(category) for p in projects])
    after = sum_counts([p["after"].get(category) for p in projects])
    return CategoryEntry(**receipt_entry(category_outcome(before=before, after=after, result=result)))
