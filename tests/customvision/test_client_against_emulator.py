"""Contract: TrainingClient against the real emulator over HTTP, checked with `/_emulator/state` ground truth."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from customvision import (
    CustomVisionAuthenticationError,
    CustomVisionErrorCode,
    CustomVisionNotFoundError,
    IterationPublishedError,
    TokenBucket,
    TrainingClient,
)
from localstack.emulator import Emulator

pytestmark = pytest.mark.slow


TPS = 5  # the mutable emulator's limit: small, so a burst of threads meets it


@pytest.fixture(scope="module")
def mutable_emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """This module's own emulator (the shared `emulator` is read-only), reset to a seed per test."""
    return emulator_factory("demo", tps=TPS)


@pytest.fixture
def emu(mutable_emulator: Emulator) -> Iterator[Emulator]:
    mutable_emulator.reset("demo")
    yield mutable_emulator
    mutable_emulator.set_faults(faultRate=0.0, latencyMs=0, deny=[])


def _client(server: Emulator, **kwargs: Any) -> TrainingClient:
    return TrainingClient(server.endpoint, server.training_key, retry_backoff_factor=0.05, **kwargs)


@pytest.fixture
def client(emu: Emulator) -> Iterator[TrainingClient]:
    # A private bucket at the emulator's rate: no 429s, and no sharing with other tests' clients.
    with _client(emu, rate_limiter=TokenBucket(TPS)) as training:
        yield training


def _ids(items: Any) -> list[str]:
    return sorted(item["id"] for item in items)


def test_demo_listings_match_the_ground_truth(emulator: Emulator) -> None:
    truth = emulator.state()["projects"]
    with _client(emulator, rate_limiter=TokenBucket(10)) as client:
        _check_listings(client, truth)


def _check_listings(client: TrainingClient, truth: list[dict[str, Any]]) -> None:
    projects = client.get_projects()
    assert _ids(projects) == _ids(truth)
    for expected in truth:
        project_id = expected["id"]
        assert client.get_project(project_id)["name"] == expected["name"]
        assert _ids(client.list_tags(project_id)) == _ids(expected["tags"])

        iterations = list(client.list_iterations(project_id))
        assert _ids(iterations) == _ids(expected["iterations"])
        workspace = [image["id"] for image in expected["images"] if image["inWorkspace"]]
        listed = list(client.list_images(project_id))
        assert sorted(image["id"] for image in listed) == sorted(workspace)
        assert all(image["originalImageUri"].startswith("http") for image in listed)
        tagged = _ids(client.list_tagged_images(project_id))
        untagged = _ids(client.list_untagged_images(project_id))
        assert sorted(tagged + untagged) == sorted(workspace)
        assert client.get_image_count(project_id) == len(workspace)
        assert client.get_tagged_image_count(project_id) == len(tagged)
        assert client.get_untagged_image_count(project_id) == len(untagged)

        for iteration in expected["iterations"]:
            in_iteration = client.list_images(project_id, iteration_id=iteration["id"])
            assert _ids(in_iteration) == sorted(iteration["imageIds"])
            assert _ids(client.list_tags(project_id, iteration_id=iteration["id"])) == sorted(iteration["tagIds"])
            assert len(list(client.list_exports(project_id, iteration["id"]))) == len(iteration["exports"])
            assert "perTagPerformance" in client.get_iteration_performance(project_id, iteration["id"])
            performances = list(client.list_image_performances(project_id, iteration["id"]))
            assert len(performances) == client.get_image_performance_count(project_id, iteration["id"])
        published = {i["id"]: i["publishName"] for i in expected["iterations"] if i["published"]}
        assert {i["id"]: i["publishName"] for i in iterations if i.get("publishName")} == published

        assert _ids(client.query_predictions(project_id)) == _ids(expected["predictions"])
        assert client.export_project(project_id)["token"]


def test_paging_across_more_than_256_images(emu: Emulator, client: TrainingClient) -> None:
    emu.reset("synthetic:projects=1,images=600")
    (truth,) = emu.state()["projects"]
    project_id = truth["id"]
    workspace = sorted(image["id"] for image in truth["images"] if image["inWorkspace"])
    assert 512 < len(workspace) < 768
    before = emu.stats()["byOperation"].get("GetImages", 0)
    listed = list(client.list_images(project_id))
    assert sorted(image["id"] for image in listed) == workspace
    assert emu.stats()["byOperation"]["GetImages"] - before == 3  # 256 + 256 + the rest
    created = [image["created"] for image in listed]
    assert created == sorted(created)  # "Oldest" first

    last_page = client.list_images_page(project_id, skip=512)
    assert [image["id"] for image in last_page] == [image["id"] for image in listed[512:]]
    assert client.list_images_page(project_id, skip=len(workspace)) == []

    by_ids = list(client.list_images_by_ids(project_id, [image["id"] for image in listed]))
    assert sorted(image["id"] for image in by_ids) == sorted(image["id"] for image in listed)
    assert emu.stats()["byOperation"]["GetImagesByIds"] == 3


