"""Activities of the projects category, and the plan of which projects a request covers."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import run_task
from dsr.projects import plan_projects

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def plan_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The project ids a request covers (every project of the resource, or the requested ones)."""
    return plan_projects(payload)


@bp.activity_trigger(input_name="payload")
def export_project(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.project)
