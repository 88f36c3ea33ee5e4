"""Stored predictions: pages of QueryPredictions (continuation tokens) to part files, then predictions.jsonl."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypedDict

from customvision import TrainingClient
from dsr import layout
from dsr.envelope import CategoryResult, complete, error_info, failed
from dsr.export.copier import Copier
from dsr.export.pool import run_all
from dsr.export.simple import IMAGE_URI_FIELDS
from dsr.redact import without_uris
from dsr.sink import ExportSink

CHUNK = 1024  # predictions per activity call


class PredictionChunk(TypedDict):
    """What one chunk did, and the continuation token (opaque JSON text) that goes on; None when done."""

    count: int
    token: str | None


def export_prediction_chunk(
    client: TrainingClient,
    copier: Copier,
    work: ExportSink,
    project_id: str,
    chunk: int,
    token: str | None,
    *,
    limit: int = CHUNK,
    query: dict[str, Any] | None = None,
    root: str = "",
    keep: Callable[[dict[str, Any]], bool] = lambda prediction: True,
) -> PredictionChunk:
    """Export up to about `limit` stored predictions from `token` on, each with its image copied.

    `query` selects them (default: every stored prediction), `keep` checks each result again (a subject's time
    window), `root` is the folder of the files (a subject export's `resources/{alias}/`)."""
    predictions: list[dict[str, Any]] = []
    pages = client.query_predictions(project_id, query).by_page(continuation_token=token)
    for page in pages:
        predictions.extend(p for p in page if keep(p))
        if len(predictions) >= limit:
            break
    next_token = pages.continuation_token if len(predictions) >= limit else None

    artifact = functools.partial(client.iter_artifact, project_id)

    def copy(prediction: dict[str, Any]) -> dict[str, Any]:
        """One line; a copy that fails is recorded in it (`exportError`), never taking its siblings along."""
        line = without_uris(prediction, IMAGE_URI_FIELDS)
        uri = prediction.get("originalImageUri")
        if uri:
            stem = root + layout.project_file(project_id, prediction["id"], under="predictions")
            try:
                line["file"] = copier.copy_image(uri, stem, artifact=artifact).file
            except Exception as exc:  # recorded: the category reports it, the other predictions are exported
                line["file"] = None
                line["exportError"] = dict(error_info(exc))
        return line

    lines = run_all(copy, predictions)
    work.write_lines(root + layout.prediction_part(project_id, chunk), lines)
    return PredictionChunk(count=len(lines), token=next_token)


def finalize_predictions(sink: ExportSink, work: ExportSink, project_id: str, chunks: int, *,
                         root: str = "") -> CategoryResult:
    """Concatenate the part files into predictions.jsonl; failed if an image could not be copied."""
    missing: list[dict[str, Any]] = []

    def lines() -> Any:
        for chunk in range(chunks):
            for line in work.read_lines(root + layout.prediction_part(project_id, chunk)):
                if line.get("exportError"):
                    missing.append(line["exportError"])
                yield line

    _, count = sink.write_lines(root + layout.project_file(project_id, layout.PREDICTIONS_JSONL), lines())
    if missing:
        first = missing[0]
        return failed("PredictionFilesMissing", f"{len(missing)} of {count} prediction images could not be copied "
                      f"(first: {first['code']}: {first['message']})", count=count)
    return complete(count)
