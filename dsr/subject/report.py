"""What a subject request tells a person and an auditor: every resource and project searched, where the subject's
data was found and where not, and which trained models learned from it. Built from the per-project findings
in the scratch area; counts and ids of projects and iterations, never a metadata value or an image id.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from dsr import layout
from dsr.sink import ExportSink
from dsr.subject import pieces

RETRAIN = ("these models were trained on images now deleted and still carry what they learned from them: "
           "retrain without the images (then publish the new iteration and delete or unpublish these)")


def project_entries(work: ExportSink, plans: Sequence[Mapping[str, Any]],
                    outcomes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per project searched: its finding, what verification left, and its errors (codes)."""
    by_key = {(o["resource"], o["projectId"]): o for o in outcomes}
    entries = []
    for plan in plans:
        for project_id in plan["projects"]:
            outcome = by_key.get((plan["resource"], project_id), {})
            finding = pieces.read_piece(work, plan["resource"], project_id, pieces.FINDING)
            entries.append({
                "resource": plan["resource"], "projectId": project_id, "finding": finding,
                "remaining": pieces.read_piece(work, plan["resource"], project_id, pieces.REMAINING),
                "errors": [str(e.get("code")) for e in outcome.get("errors") or []],
            })
    return entries


def model_impact(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every iteration trained on at least one of the subject's images, with its resource and project."""
    return [{"resource": e["resource"], "projectId": e["projectId"], **impact}
            for e in entries for impact in (e["finding"] or {}).get("modelImpact") or []]


def missing_projects(plans: Sequence[Mapping[str, Any]]) -> list[str]:
    """Requested project ids a resource does not have, as `alias/projectId`."""
    return [f"{plan['resource']}/{pid}" for plan in plans for pid in plan.get("missing") or []]


def _matches(finding: Mapping[str, Any] | None) -> dict[str, Any]:
    if not finding:
        return {"found": None, "images": None, "workspace": None, "iterations": None, "predictions": None}
    return {"found": bool(finding["images"] or finding.get("predictions")), "images": finding["images"],
            "workspace": finding["workspace"], "iterations": finding["iterations"],
            "predictions": finding.get("predictions")}


def search_report(request_id: str, subject: Mapping[str, Any], plans: Sequence[Mapping[str, Any]],
                  entries: Sequence[Mapping[str, Any]], searched_at: str) -> dict[str, Any]:
    """`search.json` of a subject export: per resource, per project, what was found (or why not searched)."""
    resources = []
    for plan in plans:
        projects = []
        for entry in (e for e in entries if e["resource"] == plan["resource"]):
            matches = _matches(entry["finding"])
            folder = f"{layout.resource_root(plan['resource'])}{layout.project_dir(entry['projectId'])}/"
            projects.append({"projectId": entry["projectId"], **matches,
                             "modelImpact": (entry["finding"] or {}).get("modelImpact") or [],
                             "folder": folder if matches["found"] else None, "errors": entry["errors"]})
        resources.append({"resource": plan["resource"], "searched": plan.get("error") is None,
                          "error": plan.get("error"), "missingProjects": plan.get("missing") or [],
                          "projects": projects})
    return {"requestId": request_id, "subject": dict(subject), "searchedAt": searched_at, "resources": resources,
            "modelImpact": model_impact(entries)}


def index_section(report: Mapping[str, Any]) -> str:
    """The search report as HTML for index.html: every resource and project, found or not."""
    esc = html.escape
    rows = []
    for resource in report["resources"]:
        if not resource["searched"]:
            reason = (resource.get("error") or {}).get("message", "")
            rows.append(f"<tr><td>{esc(resource['resource'])}</td>"
                        f"<td colspan='4'>not searched: {esc(reason)}</td></tr>")
        for project in resource["projects"]:
            rows.append(_index_row(resource["resource"], project))
    return ("<h2>Where this person's data was searched</h2><p>Every project of every resource below was searched "
            "(its workspace and every trained iteration).</p><table border='1' cellpadding='4'><tr><th>resource</th>"
            "<th>project</th><th>images found</th><th>stored predictions</th><th>trained models holding them</th>"
            f"</tr>{''.join(rows)}</table>")


def _index_row(alias: str, project: Mapping[str, Any]) -> str:
    esc = html.escape
    if project["found"] is None:
        found = "not searched (" + esc(", ".join(project["errors"]) or "failed") + ")"
    elif project["folder"]:
        found = f"<a href='{esc(project['folder'])}images.jsonl'>{project['images']}</a>"
    else:
        found = "none found"
    models = ", ".join(f"{esc(str(m.get('name')))}" + (f" (published as {esc(m['publishName'])})"
                                                       if m.get("publishName") else "")
                       for m in project["modelImpact"]) or "-"
    predictions = "-" if project["predictions"] is None else str(project["predictions"])
    return (f"<tr><td>{esc(alias)}</td><td>{esc(project['projectId'])}</td><td>{found}</td>"
            f"<td>{predictions}</td><td>{models}</td></tr>")


def plan_document(request_id: str, subject: Mapping[str, Any], plans: Sequence[Mapping[str, Any]],
                  entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A dry run's `delete-plan.json`: what a delete would remove per project, and the models it concerns."""
    projects = [{"resource": e["resource"], "projectId": e["projectId"], **_matches(e["finding"]),
                 "modelImpact": (e["finding"] or {}).get("modelImpact") or [], "errors": e["errors"]}
                for e in entries]
    return {"requestId": request_id, "operation": "delete", "dryRun": True, "subject": dict(subject),
            "resources": [p["resource"] for p in plans], "projects": projects,
            "modelImpact": model_impact(entries), "missingProjects": missing_projects(plans)}


def _counts(finding: Mapping[str, Any] | None, remaining: Mapping[str, Any] | None,
            categories: Sequence[str]) -> tuple[dict[str, int | None], dict[str, int | None]]:
    before: dict[str, int | None] = {}
    after: dict[str, int | None] = {}
    for category in categories:
        if category == "images":
            before[category] = (finding["workspace"] + sum(finding["iterations"].values())) if finding else None
        else:
            before[category] = finding.get("predictions") if finding else None
        after[category] = remaining.get(category) if remaining else None
    return before, after


def receipt_projects(entries: Sequence[Mapping[str, Any]], categories: Sequence[str]) -> list[dict[str, Any]]:
    """Per resource and project: counts before (the search) and after (verification), and its model impact."""
    projects = []
    for entry in entries:
        before, after = _counts(entry["finding"], entry["remaining"], categories)
        gone = entry["finding"] is not None and not entry["finding"].get("exists", True)
        projects.append({"resource": entry["resource"], "projectId": entry["projectId"], "before": before,
                         "after": after, "clean": gone or bool((entry["remaining"] or {}).get("clean")),
                         "modelImpact": (entry["finding"] or {}).get("modelImpact") or []})
    return projects


def notes(entries: Sequence[Mapping[str, Any]], impact: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why something is left (counts only), and the models that learned from the deleted images."""
    said = [f"{e['resource']}/{e['projectId']}: {note}" for e in entries for note in (e["remaining"] or {}).get(
        "notes") or []]
    said += [f"{e['resource']}/{e['projectId']}: not verified ({', '.join(e['errors'])})" for e in entries
             if e["errors"] and not e["remaining"]]
    if impact:
        said.append(f"{len(impact)} trained iterations held the subject's images: {RETRAIN}")
    return said
