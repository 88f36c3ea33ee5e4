"""TrainingClient over the transport seam: paging, chunking, idempotent deletes, decoding, auth headers."""

import json
import re
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.paging import ItemPaged
from azure.core.rest import HttpRequest

from customvision import (
    CustomVisionNotFoundError,
    IterationPublishedError,
    TrainingClient,
)
from tests.customvision.conftest import ENDPOINT, KEY
from tests.customvision.fakes import path, query, sequence

ROOT = "/customvision/v3.3/training"


def _image(number: int) -> dict[str, Any]:
    return {"id": f"img-{number:04d}", "created": "2026-01-01T00:00:00Z", "width": 4, "height": 3,
            "originalImageUri": f"http://blob/{number}?sig=x", "tags": None, "regions": None,
            "metadata": {"k": "v"}, "unknownFutureField": [number]}


def _image_store(total: int):
    images = [_image(n) for n in range(total)]

    def handler(request: HttpRequest):
        params = query(request)
        skip, take = int(params.get("skip", 0)), int(params.get("take", 50))
        return 200, images[skip:skip + take]

    return images, handler


def test_list_images_pages_over_skip_and_take_and_keeps_every_field(client, transport) -> None:
    images, transport.handler = _image_store(600)
    listed = client.list_images("p")
    assert isinstance(listed, ItemPaged)
    assert list(listed) == images
    assert [(query(r)["skip"], query(r)["take"], query(r)["orderBy"]) for r in transport.requests] == [
        ("0", "256", "Oldest"), ("256", "256", "Oldest"), ("512", "256", "Oldest")]
    assert {path(r) for r in transport.requests} == {f"{ROOT}/projects/p/images"}


def test_an_exact_multiple_of_the_page_ends_on_an_empty_page(client, transport) -> None:
    _images, transport.handler = _image_store(512)
    assert len(list(client.list_images("p", iteration_id="it", tagging_status="Untagged"))) == 512
    assert [query(r)["skip"] for r in transport.requests] == ["0", "256", "512"]
    assert query(transport.requests[0])["iterationId"] == "it"
    assert query(transport.requests[0])["taggingStatus"] == "Untagged"


def test_by_page_resumes_from_a_continuation_token(client, transport) -> None:
    _images, transport.handler = _image_store(300)
    pages = [list(page) for page in client.list_images("p", page_size=100).by_page(continuation_token="200")]
    assert [len(page) for page in pages] == [100, 0]
    assert pages[0][0]["id"] == "img-0200"


def test_list_images_page_is_one_call_at_an_explicit_skip(client, transport) -> None:
    images, transport.handler = _image_store(1000)
    page = client.list_images_page("p", skip=768, iteration_id="it")
    assert page == images[768:1000]
    assert len(transport.requests) == 1
    assert query(transport.requests[0]) == {"iterationId": "it", "orderBy": "Oldest", "take": "256", "skip": "768"}


def test_tagged_and_untagged_lists(client, transport) -> None:
    _images, transport.handler = _image_store(10)
    assert len(list(client.list_tagged_images("p", tag_ids=["t"]))) == 10
    assert len(list(client.list_untagged_images("p", iteration_id="i"))) == 10
    assert [path(r) for r in transport.requests] == [f"{ROOT}/projects/p/images/tagged",
                                                     f"{ROOT}/projects/p/images/untagged"]
    assert query(transport.requests[0])["tagIds"] == "t"


def test_list_images_by_ids_chunks_256(client, transport) -> None:
    transport.handler = lambda request: (200, [{"id": i} for i in query(request)["imageIds"].split(",")])
    ids = [f"id-{n}" for n in range(600)]
    assert [image["id"] for image in client.list_images_by_ids("p", ids, iteration_id="i")] == ids
    assert [len(query(r)["imageIds"].split(",")) for r in transport.requests] == [256, 256, 88]
    assert all(query(r)["iterationId"] == "i" for r in transport.requests)


def test_delete_images_chunks_256_and_returns_none(client, transport) -> None:
    transport.handler = sequence((204, None), (202, None))
    ids = [f"id-{n}" for n in range(600)]
    assert client.delete_images("p", ids, all_iterations=True) is None
    assert [r.method for r in transport.requests] == ["DELETE"] * 3
    assert [len(query(r)["imageIds"].split(",")) for r in transport.requests] == [256, 256, 88]
    assert [i for r in transport.requests for i in query(r)["imageIds"].split(",")] == ids
    assert all(query(r)["allIterations"] == "true" for r in transport.requests)


def test_delete_images_argument_checks(client, transport) -> None:
    with pytest.raises(ValueError):
        client.delete_images("p")
    with pytest.raises(ValueError):
        client.delete_images("p", ["a"], all_images=True)
    with pytest.raises(TypeError):
        client.delete_images("p", "a-single-id")
    client.delete_images("p", [])
    assert transport.requests == []
    transport.handler = sequence((202, None))
    client.delete_images("p", all_images=True, all_iterations=True)
    assert query(transport.requests[0]) == {"allImages": "true", "allIterations": "true"}


def test_delete_predictions_chunks_64(client, transport) -> None:
    transport.handler = sequence((204, None))
    ids = [f"pred-{n}" for n in range(130)]
    client.delete_predictions("p", ids)
    assert [path(r) for r in transport.requests] == [f"{ROOT}/projects/p/predictions"] * 3
    assert [len(query(r)["ids"].split(",")) for r in transport.requests] == [64, 64, 2]


@pytest.mark.parametrize("call", [
    lambda c: c.delete_project("p"),
    lambda c: c.delete_iteration("p", "i"),
    lambda c: c.delete_tag("p", "t"),
    lambda c: c.delete_images("p", ["a"]),
    lambda c: c.delete_predictions("p", ["a"]),
    lambda c: c.unpublish_iteration("p", "i"),
])
def test_deletes_are_idempotent_when_the_service_says_not_found(client, transport, call) -> None:
    transport.handler = sequence((404, {"code": "NotFoundProject", "message": "gone"}))
    assert call(client) is None


