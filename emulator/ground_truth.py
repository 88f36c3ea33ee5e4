"""Ground truth for tests (`GET /_emulator/state`): every project's images (workspace or iteration-only) with
hashes, and the rest. The store (emulator/store.py) holds the data; this module only describes it."""

from __future__ import annotations

from typing import Any

from emulator.model import Image, Iteration, Project, StoredBlob, iso
from emulator.realism import Realism
from emulator.store import Store


def _blob(blob: StoredBlob) -> dict[str, Any]:
    return {"size": blob.size, "sha256": blob.sha256, "contentType": blob.content_type}


def _image(image_id: str, image: Image, project: Project, holders: list[str], realism: Realism) -> dict[str, Any]:
    """An image's `sha256`, `size`, `width` and `height` are its original's (what an export must hold);
    `resizedWidth`/`resizedHeight` are what listings report; `uriForm` says how listings give its URIs."""
    return {
        "id": image_id,
        **_blob(image.original),
        "width": image.original_size[0],
        "height": image.original_size[1],
        "resizedWidth": image.width,
        "resizedHeight": image.height,
        "uriForm": realism.uri_form(image_id).value,
        "created": iso(image.created),
        "inWorkspace": image_id in project.images,
        "iterations": holders,
        "tagIds": sorted(image.tag_ids()),
        "regionCount": len(image.regions),
        "regions": [
            {"id": r.id, "tagId": r.tag_id, "left": r.left, "top": r.top, "width": r.width, "height": r.height}
            for r in image.regions
        ],
        "metadata": dict(image.metadata),
    }


def _images(project: Project, iterations: list[Iteration], realism: Realism) -> list[dict[str, Any]]:
    """Every image once, in the workspace or only in trained iterations, with the iterations holding it."""
    holders: dict[str, list[str]] = {}
    copies = {}
    for iteration in iterations:
        for image_id, image in iteration.images.items():
            holders.setdefault(image_id, []).append(iteration.id)
            copies.setdefault(image_id, image)
    copies.update(project.images)
    return [_image(image_id, copies[image_id], project, holders.get(image_id, []), realism)
            for image_id in sorted(copies)]


def _iteration(it: Iteration) -> dict[str, Any]:
    return {
        "id": it.id,
        "name": it.name,
        "status": it.status,
        "publishName": it.publish_name,
        "published": it.published,
        "imageIds": sorted(it.images),
        "tagIds": sorted(it.tags),
        "exports": [
            {"platform": e.platform, "flavor": e.flavor, "status": e.status, **(_blob(e.blob) if e.blob else {})}
            for e in it.exports
        ],
    }


def project_state(project: Project, realism: Realism | None = None) -> dict[str, Any]:
    """One project: images with where they live, iterations, tags, stored predictions."""
    iterations = sorted(project.iterations.values(), key=lambda i: (i.created, i.id))
    return {
        "id": project.id,
        "name": project.name,
        "type": project.kind.value,
        "images": _images(project, iterations, realism or Realism.off()),
        "workspaceImageCount": len(project.images),
        "pendingDeletes": project.pending_deletes,
        "iterations": [_iteration(it) for it in iterations],
        "tags": [
            {"id": t.id, "name": t.name, "type": t.type}
            for t in sorted(project.tags.values(), key=lambda t: (t.created, t.id))
        ],
        "predictions": [
            {"id": p.id, "iterationId": p.iteration_id, "created": iso(p.created), "application": p.application,
             **_blob(p.original)}
            for p in sorted(project.predictions.values(), key=lambda p: (p.created, p.id))
        ],
    }


def ground_truth(store: Store, seed: str, realism: Realism | None = None) -> dict[str, Any]:
    """The whole store: `{"seed", "projects": [...]}`."""
    projects = sorted(store.projects.values(), key=lambda p: (p.created, p.id))
    return {"seed": seed, "projects": [project_state(p, realism) for p in projects]}
