"""Contract: TrainingClient against the real emulator over HTTP, checked with `/_emulator/state` ground truth.

The emulator is realistic, as by default (docs/real-service.md): some image URIs are relative (GetArtifact), ties
in `created` are reordered on every call, DeleteImages with allIterations answers 202 and deletes a few seconds
later."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceExistsError, ResourceNotFoundError

from customvision import (
    CustomVisionAuthenticationError,
    CustomVisionErrorCode,
    CustomVisionHttpError,
    CustomVisionNotFoundError,
    IterationPublishedError,
    ThrottledError,
    TokenBucket,
    TrainingClient,
    is_relative_uri,
    time_key,
)
from localrun.emulator import Emulator

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


def _calls(server: Emulator, operation: str) -> int:
    return server.stats()["byOperation"].get(operation, 0)


def _until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll `check` until true: a 202 DeleteImages takes effect a few seconds after it answers."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def _project(server: Emulator, seed: str | None = None) -> dict[str, Any]:
    if seed:
        server.reset(seed)
    return server.state()["projects"][0]


def test_demo_listings_match_the_ground_truth(emulator: Emulator) -> None:
    truth = emulator.state()["projects"]
    with _client(emulator, rate_limiter=TokenBucket(10)) as client:
        _check_listings(client, truth)


def _check_listings(client: TrainingClient, truth: list[dict[str, Any]]) -> None:
    projects = list(client.list_projects())
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
        assert all(image["originalImageUri"].startswith("http") or is_relative_uri(image["originalImageUri"])
                   for image in listed)
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
    for _ in range(3):  # ties straddle the pages and come back in a new order each time: never lost, never twice
        listed = list(client.list_images(project_id))
        assert sorted(image["id"] for image in listed) == workspace
    calls = (emu.stats()["byOperation"]["GetImages"] - before) / 3
    assert 3 <= calls <= 4, calls  # 256 + 256 + the rest, a listing more where a page ends inside a giant tie
    created = [time_key(image["created"]) for image in listed]
    assert created == sorted(created)  # "Oldest" first

    last_page = client.list_images_page(project_id, skip=512)
    assert sorted(image["created"] for image in last_page) == sorted(image["created"] for image in listed[512:])
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
    _until(lambda: client.get_image_count(project_id) == 0, "the 202 delete never took effect")
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
    project_id = next(iter(client.list_projects()))["id"]
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
        assert "not-the-key" not in repr(client)
        list(client.list_projects())
    assert caught.value.status_code == 401
    assert "not-the-key" not in str(caught.value) and "not-the-key" not in repr(caught.value)


def test_the_preview_api_version_is_served_too(emu: Emulator) -> None:
    with _client(emu, api_version="3.4-preview", rate_limiter=TokenBucket(TPS)) as preview:
        assert _ids(list(preview.list_projects())) == _ids(emu.state()["projects"])


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



# Paging


def test_tagged_untagged_and_performance_lists_page_with_small_pages(emu: Emulator, client: TrainingClient) -> None:
    truth = _project(emu)
    project_id = truth["id"]
    workspace = sorted(image["id"] for image in truth["images"] if image["inWorkspace"])
    tagged = _ids(client.list_tagged_images(project_id, page_size=7))
    untagged = _ids(client.list_untagged_images(project_id, page_size=2))
    assert sorted(tagged + untagged) == workspace
    # Small pages often end inside a tie in `created` (or a tie fills them): the next listing starts where that tie
    # starts, so there are more listings than pages, and still each image exactly once.
    assert _calls(emu, "GetTaggedImages") >= len(tagged) // 7 + 1
    assert _calls(emu, "GetUntaggedImages") >= len(untagged) // 2 + 1
    iteration_id = truth["iterations"][-1]["id"]
    performances = list(client.list_image_performances(project_id, iteration_id, page_size=5))
    assert len(performances) == client.get_image_performance_count(project_id, iteration_id)
    assert len({p["id"] for p in performances}) == len(performances)


def test_a_listing_resumes_from_its_continuation_token(emu: Emulator, client: TrainingClient) -> None:
    """The token is the position where the next listing starts (a tie's first position): resuming loses nothing."""
    project_id = _project(emu)["id"]
    everything = [image["id"] for image in client.list_images(project_id)]
    pages = client.list_images(project_id, page_size=10).by_page()
    first = [image["id"] for image in next(pages)]
    token = pages.continuation_token
    assert token is not None and int(token) == len(first)
    resumed = client.list_images(project_id, page_size=10).by_page(continuation_token=token)
    rest = [image["id"] for page in resumed for image in page]
    assert sorted(first + rest) == sorted(everything) and not set(first) & set(rest)


def test_query_predictions_follows_the_continuation(emu: Emulator, client: TrainingClient) -> None:
    truth = _project(emu)
    assert len(truth["predictions"]) > 4
    predictions = list(client.query_predictions(truth["id"], {"maxCount": 2, "orderBy": "Oldest"}))
    assert [p["id"] for p in predictions] == [p["id"] for p in truth["predictions"]]  # oldest first, no repeats
    assert _calls(emu, "QueryPredictions") >= len(truth["predictions"]) // 2
    assert all(p["originalImageUri"].startswith("http") for p in predictions)


# Chunking (the emulator answers more than 256 image ids / 64 prediction ids with the spec's error codes)


def test_delete_images_in_chunks_of_256(emu: Emulator, client: TrainingClient) -> None:
    truth = _project(emu, "synthetic:projects=1,images=600")
    ids = [image["id"] for image in truth["images"]]
    client.delete_images(truth["id"], ids, all_iterations=True)
    assert _calls(emu, "DeleteImages") == 3, emu.stats()
    _until(lambda: emu.state()["projects"][0]["images"] == [], "the 202 delete never took effect")


def test_delete_predictions_in_chunks_of_64(emu: Emulator, client: TrainingClient) -> None:
    truth = _project(emu)
    real = [p["id"] for p in truth["predictions"]]
    unknown = [f"00000000-0000-0000-0000-{n:012d}" for n in range(70)]  # ignored by the service
    client.delete_predictions(truth["id"], unknown + real)
    assert _calls(emu, "DeletePrediction") == 2
    assert emu.state()["projects"][0]["predictions"] == []


# Errors, mapped by the service's code


@pytest.mark.parametrize(("status", "azure_type", "code"), [
    (403, ClientAuthenticationError, CustomVisionErrorCode.FORBIDDEN),
    (404, ResourceNotFoundError, CustomVisionErrorCode.NOT_FOUND),
    (409, ResourceExistsError, CustomVisionErrorCode.CONFLICT),
    (400, CustomVisionHttpError, CustomVisionErrorCode.BAD_REQUEST),
])
def test_denied_operations_map_to_azure_core_types(emu: Emulator, client: TrainingClient, status, azure_type,
                                                   code) -> None:
    project_id = _project(emu)["id"]
    emu.set_faults(deny=[{"projectId": project_id, "operation": "GetTags", "status": status}])
    with pytest.raises(azure_type) as caught:
        list(client.list_tags(project_id))
    assert caught.value.error_code is code
    assert caught.value.status_code == status


def test_server_errors_are_retried_then_raised(emu: Emulator, client: TrainingClient) -> None:
    project_id = _project(emu)["id"]
    emu.set_faults(deny=[{"projectId": project_id, "operation": "GetTags", "status": 503}])
    with pytest.raises(CustomVisionHttpError) as caught:
        list(client.list_tags(project_id, retry_total=2))
    assert caught.value.status_code == 503
    assert caught.value.error_code is CustomVisionErrorCode.ERROR_UNKNOWN
    assert _calls(emu, "GetTags") == 3


def test_deletes_of_what_is_gone_are_done(emu: Emulator, client: TrainingClient) -> None:
    truth = _project(emu)
    project_id = truth["id"]
    client.delete_tag(project_id, truth["tags"][0]["id"])
    client.delete_tag(project_id, truth["tags"][0]["id"])
    for iteration in truth["iterations"]:
        client.unpublish_iteration(project_id, iteration["id"])
    client.delete_project(project_id)
    client.delete_images(project_id, [image["id"] for image in truth["images"][:3]], all_iterations=True)
    client.delete_predictions(project_id, [p["id"] for p in truth["predictions"]])
    client.delete_tag(project_id, truth["tags"][1]["id"])
    client.unpublish_iteration(project_id, truth["iterations"][0]["id"])


# Retry-After, pacing and redaction over real HTTP


def test_retry_after_is_honoured(emu: Emulator) -> None:
    project_id = _project(emu)["id"]
    durations = []
    with _client(emu) as unpaced:  # no bucket: the emulator's 5/s burst runs out on the 6th quick call
        for _ in range(TPS + 2):
            started = time.monotonic()
            unpaced.get_project(project_id)
            durations.append(time.monotonic() - started)
    assert emu.stats()["throttled"] >= 1
    assert max(durations) >= 0.95  # the emulator says Retry-After: 1


def test_throttling_beyond_the_retries_raises_throttled(emu: Emulator) -> None:
    project_id = _project(emu)["id"]
    with _client(emu) as unpaced, pytest.raises(ThrottledError) as caught:
        for _ in range(3 * TPS):
            unpaced.get_project(project_id, retry_total=0)
    assert caught.value.retry_after == 1
    assert caught.value.status_code == 429


def test_logs_and_errors_never_show_the_key_or_sas_signatures(emu: Emulator, caplog) -> None:
    project_id = _project(emu)["id"]
    caplog.set_level(logging.DEBUG)
    with _client(emu, rate_limiter=TokenBucket(TPS), logging_enable=True) as client:
        images = [i for i in client.list_images_page(project_id, skip=0, take=20) if "sig=" in i["originalImageUri"]]
        with pytest.raises(CustomVisionNotFoundError) as caught:
            client.get_tag(project_id, "00000000-0000-0000-0000-000000000001")
    signatures = [image["originalImageUri"].split("sig=")[1].split("&")[0] for image in images]
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "Response 200" in text and "originalImageUri" in text  # the trace did log the bodies
    assert emu.training_key not in text
    assert not any(signature in text for signature in signatures)
    assert "sig=REDACTED" in text
    assert emu.training_key not in str(caught.value)


# The official SDK (test-only oracle) sees the same data, and every field it knows is in our dicts.


def test_the_official_sdk_agrees(emulator: Emulator) -> None:
    from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
    from msrest.authentication import ApiKeyCredentials

    sdk = CustomVisionTrainingClient(
        emulator.endpoint, ApiKeyCredentials(in_headers={"Training-key": emulator.training_key}))
    with _client(emulator, rate_limiter=TokenBucket(10)) as ours:
        projects = {p["id"]: p for p in list(ours.list_projects())}
        for theirs in sdk.get_projects():
            mine = projects.pop(theirs.id)
            assert set(theirs.serialize(keep_readonly=True)) <= set(mine)
            assert mine["name"] == theirs.name
            for kind, sdk_list, our_list in [
                ("tags", sdk.get_tags(theirs.id), ours.list_tags(theirs.id)),
                ("iterations", sdk.get_iterations(theirs.id), ours.list_iterations(theirs.id)),
                ("images", sdk.get_images(theirs.id, take=256), ours.list_images(theirs.id)),
            ]:
                by_id = {item["id"]: item for item in our_list}
                assert sorted(by_id) == sorted(item.id for item in sdk_list), kind
                for item in sdk_list:
                    assert set(item.serialize(keep_readonly=True)) <= set(by_id[item.id]), kind
        assert projects == {}


def test_upload_and_tag_round_trip(emu: Emulator, client: TrainingClient) -> None:
    import hashlib
    import io

    from PIL import Image as PILImage

    project_id = _project(emu)["id"]
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    tag = client.create_tag(project_id, "contract-test-tag")
    summary = client.create_images_from_data(project_id, data, tag_ids=[tag["id"]])
    assert summary["isBatchSuccessful"] is True
    image_id = summary["images"][0]["image"]["id"]
    (uploaded,) = [i for i in emu.state()["projects"][0]["images"] if i["id"] == image_id]
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    assert uploaded["tagIds"] == [tag["id"]]
    assert client.get_tag(project_id, tag["id"])["imageCount"] == 1
    client.delete_images(project_id, [image_id])
    client.delete_tag(project_id, tag["id"])
    with pytest.raises(CustomVisionNotFoundError):
        client.get_tag(project_id, tag["id"])
