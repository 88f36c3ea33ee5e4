"""A request's cancellation marker: a blob every destructive delete step checks first (plain code).

Terminating an orchestration on Azure stops neither the activities nor the sub-orchestrations it already
scheduled (DTFx only records ExecutionTerminated; each project's delete runs as its own sub-orchestration),
so a terminate alone would let a cancelled delete go on erasing. `DELETE /api/requests/{id}` writes this
marker instead; a step that finds it makes no further Training API delete and reports the cancel, and the
orchestration stops starting work, verifies and signs a receipt of what was deleted before the cancel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from customvision import TrainingClient
from dsr.delete.results import CANCELLED
from dsr.layout import CANCEL_MARKER, scratch_path


class DeleteCancelled(Exception):
    """The request was cancelled: no further destructive call is made."""

    code = CANCELLED


def marker_path(request_id: str) -> str:
    """`.work/{requestId}/cancelled` in the export container (removed with the request's scratch space)."""
    return scratch_path(request_id, CANCEL_MARKER)


def request_cancel(container: ContainerClient, request_id: str, *, now: datetime) -> bool:
    """Write the marker; False when it was already there (a second cancel)."""
    body = json.dumps({"requestId": request_id, "cancelledAt": now.isoformat()}).encode()
    try:
        container.get_blob_client(marker_path(request_id)).upload_blob(body, overwrite=False)
    except ResourceExistsError:
        return False
    except ResourceNotFoundError:  # no container yet: nothing has been written for any request
        container.create_container()
        container.get_blob_client(marker_path(request_id)).upload_blob(body, overwrite=False)
    return True


def is_cancelled(container: ContainerClient, request_id: str) -> bool:
    return bool(container.get_blob_client(marker_path(request_id)).exists())


def guard(container: ContainerClient, request_id: str) -> Callable[[], None]:
    """A check to call before each destructive call: raises DeleteCancelled once the marker exists."""

    def check() -> None:
        if is_cancelled(container, request_id):
            raise DeleteCancelled(f"request {request_id} was cancelled")

    return check


# Cancellation: a cancelled request must make no further Training API delete, even though the activity
# (or sub-orchestration) calling it keeps running after a terminate on Azure.

DESTRUCTIVE_CALLS = frozenset({"delete_predictions", "unpublish_iteration", "delete_images", "delete_tag",
                               "delete_iteration", "delete_project"})


class GuardedClient:
    """A client that runs `check()` before each destructive call; `check` raises to stop the step."""

    def __init__(self, client: TrainingClient, check: Callable[[], None]) -> None:
        self._client = client
        self._check = check

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in DESTRUCTIVE_CALLS:
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return attr(*args, **kwargs)

        return guarded
