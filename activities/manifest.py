"""Activity that finishes an export: index.html, then manifest.json (last), then scratch cleanup."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import Job

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def write_manifest(payload: dict[str, Any]) -> dict[str, Any]:
    return tasks.manifest(Job.open(payload), payload)
