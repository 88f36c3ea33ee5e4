"""The small per-project categories: project, iterations (+ performance), tags, exported models."""

from __future__ import annotations

import functools
from typing import Any

from customvision import TrainingClient
from dsr import layout
from dsr.categories import Category
from dsr.envelope import CategoryResult, complete, failed_from, is_permanent
from dsr.export.copier import Copier
from dsr.redact import without_uris
from dsr.sink import ExportSink

IMAGE_URI_FIELDS = ("originalImageUri", "resizedImageUri", "thumbnailUri", "imageUri")


def export_project(client: TrainingClient, sink: ExportSink, project_id: str) -> CategoryResult:
    """projects/{id}/project.json: the project's settings as the service returns them."""
    project = client.get_project(project_id)
    sink.write_json(layout.project_file(project_id, layout.PROJECT_JSON), project)
    return complete(1)


def export_tags(client: TrainingClient, sink: ExportSink, project_id: str) -> CategoryResult:
    """projects/{id}/tags.json: every tag of the workspace."""
    tags = list(client.list_tags(project_id))
    sink.write_json(layout.project_file(project_id, layout.TAGS_JSON), tags)
    return complete(len(tags))


def export_iterations(
    client: TrainingClient, sink: ExportSink, project_id: str, *, performance: bool
) -> dict[str, CategoryResult]:
    """iterations/{id}.json per iteration: details, and performance (+ per-image performances) when asked."""
    iterations = list(client.list_iterations(project_id))
    measured = 0
    perf_errors: list[CategoryResult] = []
    for iteration in iterations:
        doc: dict[str, Any] = {"iteration": iteration}
        if performance and iteration.get("status") == "Completed":
            try:
                doc["performance"] = client.get_iteration_performance(project_id, iteration["id"])
                lines = (
                    without_uris(p, IMAGE_URI_FIELDS)
                    for p in client.list_image_performances(project_id, iteration["id"])
                )
                performances = layout.iteration_json(project_id, iteration["id"], performances=True)
                record, count = sink.write_lines(performances, lines)
                doc["imagePerformances"] = {"file": record["path"], "count": count}
                measured += 1
            except Exception as exc:
                if not is_permanent(exc):
                    raise  # transient: the activity is retried as a whole
                perf_errors.append(failed_from(exc, count=measured))
        sink.write_json(layout.iteration_json(project_id, iteration["id"]), doc)
    results = {Category.ITERATIONS.value: complete(len(iterations))}
    if performance:
        results[Category.ITERATION_PERFORMANCE.value] = perf_errors[0] if perf_errors else complete(measured)
    return results


def export_models(client: TrainingClient, sink: ExportSink, copier: Copier, project_id: str) -> CategoryResult:
    """exported_models.json (every export of every iteration) plus the model files of `Done` exports."""
    exports: list[dict[str, Any]] = []
    for iteration in client.list_iterations(project_id):
        for export in client.list_exports(project_id, iteration["id"]):
            entry = {k: v for k, v in export.items() if k != "downloadUri"}
            entry["iterationId"] = iteration["id"]
            if export.get("status") == "Done" and export.get("downloadUri"):
                platform, flavor = export.get("platform", "model"), export.get("flavor")
                stem = layout.model_stem(project_id, iteration["id"], platform, flavor)
                entry["file"] = copier.copy(export["downloadUri"], stem,
                                            artifact=functools.partial(client.iter_artifact, project_id))
            exports.append(entry)
    sink.write_json(layout.project_file(project_id, layout.EXPORTED_MODELS_JSON), exports)
    return complete(len(exports))

