"""What an activity works with, opened from its small JSON input: client, sinks, copier, settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from customvision import TrainingClient
from dsr import scratch
from dsr.clients import training_client
from dsr.envelope import failed_from, is_permanent
from dsr.export.copier import Copier, CopyVerificationError
from dsr.settings import ResourceConfig, Settings
from dsr.sink import ExportSink
from dsr.storage import export_container


@dataclass(frozen=True)
class Job:
    """One activity's view of a request: where to read (client) and where to write (sink, scratch)."""

    request_id: str
    alias: str
    project_id: str | None
    client: TrainingClient
    sink: ExportSink  # {requestId}/ in the export container
    work: ExportSink  # scratch parts, in the request's own container (dsr/scratch.py), removed when it is done
    copier: Copier
    settings: Settings

    @property
    def resource(self) -> ResourceConfig:
        return self.settings.resource(self.alias)

    def run_fields(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """What a manifest and a receipt both open with: the request, its resource, when it ran, its categories."""
        return {"request_id": self.request_id, "resource": self.alias, "started_at": payload["startedAt"],
                "completed_at": payload["completedAt"], "categories": payload["categories"]}

    @classmethod
    def open(cls, payload: Mapping[str, Any], *, settings: Settings | None = None) -> Job:
        settings = settings or Settings.from_env()
        resource = settings.resource(payload["resource"])
        container = export_container(settings, create=True)
        sink = ExportSink(container, payload["requestId"])
        return cls(
            request_id=payload["requestId"],
            alias=payload["resource"],
            project_id=payload.get("projectId"),
            client=training_client(resource),
            sink=sink,
            work=scratch.for_request(settings, payload["requestId"]),
            copier=Copier(sink),
            settings=settings,
        )


Task = Callable[[Job, dict[str, Any]], Any]


def run_task(payload: Mapping[str, Any], task: Task, *, categories: list[str] | None = None,
             report_transient: bool = False) -> dict[str, Any]:
    """Run one activity's task: permanent errors become `failed` results; transient ones raise, so Durable retries.

    With `categories`, the task returns one result per category and a permanent error fails each of them.
    With `report_transient` (activities fanned out with task_all), a transient error is returned too, marked
    `"retryable": true`, for the orchestrator to retry: a raising child would fail the whole task_all.
    """
    try:
        return dict(task(Job.open(payload), dict(payload)))
    except CopyVerificationError as exc:
        if report_transient:
            return {**failed_from(exc), "retryable": True}
        raise  # a retry copies again
    except Exception as exc:
        if not is_permanent(exc) and report_transient:
            return {**failed_from(exc), "retryable": True}
        if not is_permanent(exc):
            raise
        if categories is not None:
            return {name: failed_from(exc) for name in categories}
        return dict(failed_from(exc))
