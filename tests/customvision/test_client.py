"""TrainingClient cases the emulator cannot produce (scripted transport): Entra ID, odd bodies, bare 404s.

Paging, chunking, idempotent deletes and error codes the service does send are checked over HTTP in
test_client_against_emulator.py."""

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
        client.get_projects()
    assert transport.requests[0].headers["Authorization"] == "Bearer entra-token"
    assert "Training-Key" not in transport.requests[0].headers
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_responses_come_back_as_sent_including_fields_the_spec_lacks(client, transport) -> None:
    image = {"id": "i", "created": "2026-01-01T00:00:00Z", "metadata": {"k": "v"}, "fieldFromTheFuture": [1, {"x": 2}]}
    transport.handler = sequence((200, [image]))
    assert client.list_images_page("p", skip=0) == [image]


def test_a_404_without_a_service_code_is_not_taken_as_deleted(client, transport) -> None:
    transport.handler = sequence((404, b"no such route", {"Content-Type": "text/plain"}))
    with pytest.raises(CustomVisionNotFoundError):
        client.delete_project("p")


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