def test_deletes_in_the_design_order_leave_nothing(emu: Emulator, client: TrainingClient) -> None:
    emu.reset("synthetic:projects=1,images=300")
    (truth,) = emu.state()["projects"]
    project_id = truth["id"]
    published = [i for i in truth["iterations"] if i["published"]]
    assert published, "the synthetic seed publishes an iteration"

    with pytest.raises(IterationPublishedError) as caught:
        client.delete_iteration(project_id, published[0]["id"])
    assert caught.value.error_code is CustomVisionErrorCode.BAD_REQUEST_ITERATION_IS_PUBLISHED

    client.delete_predictions(project_id, [p["id"] for p in truth["predictions"]])
    assert list(client.query_predictions(project_id)) == []
    for iteration in truth["iterations"]:
        client.unpublish_iteration(project_id, iteration["id"])
        client.unpublish_iteration(project_id, iteration["id"])  # idempotent
    client.delete_images(project_id, [image["id"] for image in truth["images"]], all_iterations=True)
    assert client.get_image_count(project_id) == 0
    for iteration in truth["iterations"]:
        assert client.get_image_count(project_id, iteration_id=iteration["id"]) == 0
    for tag in truth["tags"]:
        client.delete_tag(project_id, tag["id"])
    assert list(client.list_tags(project_id)) == []
    for iteration in truth["iterations"]:
        client.delete_iteration(project_id, iteration["id"])
        client.delete_iteration(project_id, iteration["id"])  # idempotent
    assert list(client.list_iterations(project_id)) == []
    client.delete_project(project_id)
    client.delete_project(project_id)  # idempotent: 404 NotFoundProject counts as done

    with pytest.raises(CustomVisionNotFoundError) as missing:
        client.get_project(project_id)
    assert missing.value.error_code is CustomVisionErrorCode.NOT_FOUND_PROJECT
    assert emu.state()["projects"] == []


def test_missing_things_raise_typed_errors(emu: Emulator, client: TrainingClient) -> None:
    project_id = client.get_projects()[0]["id"]
    unknown = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(CustomVisionNotFoundError):
        client.get_iteration(project_id, unknown)
    with pytest.raises(CustomVisionNotFoundError):
        client.get_tag(project_id, unknown)
    with pytest.raises(CustomVisionNotFoundError):
        client.get_project(unknown)


def test_a_wrong_key_is_an_authentication_error(emu: Emulator) -> None:
    with TrainingClient(emu.endpoint, "not-the-key") as client, \
            pytest.raises(CustomVisionAuthenticationError) as caught:
        client.get_projects()
    assert "not-the-key" not in str(caught.value)


def _burst(client: TrainingClient, project_id: str, *, threads: int, calls: int) -> list[int]:
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(calls):
                count = client.get_image_count(project_id)
                with lock:
                    counts.append(count)
        except BaseException as exc:  # reported below, the thread must not die silently
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return counts


def test_a_burst_of_threads_rides_out_429s_with_retry_after(emu: Emulator) -> None:
    project_id = emu.state()["projects"][0]["id"]
    with _client(emu) as unpaced:
        counts = _burst(unpaced, project_id, threads=12, calls=3)
    assert len(counts) == 36 and len(set(counts)) == 1
    assert emu.stats()["throttled"] > 0  # the service did push back, and every call still succeeded


def test_a_shared_bucket_keeps_a_burst_under_the_limit(emu: Emulator) -> None:
    project_id = emu.state()["projects"][0]["id"]
    bucket = TokenBucket(TPS)
    with _client(emu, rate_limiter=bucket) as one, _client(emu, rate_limiter=bucket) as two:
        counts = _burst(one, project_id, threads=6, calls=3) + _burst(two, project_id, threads=6, calls=3)
    assert len(counts) == 36
    assert emu.stats()["throttled"] == 0


def test_injected_faults_are_retried(emu: Emulator, client: TrainingClient) -> None:
    truth = emu.state()["projects"]
    emu.set_faults(faultRate=0.3)
    for expected in truth:
        workspace = sorted(image["id"] for image in expected["images"] if image["inWorkspace"])
        assert _ids(client.list_images(expected["id"], page_size=10)) == workspace
        assert _ids(client.list_tags(expected["id"])) == _ids(expected["tags"])
    assert emu.stats()["faults"] > 0

