"""Activities that finish an export: its file list part by part, index.html and manifest.json (last), then the
scratch area's removal."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import Job

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def list_manifest_part(payload: dict[str, Any]) -> dict[str, Any]:
    return tasks.list_manifest_part(Job.open(payload), payload)


@bp.activity_trigger(input_name="payload")
def write_manifest(payload: dict[str, Any]) -> dict[str, Any]:
    return tasks.manifest(Job.open(payload), payload)


@bp.activity_trigger(input_name="payload")
def clear_scratch(payload: dict[str, Any]) -> dict[str, Any]:
    return dict(tasks.clear_scratch(Job.open(payload), payload))
