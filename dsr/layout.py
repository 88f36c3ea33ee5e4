"""Every path of the export container, in one place (DESIGN.md §4-§5). Three areas, one request id each:

    {requestId}/...             the export (manifest.json last) or a dry run's delete-plan.json
    receipts/{requestId}.json   a delete's signed receipt, kept (never expired), beside its .html summary
    .work/{requestId}/...       the cancel marker, a subject's selector

and a request's scratch (partial listings and parts: `{requestId}/...` in a container of its own, deleted in one
call when done, `scratch_container`). Paths inside the export are relative to `{requestId}/` (an ExportSink's
prefix), paths of scratch parts relative to the scratch container's `{requestId}/`; the functions named `*_path`
give whole blob names.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

RECEIPTS = "receipts"  # the receipts' prefix: never an export, never expired
WORK = ".work"  # the prefix of cancel markers and selectors: deleted with the export
SCRATCH_CONTAINERS = "dsr-work-"  # the start of every scratch container's name

# In the export, `{requestId}/`
MANIFEST = "manifest.json"  # written last: a reader that finds it knows the export is complete
INDEX = "index.html"
DELETE_PLAN = "delete-plan.json"  # a dry run's answer
SEARCH_REPORT = "search.json"  # a subject export: every resource and project searched, and what was found
ACCOUNT = "account/account.json"
PROJECTS = "projects"

# A project's folder, `projects/{projectId}/`
PROJECT_JSON = "project.json"
TAGS_JSON = "tags.json"
IMAGES_JSONL = "images.jsonl"  # one line per image: metadata, tags, regions, the iterations holding it
COCO_JSON = "annotations.coco.json"  # object detection projects
EXPORTED_MODELS_JSON = "exported_models.json"
PREDICTIONS_JSONL = "predictions.jsonl"
BULK_FOLDERS = ("images", "predictions", "exported_models")  # a file per item: index.html counts them

# In `.work/{requestId}/` (CANCEL_MARKER, SELECTOR) and in the scratch container's `{requestId}/` (the others)
CANCEL_MARKER = "cancelled"  # DELETE /api/requests/{id} of a running delete (dsr/cancellation.py)
SELECTOR = "subject.json"  # a subject request's selector, salted (dsr/subject/store.py)
MANIFEST_PARTS = "manifest"  # an export's file list, listed part by part before manifest.json is written


def manifest_path(request_id: str) -> str:
    """The one blob a read-only link is ever signed for."""
    return f"{request_id}/{MANIFEST}"


def plan_path(request_id: str) -> str:
    """A dry run's per-project plan."""
    return f"{request_id}/{DELETE_PLAN}"


def receipt_path(request_id: str, suffix: str = ".json") -> str:
    """`receipts/{requestId}.json`, or its HTML summary with `suffix=".html"`."""
    return f"{RECEIPTS}/{request_id}{suffix}"


def work_prefix(request_id: str) -> str:
    """Where a request's cancel marker and a subject's selector live; outside the export prefix."""
    return f"{WORK}/{request_id}"


def scratch_path(request_id: str, name: str) -> str:
    """A request's cancel marker or a subject's selector, by name."""
    return f"{work_prefix(request_id)}/{name}"


def scratch_container(export_container: str, request_id: str) -> str:
    """The container of a request's scratch parts: named from the export container and the request id (a valid
    container name whatever the id: 3-63 lowercase letters, digits and hyphens)."""
    digest = hashlib.sha256(f"{export_container}/{request_id}".encode()).hexdigest()[:40]
    return f"{SCRATCH_CONTAINERS}{digest}"


def resource_root(alias: str) -> str:
    """`resources/{alias}/`: a subject export's folder of one resource (the project layout inside)."""
    return f"resources/{quote(alias, safe='')}/"


def project_dir(project_id: str) -> str:
    return f"{PROJECTS}/{project_id}"


def project_file(project_id: str, name: str, *, under: str = "") -> str:
    """`projects/{projectId}/{name}`, or `.../{under}/{name}` in one of its folders (iterations, images, ...)."""
    return f"{project_dir(project_id)}/{under}/{name}" if under else f"{project_dir(project_id)}/{name}"


def iteration_json(project_id: str, iteration_id: str, *, performances: bool = False) -> str:
    """`iterations/{iterationId}.json` (details + performance), or its `.image-performances.jsonl`."""
    return project_file(project_id, iteration_id + (".image-performances.jsonl" if performances else ".json"),
                        under="iterations")


def model_stem(project_id: str, iteration_id: str, platform: str, flavor: str | None) -> str:
    """An exported model's file, without the extension its download gives."""
    name = f"{iteration_id}-{platform}" + (f"-{flavor}" if flavor else "")
    return project_file(project_id, name, under="exported_models")


def image_part(project_id: str, set_key: str, chunk: int, *, count: bool = False) -> str:
    """Scratch: one chunk's image records (`.jsonl`), or its `{"count": n}` written after it (`count`)."""
    return f"{project_id}/images/{set_key}/{chunk:06d}" + (".count.json" if count else ".jsonl")


def prediction_part(project_id: str, chunk: int) -> str:
    """Scratch: one page of stored predictions."""
    return f"{project_id}/predictions/{chunk:06d}.jsonl"


def manifest_part(part: int, *, continuation: bool = False) -> str:
    """Scratch: one part of the export's file list (`.jsonl`), or where the next part's listing starts (`.next`)."""
    return f"{MANIFEST_PARTS}/{part:05d}" + (".next" if continuation else ".jsonl")


def subject_piece(alias: str, project_id: str, kind: str) -> str:
    """Scratch: a subject request's per-project finding or verification (`kind`)."""
    return f"{resource_root(alias)}{project_id}/{kind}.json"
