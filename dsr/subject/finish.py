"""The last activity of a subject request: the export's search report, index.html and signed manifest; a dry
run's plan; or a delete's signed receipt. Each returns small values (a path, a bounded excerpt of the model
impact) and clears the request's per-project scratch; the selector blob stays until retention removes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.storage.blob import ContainerClient

from dsr import scratch
from dsr.categories import Operation
from dsr.delete.receipt_store import issue_receipt, receipts_container
from dsr.delete.results import receipt_entry
from dsr.export.manifest import manifest_header, write_manifest
from dsr.layout import DELETE_PLAN, SEARCH_REPORT, manifest_path, plan_path, receipt_path
from dsr.settings import Settings
from dsr.signing import signer_for
from dsr.sink import ExportSink
from dsr.storage import export_container
from dsr.subject import pieces, report

RECEIPT_KIND = "customvision-dsr-subject-delete-receipt"
Payload = dict[str, Any]


@dataclass(frozen=True)
class Finishing:
    """A request's export prefix, scratch area and settings (no Training API: everything is read from blobs)."""

    request_id: str
    sink: ExportSink
    work: ExportSink
    settings: Settings

    @classmethod
    def open(cls, payload: Payload, *, settings: Settings | None = None) -> Finishing:
        settings = settings or Settings.from_env()
        container: ContainerClient = export_container(settings, create=True)
        request_id = payload["requestId"]
        return cls(request_id, ExportSink(container, request_id),
                   scratch.for_request(settings, request_id), settings)

    def entries(self, payload: Payload) -> list[dict[str, Any]]:
        return report.project_entries(self.work, payload["plans"], payload["outcomes"])


def _impact(impact: list[dict[str, Any]], plans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"modelImpact": impact, "modelImpactTotal": len(impact), "missingProjects": report.missing_projects(plans)}


def finish_export(payload: Payload, *, settings: Settings | None = None) -> dict[str, Any]:
    """search.json, then index.html and manifest.json (last, signed); then the scratch is cleared."""
    at = Finishing.open(payload, settings=settings)
    summary = payload["subject"].get("summary") or {}
    document = report.search_report(at.request_id, summary, payload["plans"], at.entries(payload),
                                    payload["completedAt"])
    at.sink.write_json(SEARCH_REPORT, document)
    header = manifest_header(request_id=at.request_id, resource=payload["resource"], started_at=payload["startedAt"],
                             completed_at=payload["completedAt"], categories=payload["summary"])
    written = write_manifest(at.sink, header, signer=signer_for(at.settings),
                             extra_html=report.index_section(document))
    pieces.clear(at.work)
    return {"status": "complete", "path": manifest_path(at.request_id), "files": written["files"],
            **_impact(document["modelImpact"], payload["plans"])}


def finish_plan(payload: Payload, *, settings: Settings | None = None) -> dict[str, Any]:
    """A dry run's `{requestId}/delete-plan.json`."""
    at = Finishing.open(payload, settings=settings)
    document = report.plan_document(at.request_id, payload["subject"].get("summary") or {}, payload["plans"],
                                    at.entries(payload))
    at.sink.write_json(DELETE_PLAN, document)
    pieces.clear(at.work)
    return {"status": "complete", "path": plan_path(at.request_id), **_impact(document["modelImpact"],
                                                                              payload["plans"])}


def finish_delete(payload: Payload, *, settings: Settings | None = None) -> dict[str, Any]:
    """The receipt, signed (ES256) and stored once (`receipts/{requestId}.json`, next to its HTML summary)."""
    at = Finishing.open(payload, settings=settings)
    document = receipt_document(payload, at.entries(payload))
    signed = issue_receipt(receipts_container(at.settings), document, signer_for(at.settings))
    pieces.clear(at.work)
    return {"status": "complete", "path": receipt_path(at.request_id), "clean": signed["verification"]["clean"],
            **_impact(document["modelImpact"], payload["plans"])}


def receipt_document(payload: Payload, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The unsigned receipt: per category and per resource and project before/after, the model impact, and the
    verification; the selector only as its kind and key names."""
    categories = list(payload["categories"])
    projects = report.receipt_projects(entries, categories)
    impact = report.model_impact(entries)
    results = {c: dict(receipt_entry(payload["summary"][c])) for c in categories}
    remaining = {c: r["after"] for c, r in results.items() if r["after"] is not None}
    clean = all(p["clean"] for p in projects) and not any(remaining.values())
    return {
        "schemaVersion": 1, "kind": RECEIPT_KIND, "requestId": payload["requestId"],
        "resource": payload["resource"], "resources": list(payload["resources"]), "operation": str(Operation.DELETE),
        "subject": dict(payload["subject"].get("summary") or {}), "categories": categories,
        "startedAt": payload["startedAt"], "completedAt": payload["completedAt"],
        "results": results, "projects": projects, "missingProjects": report.missing_projects(payload["plans"]),
        "resourcesNotSearched": [p["resource"] for p in payload["plans"] if p.get("error")],
        "modelImpact": impact,
        "verification": {"clean": clean and not any(p.get("error") for p in payload["plans"]),
                         "checkedAt": payload["completedAt"], "remaining": remaining,
                         "notes": report.notes(entries, impact)},
    }
