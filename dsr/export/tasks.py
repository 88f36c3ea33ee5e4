"""One function per export activity: `(job, payload) -> result`, so each activity binding is a one-liner."""

from __future__ import annotations

from typing import Any

from dsr import scratch
from dsr.envelope import CategoryResult, complete
from dsr.export import images, manifest_parts, predictions, simple
from dsr.export.account import export_account
from dsr.export.listing import EVERY_IMAGE, ImageListing
from dsr.export.manifest import manifest_header, write_manifest
from dsr.job import Job
from dsr.layout import work_prefix
from dsr.signing import signer_for
from dsr.sink import ExportSink
from dsr.subject import tasks as subject_tasks
from dsr.subject.search import selection

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


def _listing(job: Job, payload: Payload) -> ImageListing:
    """Every image, or (a subject request: `subject` in the payload) only the subject's, under its resource."""
    if not payload.get("subject"):
        return EVERY_IMAGE
    return subject_tasks.load(job, payload)[1]


def plan_images(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "sets": [ImageSet]}` for the workspace and every trained iteration."""
    sets = images.plan_image_sets(job.client, job.project_id, listing=_listing(job, payload))
    return {**complete(sum(s["count"] for s in sets)), "sets": sets}


def image_chunk(job: Job, payload: Payload) -> CategoryResult:
    image_set, chunk = payload["set"], payload["chunk"]
    return complete(images.export_image_chunk(job.client, job.copier, job.work, job.project_id, image_set, chunk,
                                              listing=_listing(job, payload)))


def finalize_images(job: Job, payload: Payload) -> CategoryResult:
    return images.finalize_images(job.client, job.sink, job.work, job.project_id, payload["sets"],
                                  listing=_listing(job, payload))


def _prediction_options(job: Job, payload: Payload) -> dict[str, Any]:
    """A subject's stored predictions (their query, the time check, their resource's folder), or every one."""
    if not payload.get("subject"):
        return {}
    subject, listing = subject_tasks.load(job, payload)
    query, keep = selection(subject)
    return {"query": query, "keep": keep, "root": listing.root}


def prediction_chunk(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "token"}`; the orchestrator calls again while `token` is not None."""
    chunk = predictions.export_prediction_chunk(
        job.client, job.copier, job.work, job.project_id, payload["chunk"], payload.get("token"),
        **_prediction_options(job, payload),
    )
    return {**complete(chunk["count"]), "token": chunk["token"]}


def finalize_predictions(job: Job, payload: Payload) -> CategoryResult:
    root = _prediction_options(job, payload).get("root", "")
    return predictions.finalize_predictions(job.sink, job.work, job.project_id, payload["chunks"], root=root)


def list_manifest_part(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "part", "files", "done"}`: one bounded part of the export's file list; the
    orchestrator calls the next part while `done` is false."""
    listed = manifest_parts.list_part(job.sink, job.work, payload["part"])
    return {**complete(listed["files"]), **listed}


def manifest(job: Job, payload: Payload) -> dict[str, Any]:
    """index.html, then the signed manifest.json (last), from the parts of the file list listed beforehand (`parts`:
    files per part). The scratch area stays for `clear_scratch`: a retry of this activity after its manifest was
    written still finds every part."""
    return write_manifest(job.sink, manifest_header(**job.run_fields(payload)), signer=signer_for(job.settings),
                          files=manifest_parts.read_parts(job.work, payload["parts"]))


def clear_scratch(job: Job, payload: Payload) -> CategoryResult:
    """Remove the request's scratch container and `.work/{requestId}/` once its manifest is written; `count`: the
    blobs removed."""
    return complete(scratch.clear(job.work) + ExportSink(job.sink.container, work_prefix(job.request_id)).delete_all())
