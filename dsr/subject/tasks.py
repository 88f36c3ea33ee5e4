"""One function per subject activity that works on one project: `(job, payload) -> result` (small: counts)."""

from __future__ import annotations

from typing import Any

from dsr import layout
from dsr.cancellation import DeleteCancelled, GuardedClient, guard
from dsr.envelope import complete, failed
from dsr.export.listing import ImageListing
from dsr.job import Job
from dsr.subject import erase as erasing
from dsr.subject import pieces, search
from dsr.subject.finish import finish_delete, finish_export, finish_plan
from dsr.subject.listing import listing_for
from dsr.subject.selector import Subject
from dsr.subject.store import BlobSelectors

Payload = dict[str, Any]
__all__ = ["erase", "find", "finish_delete", "finish_export", "finish_plan", "holders", "load", "verify"]


def load(job: Job, payload: Payload) -> tuple[Subject, ImageListing]:
    """The request's selector (from its blob, checked against the reference) and its listing in this resource."""
    subject = BlobSelectors(container=job.sink.container).load(job.request_id, payload["subject"])
    return subject, listing_for(subject, job.alias)


def find(job: Job, payload: Payload) -> dict[str, Any]:
    """Search the project; the finding goes to the scratch area, the result holds counts only."""
    subject, listing = load(job, payload)
    finding = search.find(job.client, str(job.project_id), subject, listing)
    pieces.write_piece(job.work, job.alias, str(job.project_id), pieces.FINDING, finding)
    return {**complete(finding["images"]), "exists": finding["exists"], "images": finding["images"],
            "copies": erasing.copies(finding), "impacted": len(finding["modelImpact"]),
            "predictions": finding["predictions"], "steps": erasing.steps_for(subject)}


def erase(job: Job, payload: Payload) -> dict[str, Any]:
    """One bounded call of one step; every destructive call checks the request's cancellation marker first."""
    subject, listing = load(job, payload)
    client: Any = GuardedClient(job.client, guard(job.sink.container, job.request_id))
    try:
        result = erasing.erase_step(client, str(job.project_id), payload["step"], subject, listing)
    except DeleteCancelled as exc:
        return {**failed(exc.code, "the request was cancelled; no further deletes were made"),
                "step": payload["step"], "deleted": 0, "calls": 0, "done": False}
    return {**complete(result["deleted"]), **result}


def verify(job: Job, payload: Payload) -> dict[str, Any]:
    """Search again after deleting; what is left goes to the scratch area too."""
    subject, listing = load(job, payload)
    remaining = erasing.verify(job.client, str(job.project_id), subject, listing)
    pieces.write_piece(job.work, job.alias, str(job.project_id), pieces.REMAINING, remaining)
    return {**complete(1), "images": remaining["images"], "predictions": remaining["predictions"],
            "clean": remaining["clean"]}


def holders(job: Job, payload: Payload) -> dict[str, Any]:
    """The project that holds the subject's images (project.json) and the tags on them (tags.json)."""
    _, listing = load(job, payload)
    project_id = str(job.project_id)
    names: dict[str, str | None] = {}
    for line in job.sink.read_lines(listing.path(layout.project_file(project_id, layout.IMAGES_JSONL))):
        for applied in [*(line.get("tags") or []), *(line.get("regions") or [])]:
            names.setdefault(applied["tagId"], applied.get("tagName"))
    project = job.client.get_project(project_id)
    job.sink.write_json(listing.path(layout.project_file(project_id, layout.PROJECT_JSON)), project)
    # imageCount counts every image of the project with the tag: other people's, not the subject's
    workspace = {tag["id"]: {k: v for k, v in tag.items() if k != "imageCount"}
                 for tag in job.client.list_tags(project_id)}
    tags = [workspace.get(tag_id) or {"id": tag_id, "name": name, "inWorkspace": False}
            for tag_id, name in sorted(names.items())]
    job.sink.write_json(listing.path(layout.project_file(project_id, layout.TAGS_JSON)), tags)
    return dict(complete(len(tags)))
