"""One function per export activity: `(job, payload) -> result`, so each activity binding is a one-liner."""

from __future__ import annotations

from typing import Any

from dsr.account import export_account
from dsr.envelope import CategoryResult, complete
from dsr.export import images, predictions, simple
from dsr.job import Job
from dsr.manifest import manifest_header, write_manifest
from dsr.signing import signer_for

Payload = dict[str, Any]


def account(job: Job, payload: Payload) -> CategoryResult:
    return export_account(job.sink, job.resource)


def project(job: Job, payload: Payload) -> CategoryResult:
    return simple.export_project(job.client, job.sink, job.project_id)


def iterations(job: Job, payload: Payload) -> dict[str, CategoryResult]:
    return simple.export_iterations(job.client, job.sink, job.project_id, performance=payload["performance"])


def tags(job: Job, payload: Payload) -> CategoryResult:
    return simple.export_tags(job.client, job.sink, job.project_id)


def exported_models(job: Job, payload: Payload) -> CategoryResult:
    return simple.export_models(job.client, job.sink, job.copier, job.project_id)


def plan_images(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "sets": [ImageSet]}` for the workspace and every trained iteration."""
    sets = images.plan_image_sets(job.client, job.project_id)
    return {**complete(sum(s["count"] for s in sets)), "sets": sets}


def image_chunk(job: Job, payload: Payload) -> CategoryResult:
    image_set, chunk = payload["set"], payload["chunk"]
    return complete(images.export_image_chunk(job.client, job.copier, job.work, job.project_id, image_set, chunk))


def finalize_images(job: Job, payload: Payload) -> CategoryResult:
    return images.finalize_images(job.client, job.sink, job.work, job.project_id, payload["sets"])


def prediction_chunk(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "token"}`; the orchestrator calls again while `token` is not None."""
    chunk = predictions.export_prediction_chunk(
        job.client, job.copier, job.work, job.project_id, payload["chunk"], payload.get("token")
    )
    return {**complete(chunk["count"]), "token": chunk["token"]}


def finalize_predictions(job: Job, payload: Payload) -> CategoryResult:
    return predictions.finalize_predictions(job.sink, job.work, job.project_id, payload["chunks"])


def manifest(job: Job, payload: Payload) -> dict[str, Any]:
    """index.html, then the signed manifest.json (last), then the scratch area is removed."""
    header = manifest_header(
        request_id=job.request_id,
        resource=job.alias,
        started_at=payload["startedAt"],
        completed_at=payload["completedAt"],
        categories=payload["categories"],
    )
    written = write_manifest(job.sink, header, signer=signer_for(job.settings))
    job.work.delete_all()
    return written
