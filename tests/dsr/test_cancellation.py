"""The cancellation marker and the guarded client: once a request is cancelled, no further destructive call.

Terminating an orchestration on Azure leaves its scheduled activities and sub-orchestrations running, so the
steps themselves must stop; the marker is checked before every destructive Training API call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from azure.storage.blob import ContainerClient

from customvision import TrainingClient
from dsr.cancellation import (
    DESTRUCTIVE_CALLS,
    DeleteCancelled,
    GuardedClient,
    guard,
    is_cancelled,
    marker_path,
    request_cancel,
)
from dsr.delete.image_step import delete_images
from localrun.azurite import Azurite
from localrun.emulator import Emulator

pytestmark = pytest.mark.slow
SYNTHETIC = "synthetic:projects=1,images=600"  # three DeleteImages calls of 256 for the workspace
NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def container(azurite: Azurite) -> Iterator[ContainerClient]:
    client = ContainerClient.from_connection_string(azurite.connection_string, f"cancel-{uuid.uuid4().hex[:8]}")
    yield client
    client.delete_container()


@pytest.fixture(scope="module")
def server(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(SYNTHETIC, tps=1000)


def test_the_marker_is_written_once_and_seen(container: ContainerClient) -> None:
    assert not is_cancelled(container, "req-1")  # no container yet: not cancelled
    assert request_cancel(container, "req-1", now=NOW) is True  # creates the container
    assert request_cancel(container, "req-1", now=NOW) is False
    assert is_cancelled(container, "req-1") and not is_cancelled(container, "req-2")
    assert marker_path("req-1") == ".work/req-1/cancelled"
    with pytest.raises(DeleteCancelled):
        guard(container, "req-1")()
    guard(container, "req-2")()  # not cancelled: no error


def test_a_step_stops_at_the_first_destructive_call_after_the_cancel(server: Emulator) -> None:
    server.reset(SYNTHETIC)
    project = server.state()["projects"][0]
    made: list[int] = []
    sent: list[int] = []

    def cancelled_after_one() -> None:
        made.append(1)
        if len(made) > 1:  # the marker appears after the first delete call
            raise DeleteCancelled("cancelled")

    with TrainingClient(server.endpoint, server.training_key, retry_total=0) as client:
        before = client.get_image_count(project["id"])
        assert before > 256
        delete = client.delete_images

        def counted(project_id: str, image_ids: list[str], **kwargs: object) -> None:
            sent.append(len(image_ids))  # a page can hold fewer than 256 ids: ties are taken whole
            delete(project_id, image_ids, **kwargs)

        client.delete_images = counted  # type: ignore[method-assign]
        with pytest.raises(DeleteCancelled):
            delete_images(GuardedClient(client, cancelled_after_one), project["id"])  # type: ignore[arg-type]
        assert len(sent) == 1 and 0 < sent[0] <= 256  # one call went out before the marker, then nothing
        deadline = time.monotonic() + 15
        while client.get_image_count(project["id"]) > before - sent[0] and time.monotonic() < deadline:
            time.sleep(0.1)  # the service applies a 202 delete after a lag
        assert client.get_image_count(project["id"]) == before - sent[0]  # one batch, then nothing
    assert {"delete_images", "delete_predictions", "delete_project"} <= DESTRUCTIVE_CALLS
