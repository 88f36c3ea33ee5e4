"""Plan, ordered delete steps and verification against the realistic emulator (ground truth: /_emulator/state).

Realistic as every emulator is by default (docs/real-service.md): DeleteImages with allIterations answers 202 and
the images stay listed and counted for a few seconds; a delete retried after success may meet a generic NotFound;
every project also has a Failed iteration (no image snapshot)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from customvision import CustomVisionErrorCode, CustomVisionHttpError, CustomVisionNotFoundError, TrainingClient
from dsr.categories import PROJECT_CATEGORIES
from dsr.delete.order import Step, steps_for
from dsr.delete.plan import category_counts, plan_project
from dsr.delete.scope import is_gone, prediction_cutoff
from dsr.delete.steps import delete_images, delete_iterations, delete_tags, run_step
from dsr.delete.verify import verify_project
from dsr.times import parse_time
from localrun.emulator import Emulator

pytestmark = pytest.mark.slow

DEMO = "demo"
SYNTHETIC = "synthetic:projects=2,images=300"  # > 256 images per set: deletes and listings cross a page
ALL = [str(c) for c in PROJECT_CATEGORIES]


@pytest.fixture(scope="module")
def server(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """This module's own emulator (fast: no realistic rate limit), reset per test."""
    return emulator_factory(DEMO, tps=1000)


@pytest.fixture
def emu(server: Emulator) -> Iterator[Emulator]:
    server.reset(DEMO)
    yield server
    server.set_faults(faultRate=0.0, latencyMs=0, deny=[])


@pytest.fixture
def client(emu: Emulator) -> Iterator[TrainingClient]:
    with TrainingClient(emu.endpoint, emu.training_key, retry_backoff_factor=0.01, retry_total=2) as training:
        yield training


def _projects(server: Emulator) -> list[dict[str, Any]]:
    return server.state()["projects"]


def _run(client: TrainingClient, project_id: str, categories: list[str], **options: Any) -> dict[str, int]:
    """Every step the categories need, each called until done (as the orchestrator will); deleted per step."""
    deleted: dict[str, int] = {}
    for step in steps_for(categories):
        for _ in range(100):
            result = run_step(client, project_id, step, **options)
            deleted[step] = deleted.get(step, 0) + result["deleted"]
            if result["done"]:
                break
        else:
            pytest.fail(f"step {step} never finished")
    return deleted


def test_plan_counts_match_the_ground_truth(emu: Emulator, client: TrainingClient) -> None:
    for truth in _projects(emu):
        plan = plan_project(client, truth["id"], ALL)
        assert plan["exists"] is True
        assert plan["workspaceImages"] == truth["workspaceImageCount"]
        assert plan["iterationImages"] == {it["id"]: len(it["imageIds"]) for it in truth["iterations"]}
        assert plan["iterations"] == len(truth["iterations"]) == 3  # a failed training too
        assert plan["publishedIterations"] == sum(it["published"] for it in truth["iterations"]) == 1
        assert plan["tags"] == len(truth["tags"])
        assert plan["iterationTags"] == sum(len(it["tagIds"]) for it in truth["iterations"])
        assert plan["predictions"] == len(truth["predictions"])
        counts = category_counts(plan, ALL)
        assert counts["projects"] == 1 and counts["iterations"] == counts["iteration_performance"] == 3
        assert counts["images"] == truth["workspaceImageCount"] + sum(len(it["imageIds"]) for it in truth["iterations"])
        assert counts["exported_models"] is None


def test_plan_counts_only_what_is_requested(emu: Emulator, client: TrainingClient) -> None:
    project_id = _projects(emu)[0]["id"]
    plan = plan_project(client, project_id, ["tags"])
    assert plan["tags"] is not None
    assert (plan["workspaceImages"], plan["iterationImages"], plan["predictions"]) == (None, None, None)
    assert category_counts(plan, ["tags"]) == {"tags": plan["tags"] + plan["iterationTags"]}


