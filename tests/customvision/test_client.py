"""TrainingClient cases the emulator cannot produce (scripted transport): Entra ID, odd bodies, bare 404s.

Paging, chunking, idempotent deletes and error codes the service does send are checked over HTTP in
test_client_against_emulator.py."""

import json
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.paging import ItemPaged

from customvision import CustomVisionNotFoundError, TrainingClient
from tests.customvision.conftest import ENDPOINT, KEY
from tests.customvision.fakes import path, query, sequence

ROOT = "/customvision/v3.3/training"


class FakeTokenCredential:
    """An Entra ID credential without Entra ID."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("entra-token", 4102444800)


def test_entra_id_credential_sends_a_bearer_token_for_cognitive_services(transport) -> None:
    credential = FakeTokenCredential()
    with TrainingClient(ENDPOINT, credential, transport=transport) as client:
        list(client.list_projects())
    assert transport.requests[0].headers["Authorization"] == "Bearer entra-token"
    assert "Training-Key" not in transport.requests[0].headers
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_responses_come_back_as_sent_including_fields_the_spec_lacks(client, transport) -> None:
    image = {"id": "i", "created": "2026-01-01T00:00:00Z", "metadata": {"k": "v"}, "fieldFromTheFuture": [1, {"x": 2}]}
    transport.handler = sequence((200, [image]))
    assert client.list_images_page("p", skip=0) == [image]


@pytest.mark.parametrize("reply", [
    (404, {"code": "NotFound", "message": "Not found."}),  # a delete retried after it succeeded (issue 14)
    (404, {"error": {"code": "404", "message": "Resource not found"}}),
    (404, b"no such route", {"Content-Type": "text/plain"}),
])
def test_any_404_on_a_delete_means_done(client, transport, reply) -> None:
    """Deletes follow a listing of the same resource, so a wrong endpoint fails there, never here."""
    transport.handler = sequence(reply)
    client.delete_project("p")
    client.delete_iteration("p", "i")
    client.delete_tag("p", "t")
    client.delete_images("p", ["a"], all_iterations=True)
    client.delete_predictions("p", ["x"])
    client.unpublish_iteration("p", "i")
    transport.handler = sequence(reply)
    with pytest.raises(CustomVisionNotFoundError):
        client.get_project("p")  # reads still raise


def test_a_refused_prediction_page_size_is_halved_for_this_and_every_next_page(client, transport) -> None:
    refused = (400, {"code": "BadRequestPredictionResultsExceededCount", "message": "maxCount is limited to 100."})
    page = {"token": {"session": "9:133017", "continuation": "c1", "maxCount": 64}, "results": [{"id": "a"}]}
    last = {"token": {"session": "9:133017", "continuation": None, "maxCount": 64, "tags": None},
            "results": [{"id": "b"}]}
    transport.handler = sequence(refused, refused, (200, page), (200, last))
    assert [p["id"] for p in client.query_predictions("p")] == ["a", "b"]
    asked = [json.loads(r.content)["maxCount"] for r in transport.requests]
    assert asked == [256, 128, 64, 64]


def test_get_artifact_reads_a_relative_uri(client, transport) -> None:
    transport.handler = sequence((200, b"\xff\xd8jpeg bytes", {"Content-Type": "application/octet-stream"}))
    path_ = "/i-ce96ea1d7e0b45be884b81b0800278a7/o-f00d8cc280a64b7ea5109edbbd026fba"
    assert client.get_artifact("p", path_) == b"\xff\xd8jpeg bytes"
    assert path(transport.requests[0]) == f"{ROOT}/projects/p/artifacts"
    assert "path=%2Fi-ce96ea1d7e0b45be884b81b0800278a7%2Fo-" in transport.requests[0].url  # as recorded
    transport.handler = sequence((404, {"code": "NotFound", "message": "The artifact does not exist."}))
    with pytest.raises(CustomVisionNotFoundError):
        client.get_artifact("p", path_)


def test_service_times_compare_as_utc_to_the_tick() -> None:
    from datetime import UTC, datetime

    from customvision import is_relative_uri, parse_service_time, time_key

    assert parse_service_time("2020-06-06T17:53:28.0821491") == datetime(2020, 6, 6, 17, 53, 28, 82149, tzinfo=UTC)
    assert parse_service_time("2019-09-16T15:05:18.54Z") == datetime(2019, 9, 16, 15, 5, 18, 540000, tzinfo=UTC)
    assert parse_service_time("2020-06-06T16:44:43") == parse_service_time("2020-06-06T16:44:43.000Z")
    ordered = ["2020-06-06T16:44:43Z", "2020-06-06T16:44:43.0000001", "2020-06-06T16:44:43.08", "2020-06-06T16:44:43.1"]
    assert sorted(ordered, key=time_key) == ordered and sorted(ordered) != ordered  # text order is wrong
    assert time_key("2020-06-06T17:53:27.9103235") == time_key("2020-06-06T17:53:27.9103235Z")
    assert time_key("2020-06-06T17:53:27.9103235") != time_key("2020-06-06T17:53:27.9103236")
    assert is_relative_uri("/i-ab/i-cd") and not is_relative_uri("https://x.blob.core.windows.net/i-ab/i-cd?sig=s")


def test_unpublish_of_an_unpublished_iteration_is_done(client, transport) -> None:
    transport.handler = sequence((400, {"code": "BadRequestIterationNotPublished", "message": "not published"}))
    assert client.unpublish_iteration("p", "i") is None
    assert transport.requests[0].method == "DELETE"
    assert path(transport.requests[0]) == f"{ROOT}/projects/p/iterations/i/publish"


def test_query_predictions_stops_on_an_empty_page_even_with_a_continuation(client, transport) -> None:
    transport.handler = sequence((200, {"token": {"continuation": "more"}, "results": []}))
    assert list(client.query_predictions("p")) == []
    assert len(transport.requests) == 1


def test_a_null_list_body_is_an_empty_item_paged(client, transport) -> None:
    transport.handler = sequence((200, None))
    tags = client.list_tags("p", iteration_id="i")
    assert isinstance(tags, ItemPaged)
    assert list(tags) == []
    assert query(transport.requests[0]) == {"iterationId": "i"}


def test_argument_checks_happen_before_any_call(client, transport) -> None:
    with pytest.raises(ValueError):
        client.delete_images("p")
    with pytest.raises(ValueError):
        client.delete_images("p", ["a"], all_images=True)
    with pytest.raises(TypeError):
        client.delete_images("p", "a-single-id")
    with pytest.raises(TypeError):
        client.delete_predictions("p", "a-single-id")
    with pytest.raises(ValueError):
        client.list_images_page("p", skip=0, take=257)
    client.delete_images("p", [])
    client.delete_predictions("p", [])
    assert transport.requests == []


def test_endpoint_and_credential_are_checked() -> None:
    with pytest.raises(ValueError):
        TrainingClient("cv.example.com", KEY)
    with pytest.raises(TypeError):
        TrainingClient(ENDPOINT, 42)  # type: ignore[arg-type]
