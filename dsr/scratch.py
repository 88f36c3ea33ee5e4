"""A request's scratch parts (image and prediction chunks, the manifest's file list, a subject's per-project
pieces) live in a container of their own, made on the first write and deleted in one call when the request is done.

Blob by blob, clearing a large export's scratch took a call per part: on Azurite, whose every blob delete scans every
blob it holds, 0.3-0.4 s each beside a 60,000-file export (docs/architecture.md, step 3), on Azure a transaction
each. The cancel marker and a subject's selector stay in the export container's `.work/{requestId}/`.
"""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from dsr.layout import SCRATCH_CONTAINERS, scratch_container
from dsr.settings import Settings
from dsr.sink import ExportSink
from dsr.storage import blob_service

REQUEST_METADATA = "requestid"  # the scratch container's metadata: whose parts it holds ...
EXPORTS_METADATA = "exportcontainer"  # ... and for which export container


def scratch_sink(service: BlobServiceClient, export_container: str, request_id: str) -> ExportSink:
    """The request's scratch parts, `{requestId}/...` in its scratch container (made by the first write)."""
    container = service.get_container_client(scratch_container(export_container, request_id))
    metadata = {REQUEST_METADATA: request_id, EXPORTS_METADATA: export_container}
    return ExportSink(container, request_id, makes_container=metadata)


def for_request(settings: Settings, request_id: str) -> ExportSink:
    """The request's scratch in the export account the settings name (what every activity opens)."""
    return scratch_sink(blob_service(settings), settings.export_container, request_id)


def clear(work: ExportSink) -> int:
    """Delete the request's scratch container; how many parts it held (0 when it is gone already). A sink in any
    other container (a scratch prefix beside other data) is cleared blob by blob: its container is not scratch."""
    if not work.container.container_name.startswith(SCRATCH_CONTAINERS):
        return work.delete_all()
    try:
        parts = sum(1 for _ in work.container.list_blob_names())
        work.container.delete_container()
    except ResourceNotFoundError:
        return 0
    return parts


def expired(service: BlobServiceClient, export_container: str, cutoff: datetime) -> list[str]:
    """The scratch containers of `export_container` made before `cutoff` (a container's time is its making)."""
    return [item.name for item in service.list_containers(name_starts_with=SCRATCH_CONTAINERS, include_metadata=True)
            if (item.metadata or {}).get(EXPORTS_METADATA) == export_container and item.last_modified < cutoff]