def test_a_dry_run_plan_deletes_nothing(emu: Emulator, client: TrainingClient) -> None:
    before = emu.state()
    for project in before["projects"]:
        plan_project(client, project["id"], ALL)
    assert emu.state() == before
    assert emu.stats()["byOperation"].keys() <= {
        "GetIterations", "GetImageCount", "GetTags", "QueryPredictions"}


def test_full_delete_leaves_nothing_of_the_project_and_spares_the_other(emu: Emulator, client: TrainingClient) -> None:
    emu.reset(SYNTHETIC)
    target, other = _projects(emu)
    assert target["workspaceImageCount"] > 256
    assert any(not image["inWorkspace"] for image in target["images"]), "the seed has an iteration-only image"
    before = plan_project(client, target["id"], ALL)

    deleted = _run(client, target["id"], ALL)

    assert [p["id"] for p in _projects(emu)] == [other["id"]]
    assert _projects(emu)[0] == other
    assert deleted[Step.IMAGES] == len(target["images"])  # every distinct image, iteration-only ones included
    assert deleted[Step.PREDICTIONS] == len(target["predictions"]) == before["predictions"]
    assert deleted[Step.UNPUBLISH] == 1 and deleted[Step.PROJECT] == 1
    assert deleted[Step.TAGS] == len(target["tags"]) and deleted[Step.ITERATIONS] == 3
    verification = verify_project(client, target["id"], ALL)
    assert verification["clean"] is True
    assert set(verification["remaining"].values()) <= {0, None}


def test_images_only_deletes_every_copy_and_keeps_tags_and_iterations(emu: Emulator, client: TrainingClient) -> None:
    target, other = _projects(emu)
    assert steps_for(["images"]) == [Step.IMAGES]

    _run(client, target["id"], ["images"])

    after = _projects(emu)
    assert after[1] == other
    project = after[0]
    assert project["images"] == [] and project["workspaceImageCount"] == 0
    assert all(it["imageIds"] == [] for it in project["iterations"])
    assert [it["id"] for it in project["iterations"]] == [it["id"] for it in target["iterations"]]
    assert [it["published"] for it in project["iterations"]] == [False, False, True]
    assert project["tags"] == target["tags"] and project["predictions"] == target["predictions"]
    assert verify_project(client, target["id"], ["images"])["clean"] is True


def test_predictions_only_with_an_age_limit_deletes_strictly_older_ones(emu: Emulator, client: TrainingClient) -> None:
    target, other = _projects(emu)
    predictions = target["predictions"]
    assert len(predictions) >= 4
    boundary = parse_time(predictions[2]["created"])
    now = boundary + timedelta(days=30)
    cutoff = prediction_cutoff(now, 30)
    assert cutoff == boundary  # the third prediction is exactly at the cutoff: not older, so it stays

    assert plan_project(client, target["id"], ["predictions"], older_than=cutoff)["predictions"] == 2
    deleted = _run(client, target["id"], ["predictions"], older_than=cutoff)

    project = _projects(emu)[0]
    assert deleted == {Step.PREDICTIONS: 2}
    assert project["predictions"] == predictions[2:]
    assert {k: v for k, v in project.items() if k != "predictions"} == {
        k: v for k, v in target.items() if k != "predictions"}
    assert _projects(emu)[1] == other
    verification = verify_project(client, target["id"], ["predictions"], older_than=cutoff)
    assert verification["clean"] is True and verification["remaining"] == {"predictions": 0}
    assert verify_project(client, target["id"], ["predictions"])["remaining"] == {"predictions": len(predictions) - 2}


def test_steps_are_idempotent_when_repeated(emu: Emulator, client: TrainingClient) -> None:
    target = _projects(emu)[0]
    _run(client, target["id"], ALL)
    after = emu.state()
    for step in Step:
        again = run_step(client, target["id"], step)
        assert again["done"] is True and again["deleted"] == 0, again
    assert emu.state() == after
    plan = plan_project(client, target["id"], ALL)
    assert plan["exists"] is False
    assert set(category_counts(plan, ALL).values()) <= {0, None}