def test_a_404_without_a_service_code_is_not_taken_as_deleted(client, transport) -> None:
    transport.handler = sequence((404, b"no such route", {"Content-Type": "text/plain"}))
    with pytest.raises(CustomVisionNotFoundError):
        client.delete_project("p")


def test_deleting_a_published_iteration_raises_the_actionable_error(client, transport) -> None:
    transport.handler = sequence((400, {"code": "BadRequestIterationIsPublished", "message": "unpublish first"}))
    with pytest.raises(IterationPublishedError):
        client.delete_iteration("p", "i")


def test_unpublish_of_an_unpublished_iteration_is_done(client, transport) -> None:
    transport.handler = sequence((400, {"code": "BadRequestIterationNotPublished", "message": "not published"}))
    assert client.unpublish_iteration("p", "i") is None
    assert transport.requests[0].method == "DELETE"
    assert path(transport.requests[0]) == f"{ROOT}/projects/p/iterations/i/publish"


def test_get_raises_when_missing(client, transport) -> None:
    transport.handler = sequence((404, {"code": "NotFoundTag", "message": "no tag"}))
    with pytest.raises(CustomVisionNotFoundError) as caught:
        client.get_tag("p", "t")
    assert caught.value.error_code == "NotFoundTag"


def test_query_predictions_follows_the_continuation_token(client, transport) -> None:
    first_token = {"session": "s1", "continuation": "c1", "maxCount": 2, "orderBy": "Oldest"}
    transport.handler = sequence(
        (200, {"token": first_token, "results": [{"id": "a"}, {"id": "b"}]}),
        (200, {"token": {"session": "s1", "continuation": "", "maxCount": 2}, "results": [{"id": "c"}]}),
    )
    assert [p["id"] for p in client.query_predictions("p", {"maxCount": 2, "orderBy": "Oldest"})] == ["a", "b", "c"]
    bodies = [json.loads(r.content) for r in transport.requests]
    assert bodies == [{"maxCount": 2, "orderBy": "Oldest"}, first_token]
    assert all(r.method == "POST" and path(r) == f"{ROOT}/projects/p/predictions/query" for r in transport.requests)


def test_query_predictions_stops_on_an_empty_page(client, transport) -> None:
    transport.handler = sequence((200, {"token": {"continuation": "more"}, "results": []}))
    assert list(client.query_predictions("p")) == []
    assert len(transport.requests) == 1


def test_single_call_lists_are_item_paged_and_never_none(client, transport) -> None:
    transport.handler = sequence((200, None))
    tags = client.list_tags("p", iteration_id="i")
    assert isinstance(tags, ItemPaged)
    assert list(tags) == []
    assert query(transport.requests[0]) == {"iterationId": "i"}


def test_simple_operations(client, transport) -> None:
    answers = {
        f"{ROOT}/projects": [{"id": "p", "name": "n", "settings": {}}],
        f"{ROOT}/projects/p/iterations": [{"id": "i", "publishName": "prod"}],
        f"{ROOT}/projects/p/iterations/i/export": [{"platform": "ONNX", "status": "Done"}],
        f"{ROOT}/projects/p/iterations/i/performance": {"precision": 0.9, "perTagPerformance": []},
        f"{ROOT}/projects/p/iterations/i/performance/images/count": 12,
        f"{ROOT}/projects/p/images/count": 7,
        f"{ROOT}/projects/p/images/tagged/count": 5,
        f"{ROOT}/projects/p/images/untagged/count": 2,
        f"{ROOT}/projects/p/export": {"token": "tok", "imageCount": 7},
    }
    transport.handler = lambda request: (200, answers[path(request)])
    assert client.get_projects() == answers[f"{ROOT}/projects"]
    assert list(client.list_iterations("p")) == answers[f"{ROOT}/projects/p/iterations"]
    assert list(client.list_exports("p", "i")) == answers[f"{ROOT}/projects/p/iterations/i/export"]
    assert client.get_iteration_performance("p", "i")["precision"] == 0.9
    assert query(transport.requests[-1]) == {"threshold": "0.5"}
    assert client.get_image_performance_count("p", "i") == 12
    assert (client.get_image_count("p"), client.get_tagged_image_count("p"), client.get_untagged_image_count("p")) \
        == (7, 5, 2)
    assert client.export_project("p")["token"] == "tok"


def test_training_key_header_and_api_version(transport) -> None:
    with TrainingClient(ENDPOINT + "/", KEY, api_version="3.4-preview", transport=transport) as client:
        client.get_projects()
    request = transport.requests[0]
    assert request.url == f"{ENDPOINT}/customvision/v3.4-preview/training/projects"
    assert request.headers["Training-Key"] == KEY
    assert "Authorization" not in request.headers
    assert re.search(r"customvision-dsr/", request.headers["User-Agent"])


class _FakeTokenCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("entra-token", 4102444800)


def test_entra_id_credential_sends_a_bearer_token_for_cognitive_services(transport) -> None:
    credential = _FakeTokenCredential()
    with TrainingClient(ENDPOINT, credential, transport=transport) as client:
        client.get_projects()
    assert transport.requests[0].headers["Authorization"] == "Bearer entra-token"
    assert "Training-Key" not in transport.requests[0].headers
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_endpoint_and_credential_are_checked() -> None:
    with pytest.raises(ValueError):
        TrainingClient("cv.example.com", KEY)
    with pytest.raises(TypeError):
        TrainingClient(ENDPOINT, 42)  # type: ignore[arg-type]
