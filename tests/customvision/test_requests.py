"""Pure request builders: paths, query parameters in the service's spelling, limits checked before any I/O."""

import json

import pytest

from customvision import _requests as build
from tests.customvision.fakes import path, query

V = "3.3"
ROOT = "/customvision/v3.3/training"


@pytest.mark.parametrize(
    ("request_", "method", "url_path"),
    [
        (build.build_get_projects(api_version=V), "GET", "/projects"),
        (build.build_get_project("p", api_version=V), "GET", "/projects/p"),
        (build.build_delete_project("p", api_version=V), "DELETE", "/projects/p"),
        (build.build_export_project("p", api_version=V), "GET", "/projects/p/export"),
        (build.build_get_iterations("p", api_version=V), "GET", "/projects/p/iterations"),
        (build.build_get_iteration("p", "i", api_version=V), "GET", "/projects/p/iterations/i"),
        (build.build_delete_iteration("p", "i", api_version=V), "DELETE", "/projects/p/iterations/i"),
        (build.build_unpublish_iteration("p", "i", api_version=V), "DELETE", "/projects/p/iterations/i/publish"),
        (build.build_get_exports("p", "i", api_version=V), "GET", "/projects/p/iterations/i/export"),
        (build.build_get_image_performance_count("p", "i", api_version=V), "GET",
         "/projects/p/iterations/i/performance/images/count"),
        (build.build_get_tags("p", api_version=V), "GET", "/projects/p/tags"),
        (build.build_get_tag("p", "t", api_version=V), "GET", "/projects/p/tags/t"),
        (build.build_delete_tag("p", "t", api_version=V), "DELETE", "/projects/p/tags/t"),
        (build.build_get_image_count("p", api_version=V), "GET", "/projects/p/images/count"),
        (build.build_get_image_count("p", api_version=V, kind="tagged"), "GET", "/projects/p/images/tagged/count"),
        (build.build_get_image_count("p", api_version=V, kind="untagged"), "GET",
         "/projects/p/images/untagged/count"),
        (build.build_query_predictions("p", {}, api_version=V), "POST", "/projects/p/predictions/query"),
    ],
)
def test_method_and_path(request_, method: str, url_path: str) -> None:
    assert request_.method == method
    assert path(request_) == ROOT + url_path
    assert request_.headers["Accept"] == "application/json"


def test_ids_are_percent_encoded_and_api_version_is_in_the_path() -> None:
    request = build.build_get_tag("a/b c", "t?x", api_version="3.4-preview")
    assert request.url == "/customvision/v3.4-preview/training/projects/a%2Fb%20c/tags/t%3Fx"


def test_get_images_query_uses_the_service_names() -> None:
    request = build.build_get_images(
        "p", api_version=V, skip=512, take=100, iteration_id="it", tagging_status="Tagged", order_by="Oldest",
        tag_ids=["t1", "t2"], filter="metadata=k eq 'v'")
    assert path(request) == f"{ROOT}/projects/p/images"
    assert query(request) == {"iterationId": "it", "tagIds": "t1,t2", "taggingStatus": "Tagged",
                              "orderBy": "Oldest", "take": "100", "skip": "512", "$filter": "metadata=k eq 'v'"}


def test_tagged_and_untagged_lists_have_their_own_paths() -> None:
    tagged = build.build_get_images("p", api_version=V, kind="tagged", skip=0)
    untagged = build.build_get_images("p", api_version=V, kind="untagged", skip=256, take=256)
    assert path(tagged) == f"{ROOT}/projects/p/images/tagged"
    assert query(untagged) == {"take": "256", "skip": "256"}
    with pytest.raises(ValueError):
        build.build_get_images("p", api_version=V, kind="tagged", tagging_status="All")
    with pytest.raises(ValueError):
        build.build_get_images("p", api_version=V, kind="untagged", tag_ids=["t"])
    with pytest.raises(ValueError):
        build.build_get_images("p", api_version=V, kind="everything")


@pytest.mark.parametrize("take", [0, 257, -1])
def test_take_is_limited_to_256(take: int) -> None:
    with pytest.raises(ValueError, match="take"):
        build.build_get_images("p", api_version=V, take=take)


def test_delete_images_query() -> None:
    request = build.build_delete_images("p", api_version=V, image_ids=["a", "b"], all_iterations=True)
    assert request.method == "DELETE"
    assert query(request) == {"imageIds": "a,b", "allIterations": "true"}
    everything = build.build_delete_images("p", api_version=V, all_images=True)
    assert query(everything) == {"allImages": "true"}


def test_delete_images_needs_exactly_one_selector_and_at_most_256_ids() -> None:
    with pytest.raises(ValueError):
        build.build_delete_images("p", api_version=V)
    with pytest.raises(ValueError):
        build.build_delete_images("p", api_version=V, image_ids=["a"], all_images=True)
    with pytest.raises(ValueError, match="256"):
        build.build_delete_images("p", api_version=V, image_ids=[str(i) for i in range(257)])
    build.build_delete_images("p", api_version=V, image_ids=[str(i) for i in range(256)])


def test_get_images_by_ids_limit() -> None:
    request = build.build_get_images_by_ids("p", ["a", "b"], api_version=V, iteration_id="i")
    assert path(request) == f"{ROOT}/projects/p/images/id"
    assert query(request) == {"imageIds": "a,b", "iterationId": "i"}
    with pytest.raises(ValueError):
        build.build_get_images_by_ids("p", [str(i) for i in range(257)], api_version=V)


def test_delete_predictions_limit_is_64() -> None:
    request = build.build_delete_predictions("p", ["a", "b"], api_version=V)
    assert query(request) == {"ids": "a,b"}
    with pytest.raises(ValueError, match="64"):
        build.build_delete_predictions("p", [str(i) for i in range(65)], api_version=V)
    with pytest.raises(ValueError):
        build.build_delete_predictions("p", [], api_version=V)


def test_publish_and_performance_parameters() -> None:
    publish = build.build_publish_iteration("p", "i", "prod", "/subscriptions/s/rg", api_version=V, overwrite=False)
    assert publish.method == "POST"
    assert query(publish) == {"publishName": "prod", "predictionId": "/subscriptions/s/rg", "overwrite": "false"}
    performance = build.build_get_iteration_performance("p", "i", api_version=V, threshold=0.5)
    assert query(performance) == {"threshold": "0.5"}
    images = build.build_get_image_performances("p", "i", api_version=V, skip=256)
    assert path(images) == f"{ROOT}/projects/p/iterations/i/performance/images"
    assert query(images) == {"take": "256", "skip": "256"}


def test_query_predictions_sends_the_token_as_json() -> None:
    token = {"session": "s", "continuation": "c", "maxCount": 10, "orderBy": "Oldest"}
    request = build.build_query_predictions("p", token, api_version=V)
    assert json.loads(request.content) == token
    assert request.headers["Content-Type"] == "application/json"


def test_create_images_from_data_is_multipart() -> None:
    request = build.build_create_images_from_data("p", b"\x89PNG", api_version=V, tag_ids=["t"])
    assert query(request) == {"tagIds": "t"}
    assert request.files["imageData"][1] == b"\x89PNG"
