"""The deprecated official SDK (azure-cognitiveservices-vision-customvision, v3.4-preview paths) runs unchanged."""

from __future__ import annotations

import pytest
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import PredictionQueryToken
from msrest.authentication import ApiKeyCredentials

from localrun.emulator import Emulator
from tests.emulator.recorded_facts import RELATIVE_URI


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> CustomVisionTrainingClient:
    """The SDK against the shared demo emulator (10 calls/s: the SDK's own retry honours Retry-After)."""
    credentials = ApiKeyCredentials(in_headers={"Training-key": emulator.training_key})
    sdk = CustomVisionTrainingClient(emulator.endpoint, credentials)
    sdk.config.retry_policy.retries = 10
    # msrest sets the urllib3 1.x `method_whitelist`; urllib3 2 reads `allowed_methods`, which leaves POST
    # (QueryPredictions) out of the retried verbs. A user of this SDK has to do the same.
    sdk.config.retry_policy.policy.allowed_methods = None
    # urllib3 retries a 429 only when it carries Retry-After; the service's gateway sends it only sometimes
    # (tests/emulator/recorded_facts.py THROTTLED), so 429 must be a status to retry on, with backoff.
    sdk.config.retry_policy.policy.status_forcelist = {429, 500, 502, 503, 504}
    return sdk


def test_sdk_lists_projects_tags_iterations_images(client: CustomVisionTrainingClient, emulator: Emulator) -> None:
    truth = {p["id"]: p for p in emulator.state()["projects"]}
    projects = client.get_projects()
    assert {p.id for p in projects} == set(truth)
    for project in projects:
        expected = truth[project.id]
        assert project.name == expected["name"] and project.created is not None
        assert {t.id for t in client.get_tags(project.id)} == {t["id"] for t in expected["tags"]}
        iterations = client.get_iterations(project.id)
        assert [i.id for i in iterations] == [i["id"] for i in expected["iterations"]]
        assert [bool(i.publish_name) for i in iterations] == [i["published"] for i in expected["iterations"]]
        tagged = client.get_tagged_images(project.id, take=256)
        untagged = client.get_untagged_images(project.id, take=256)
        workspace = {i["id"] for i in expected["images"] if i["inWorkspace"]}
        assert {i.id for i in tagged} | {i.id for i in untagged} == workspace
        assert client.get_image_count(project.id) == len(workspace)
        for image in tagged:  # a SAS URL, or (realistic, GetArtifacts.json) a path for GetArtifact
            uri = image.original_image_uri
            assert (uri.startswith("http") and "sig=" in uri) or RELATIVE_URI.match(uri), uri
        if expected["type"] == "ObjectDetection":
            assert any(i.regions for i in tagged)
        for iteration in iterations:
            images = client.get_images(project.id, iteration_id=iteration.id, take=256)
            held = next(i for i in expected["iterations"] if i["id"] == iteration.id)["imageIds"]
            assert sorted(i.id for i in images) == held
            assert client.get_iteration_performance(project.id, iteration.id).per_tag_performance is not None
            for export in client.get_exports(project.id, iteration.id):
                assert export.status == "Done" and export.download_uri
        result = client.query_predictions(project.id, PredictionQueryToken(max_count=4, order_by="Oldest"))
        seen = [r.id for r in result.results]
        while result.token.continuation:
            result = client.query_predictions(project.id, result.token)
            seen += [r.id for r in result.results]
        assert seen == [p["id"] for p in expected["predictions"]]


def test_sdk_sees_errors_as_exceptions(client: CustomVisionTrainingClient) -> None:
    from azure.cognitiveservices.vision.customvision.training.models import CustomVisionErrorException

    with pytest.raises(CustomVisionErrorException) as caught:
        client.get_project("00000000-0000-4000-8000-000000000000")
    assert caught.value.error.code == "NotFoundProject"


def test_sdk_adds_and_deletes_images(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    """Multipart upload and the delete flow (unpublish, delete images everywhere, iterations, project)."""
    from emulator.images import drawn_picture

    server = emulator_factory("demo", tps=0)
    sdk = CustomVisionTrainingClient(
        server.endpoint, ApiKeyCredentials(in_headers={"Training-key": server.training_key})
    )
    project = sdk.get_projects()[0]
    tag = sdk.get_tags(project.id)[0]
    summary = sdk.create_images_from_data(project.id, drawn_picture(99_999).data, tag_ids=[tag.id])
    assert summary.is_batch_successful and summary.images[0].status == "OK"
    new_id = summary.images[0].image.id
    assert [i.id for i in sdk.get_images_by_ids(project.id, image_ids=[new_id])] == [new_id]
    for iteration in sdk.get_iterations(project.id):
        if iteration.publish_name:
            sdk.unpublish_iteration(project.id, iteration.id)
    while ids := [i["id"] for i in server.state()["projects"][0]["images"]][:256]:
        sdk.delete_images(project.id, image_ids=ids, all_iterations=True)
    for iteration in sdk.get_iterations(project.id):
        assert sdk.get_image_count(project.id, iteration_id=iteration.id) == 0
        sdk.delete_iteration(project.id, iteration.id)
    sdk.delete_project(project.id)
    assert project.id not in {p["id"] for p in server.state()["projects"]}