def test_a_retried_step_after_a_partial_run_finishes_the_job(emu: Emulator, client: TrainingClient) -> None:
    emu.reset(SYNTHETIC)
    target = _projects(emu)[0]
    first = delete_images(client, target["id"], max_calls=3)  # list iterations, one page, one delete
    assert (first["step"], first["done"]) == ("images", False)
    assert 200 < first["deleted"] <= 256, "one page, but for its last tie (listed whole by the next listing)"
    assert first["calls"] > 3, "then it watched its 202 delete take effect, so the next call starts clean"
    rest = delete_images(client, target["id"], max_calls=1000)
    assert rest["done"] is True and first["deleted"] + rest["deleted"] == len(target["images"])
    assert _projects(emu)[0]["images"] == []


def test_verification_reports_what_a_cut_short_step_left(emu: Emulator, client: TrainingClient) -> None:
    target = _projects(emu)[0]
    iteration_only = [i for i in target["images"] if not i["inWorkspace"]]
    assert iteration_only
    partial = delete_images(client, target["id"], max_calls=3)  # the workspace only: the budget ends there
    assert partial["done"] is False

    verification = verify_project(client, target["id"], ["images"], max_wait=0)
    assert verification["clean"] is False
    assert verification["remaining"] == {"images": sum(len(i["iterations"]) for i in iteration_only)}
    assert verification["counts"]["workspaceImages"] == 0
    assert any("iteration snapshots" in note for note in verification["notes"])


def test_verification_reports_a_refused_delete(emu: Emulator, client: TrainingClient) -> None:
    target = _projects(emu)[0]
    emu.set_faults(deny=[{"projectId": target["id"], "operation": "DeleteTag", "status": 403}])
    with pytest.raises(CustomVisionHttpError):
        delete_tags(client, target["id"])
    verification = verify_project(client, target["id"], ["tags", "images"], max_wait=0)
    assert verification["clean"] is False
    assert verification["remaining"]["tags"] == len(target["tags"]) + sum(
        len(it["tagIds"]) for it in target["iterations"])
    assert "tags: " in " ".join(verification["notes"])


def test_tags_only_leaves_the_iterations_copies_and_says_so(emu: Emulator, client: TrainingClient) -> None:
    target = _projects(emu)[0]
    _run(client, target["id"], ["tags"])
    project = _projects(emu)[0]
    assert project["tags"] == [] and project["iterations"] == target["iterations"]
    assert [i["id"] for i in project["images"]] == [i["id"] for i in target["images"]]
    verification = verify_project(client, target["id"], ["tags"])
    assert verification["clean"] is False
    assert any("trained iterations" in note for note in verification["notes"])

    _run(client, target["id"], ["iterations"])
    assert verify_project(client, target["id"], ["tags", "iterations"])["clean"] is True


def test_iterations_unpublish_first_and_delete_with_their_performance(emu: Emulator, client: TrainingClient) -> None:
    target = _projects(emu)[0]
    assert steps_for(["iteration_performance"]) == [Step.UNPUBLISH, Step.ITERATIONS]
    result = delete_iterations(client, target["id"])  # even without the unpublish step it gets through
    assert result["done"] is True and result["deleted"] == 3
    project = _projects(emu)[0]
    assert project["iterations"] == []
    assert project["tags"] == target["tags"] and project["predictions"] == target["predictions"]
    assert verify_project(client, target["id"], ["iterations", "iteration_performance"])["clean"] is True


def test_a_missing_project_plans_empty_and_verifies_clean(emu: Emulator, client: TrainingClient) -> None:
    missing = str(uuid.uuid4())
    before = copy.deepcopy(emu.state())
    assert plan_project(client, missing, ALL)["exists"] is False
    for step in Step:
        assert run_step(client, missing, step)["done"] is True
    assert verify_project(client, missing, ALL)["clean"] is True
    assert emu.state() == before


def test_the_smallest_budget_still_makes_progress_every_call(emu: Emulator, client: TrainingClient) -> None:
    target, other = _projects(emu)
    calls = []
    for step in steps_for(ALL):
        for _ in range(200):
            result = run_step(client, target["id"], step, max_calls=1)
            calls.append(result["calls"])
            assert result["done"] or result["deleted"] > 0, result  # never a call that does nothing
            if result["done"]:
                break
        else:
            pytest.fail(f"step {step} never finished")
    # A listing plus one round (a page of predictions takes 4 delete calls), and for images the first-page polls
    # (one per image set) that watch a 202 delete take effect before the call returns: a few seconds' worth.
    assert max(calls) <= 6 + 4 * 6, calls
    assert _projects(emu) == [other]


class _LaggingClient(TrainingClient):
    """DeleteImages accepted (202) but not applied yet, as the service does when it deletes in the background."""

    def delete_images(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_deletes_the_service_has_not_applied_yet_are_neither_counted_twice_nor_hidden(emu: Emulator) -> None:
    target = _projects(emu)[0]
    with _LaggingClient(emu.endpoint, emu.training_key, retry_backoff_factor=0.01) as lagging:
        first = delete_images(lagging, target["id"], max_wait=1)
        assert first["done"] is False and first["deleted"] == len(target["images"])  # each id submitted once
        verification = verify_project(lagging, target["id"], ["images"], max_wait=1)
    assert verification["clean"] is False
    assert verification["remaining"]["images"] == target["workspaceImageCount"] + sum(
        len(it["imageIds"]) for it in target["iterations"])  # nothing was deleted, and verification says so
    assert _projects(emu)[0] == target


class _CountHidesImages(TrainingClient):
    """GetImageCount says 0 whatever the sets list."""

    def get_image_count(self, *args: Any, **kwargs: Any) -> int:
        return 0


def test_verification_trusts_the_listing_over_a_count_that_says_none(emu: Emulator) -> None:
    target = _projects(emu)[0]
    with _CountHidesImages(emu.endpoint, emu.training_key, retry_backoff_factor=0.01) as hiding:
        verification = verify_project(hiding, target["id"], ["images"], max_wait=0)
    holding = 1 + sum(1 for it in target["iterations"] if it["imageIds"])  # the workspace and every snapshot
    assert verification["clean"] is False
    assert verification["remaining"] == {"images": holding}  # each set that lists an image counts at least 1


def test_verification_of_a_clean_project_lists_each_set_once_and_counts_none(emu: Emulator,
                                                                             client: TrainingClient) -> None:
    target = _projects(emu)[0]
    _run(client, target["id"], ["images"])
    before = emu.stats()["byOperation"]
    assert verify_project(client, target["id"], ["images"])["clean"] is True
    calls = {op: n - before.get(op, 0) for op, n in emu.stats()["byOperation"].items() if n != before.get(op, 0)}
    assert calls == {"GetIterations": 1, "GetImages": 1 + len(target["iterations"])}, calls


def test_a_202_delete_is_awaited_and_counted_once(emu: Emulator, client: TrainingClient) -> None:
    """Images deleted with allIterations stay listed for the lag: the step neither stalls nor deletes them twice."""
    emu.reset(SYNTHETIC)
    target = _projects(emu)[0]
    deleted = _run(client, target["id"], ["images"])
    assert deleted == {Step.IMAGES: len(target["images"])}
    # every set listed first, then each distinct id once, 256 a call: the fewest DeleteImages there can be
    assert emu.stats()["byOperation"]["DeleteImages"] == -(-len(target["images"]) // 256)
    assert _projects(emu)[0]["images"] == [] and _projects(emu)[0]["pendingDeletes"] == 0
    assert verify_project(client, target["id"], ["images"])["clean"] is True


class _AfterDeletes(TrainingClient):
    """Records the sets listed once DeleteImages has been called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deleting, self.looked_at = False, []

    def delete_images(self, *args: Any, **kwargs: Any) -> None:
        self.deleting = True
        return super().delete_images(*args, **kwargs)

    def list_images_page(self, project_id: str, **options: Any) -> Any:
        if self.deleting:
            self.looked_at.append(options.get("iteration_id"))
        return super().list_images_page(project_id, **options)


def test_the_step_waits_on_the_workspace_and_on_iterations_holding_images_it_does_not(emu: Emulator) -> None:
    """allIterations takes an image out of every set at once: an iteration whose images the workspace also listed
    is not watched (verification lists it); one holding an image the workspace did not (image 0 survives in the
    first iteration alone) is."""
    emu.reset(SYNTHETIC)
    target = _projects(emu)[0]
    workspace = {image["id"] for image in target["images"] if image["inWorkspace"]}
    holding = {it["id"] for it in target["iterations"] if set(it["imageIds"]) - workspace}
    with _AfterDeletes(emu.endpoint, emu.training_key, retry_backoff_factor=0.01) as recording:
        result = delete_images(recording, target["id"])
        assert (result["done"], result["deleted"]) == (True, len(target["images"]))
        assert None in recording.looked_at and set(recording.looked_at) - {None} == holding
        assert verify_project(recording, target["id"], ["images"])["clean"] is True
    assert holding and any(it["imageIds"] and it["id"] not in holding for it in target["iterations"]), "both cases"


def test_a_service_that_deletes_at_once_still_sees_each_image_listed_and_deleted_once(
    emulator_factory: Callable[..., Emulator],
) -> None:
    """No lag: positions move as soon as DeleteImages answers. Listing every set before deleting, nothing is skipped
    and nothing deleted twice: one call of the step, the fewest DeleteImages there can be."""
    prompt = emulator_factory(SYNTHETIC, tps=1000, extra_args=("--delete-lag-seconds", "0"))
    target = _projects(prompt)[0]
    with TrainingClient(prompt.endpoint, prompt.training_key, retry_backoff_factor=0.01) as training:
        result = delete_images(training, target["id"])
    assert (result["done"], result["deleted"]) == (True, len(target["images"]))
    assert prompt.stats()["byOperation"]["DeleteImages"] == -(-len(target["images"]) // 256)
    assert _projects(prompt)[0]["images"] == []


def test_verification_waits_for_a_slow_202_and_past_its_bound_says_what_is_left(
    emulator_factory: Callable[..., Emulator],
) -> None:
    slow = emulator_factory(DEMO, tps=1000, extra_args=("--delete-lag-seconds", "600"))
    target = _projects(slow)[0]
    with TrainingClient(slow.endpoint, slow.training_key, retry_backoff_factor=0.01) as training:
        result = delete_images(training, target["id"], max_wait=1)
        assert result["done"] is False and result["deleted"] == len(target["images"])
        verification = verify_project(training, target["id"], ["images"], max_wait=3)
    assert verification["clean"] is False
    iterations = {it["id"]: len(it["imageIds"]) for it in target["iterations"]}
    notes = " ".join(verification["notes"])
    assert f"{target['workspaceImageCount']} in the workspace" in notes, notes
    for iteration_id, count in iterations.items():
        if count:
            assert f"{count} in iteration {iteration_id}" in notes, notes
    assert "still listed after waiting 2 s" in notes and "asynchronous" in notes, "it waited, then said so"


def test_a_generic_not_found_means_gone_and_service_times_compare_as_utc() -> None:
    for code in (CustomVisionErrorCode.NOT_FOUND, CustomVisionErrorCode.NOT_FOUND_PROJECT):
        error = CustomVisionNotFoundError("gone", error_code=code)
        assert is_gone(error)
    assert is_gone(CustomVisionNotFoundError("gone", error_code=CustomVisionErrorCode.NOT_FOUND),
                   CustomVisionErrorCode.NOT_FOUND_ITERATION)
    assert not is_gone(CustomVisionNotFoundError("tag", error_code=CustomVisionErrorCode.NOT_FOUND_TAG))
    image_time = parse_time("2020-06-06T17:53:28.0821491")  # images: no zone, 7 digits (GetTaggedImages.json)
    assert image_time.utcoffset() == timedelta(0) and image_time < parse_time("2020-06-06T17:53:28.09Z")

