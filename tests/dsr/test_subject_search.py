"""Finding, erasing and verifying one data subject against the realistic emulator (ground truth: /_emulator/state).

The demo seed's subjects (emulator/seed.py DEMO_SUBJECTS): u-1001 in both projects, workspace and iterations;
u-2002 with an image that survives only in an iteration; a userId holding quotes and ' or '."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from customvision import TrainingClient
from dsr.cancellation import GuardedClient
from dsr.subject.erase import erase_step, steps_for, verify
from dsr.subject.listing import IdListing, MetadataListing, listing_for
from dsr.subject.search import count_predictions, find
from dsr.subject.selector import PredictionFilter, Subject
from emulator.seed import INJECTION_VALUE
from localrun.emulator import Emulator

pytestmark = pytest.mark.slow

ROOT = "resources/default/"


@pytest.fixture(scope="module")
def server(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory("demo", tps=1000)


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset("demo")
    return server


@pytest.fixture
def client(emu: Emulator) -> Iterator[TrainingClient]:
    with TrainingClient(emu.endpoint, emu.training_key, retry_backoff_factor=0.01, retry_total=2) as training:
        yield training


def subject_of(user: str, **predictions: str) -> Subject:
    return Subject.from_dict({"metadata": {"userId": user}, **({"predictions": predictions} if predictions else {})})


def truth(state: dict[str, Any], user: str) -> dict[str, dict[str, Any]]:
    """Per project: the subject's image ids, and per set (workspace / iteration id) the ids it holds."""
    found = {}
    for project in state["projects"]:
        ids = {i["id"] for i in project["images"] if i["metadata"].get("userId") == user}
        sets = {"workspace": {i["id"] for i in project["images"] if i["id"] in ids and i["inWorkspace"]}}
        sets.update({it["id"]: ids & set(it["imageIds"]) for it in project["iterations"]})
        found[project["id"]] = {"ids": ids, "sets": sets}
    return found


@pytest.mark.parametrize("user", ["u-1001", "u-2002", INJECTION_VALUE])
def test_find_counts_every_set_as_the_ground_truth(emu: Emulator, client: TrainingClient, user: str) -> None:
    state = emu.state()
    expected = truth(state, user)
    subject = subject_of(user)
    for project in state["projects"]:
        finding = find(client, project["id"], subject, listing_for(subject, "default"))
        want = expected[project["id"]]
        assert finding["images"] == len(want["ids"])
        assert finding["workspace"] == len(want["sets"]["workspace"])
        assert finding["iterations"] == {i: len(ids) for i, ids in want["sets"].items() if i != "workspace"}
        impacted = {m["iterationId"] for m in finding["modelImpact"]}
        assert impacted == {i for i, ids in want["sets"].items() if i != "workspace" and ids}
        published = {it["id"]: it["publishName"] or None for it in project["iterations"]}
        assert all(m["publishName"] == published[m["iterationId"]] for m in finding["modelImpact"])


def test_u2002_has_an_image_only_in_an_iteration(emu: Emulator, client: TrainingClient) -> None:
    state = emu.state()
    only = [i for p in state["projects"] for i in p["images"]
            if i["metadata"].get("userId") == "u-2002" and not i["inWorkspace"]]
    assert len(only) == 1 and only[0]["iterations"]
    pets = next(p for p in state["projects"] if any(i["id"] == only[0]["id"] for i in p["images"]))
    finding = find(client, pets["id"], subject_of("u-2002"), listing_for(subject_of("u-2002"), "default"))
    assert finding["workspace"] == 0 and finding["images"] == 1
    assert [m["iterationId"] for m in finding["modelImpact"]] == only[0]["iterations"]


def test_a_quote_or_an_or_in_a_value_cannot_widen_the_match(emu: Emulator, client: TrainingClient) -> None:
    """The value is a literal: exactly the one image holding it. Pasted unescaped, the same value matches every
    image of the project (shown with the raw filter), which is what escaping prevents."""
    state = emu.state()
    holder = next(p for p in state["projects"] if any(i["metadata"].get("userId") == INJECTION_VALUE
                                                      for i in p["images"]))
    subject = subject_of(INJECTION_VALUE)
    assert subject.odata_filter() == "userId eq 'x'' or userId ne ''x'"
    assert find(client, holder["id"], subject, listing_for(subject, "default"))["workspace"] == 1
    unescaped = f"userId eq '{INJECTION_VALUE}'"
    widened = client.get_image_count(holder["id"], filter=unescaped)
    assert widened == holder["workspaceImageCount"] > 1  # what a raw filter would have done
    for value in ("u-1001' or '1' eq '1", "') or (userId ne '", "u-1001 or userId ne 'x'"):
        probe = subject_of(value)
        assert sum(find(client, p["id"], probe, listing_for(probe, "default"))["images"]
                   for p in state["projects"]) == 0, value


def test_search_uses_filtered_counts_and_lists_only_sets_with_matches(emu: Emulator, client: TrainingClient) -> None:
    """Per project: GetIterations, one GetImageCount per set, one GetImages page per set that holds the subject
    (never a listing of every image: 34 + 26 images in 2 x 4 sets would take 8+ listings of all)."""
    state = emu.state()
    emu.reset("demo")  # zero the counters
    subject = subject_of("u-1001")
    holding = 0
    for project in state["projects"]:
        finding = find(client, project["id"], subject, listing_for(subject, "default"))
        holding += (finding["workspace"] > 0) + sum(1 for n in finding["iterations"].values() if n)
    calls = emu.stats()["byOperation"]
    sets = sum(1 + len(p["iterations"]) for p in state["projects"])
    assert calls == {"GetIterations": len(state["projects"]), "GetImageCount": sets, "GetImages": holding}


def test_image_ids_are_found_in_every_set_even_when_the_service_refuses_unknown_ids(
        emu: Emulator, client: TrainingClient) -> None:
    state = emu.state()
    pets = state["projects"][0]
    iteration_only = next(i["id"] for i in pets["images"] if not i["inWorkspace"])
    everywhere = next(i["id"] for i in pets["images"] if i["inWorkspace"] and len(i["iterations"]) == 2)
    unknown = "00000000-0000-4000-8000-000000000001"
    subject = Subject.from_dict({"imageIds": [iteration_only, everywhere, unknown]})
    listing = listing_for(subject, "default")
    assert isinstance(listing, IdListing) and not isinstance(listing, MetadataListing)
    finding = find(client, pets["id"], subject, listing)
    first, second = [it["id"] for it in pets["iterations"] if it["status"] == "Completed"]
    assert finding["images"] == 2 and finding["workspace"] == 1
    assert finding["iterations"][first] == 2 and finding["iterations"][second] == 1


def test_erase_removes_exactly_the_subject_and_verifies(emu: Emulator, client: TrainingClient) -> None:
    before = emu.state()
    subject = subject_of("u-1001", application="kiosk-7")
    erased = truth(before, "u-1001")
    predicted = {p["id"] for project in before["projects"] for p in project["predictions"]
                 if p["application"] == "kiosk-7"}
    cancelled: list[str] = []
    guarded: Any = GuardedClient(client, lambda: cancelled.append("checked"))
    for project in before["projects"]:
        listing = listing_for(subject, "default")
        assert count_predictions(client, project["id"], subject) == sum(
            1 for p in project["predictions"] if p["application"] == "kiosk-7")
        for step in steps_for(subject):
            for _ in range(20):
                if erase_step(guarded, project["id"], step, subject, listing)["done"]:
                    break
        checked = verify(client, project["id"], subject, listing)
        assert checked["clean"] and checked["images"] == 0 and checked["predictions"] == 0, checked
    assert cancelled  # every destructive call went through the guard
    after = emu.state()
    gone = set().union(*(e["ids"] for e in erased.values()))
    for old, new in zip(before["projects"], after["projects"], strict=True):
        assert {i["id"] for i in new["images"]} == {i["id"] for i in old["images"]} - gone
        assert {p["id"] for p in new["predictions"]} == {p["id"] for p in old["predictions"]} - predicted
        assert [it["id"] for it in new["iterations"]] == [it["id"] for it in old["iterations"]]
        assert new["tags"] == old["tags"]
        kept = {i["id"]: i for i in new["images"]}
        assert all(kept[i["id"]]["sha256"] == i["sha256"] for i in old["images"] if i["id"] in kept)


def test_prediction_window_is_checked_again() -> None:
    window = PredictionFilter.from_dict({"from": "2025-01-06T09:00:00+01:00", "to": "2025-01-06T10:00:00Z"})
    assert window.query()["startTime"] == "2025-01-06T08:00:00.000Z"
    assert window.selects({"created": "2025-01-06T09:30:00.123Z"})
    assert not window.selects({"created": "2025-01-06T10:00:01Z"})


class IgnoresFilter:
    """A service that would ignore `$filter` (or read it otherwise) and list every image."""

    def __init__(self) -> None:
        self.images = [{"id": f"00000000-0000-4000-8000-00000000000{n}", "created": f"2025-01-06T09:00:0{n}",
                        "metadata": {"userId": "u-1001" if n == 1 else "someone-else"}} for n in range(1, 4)]
        self.deleted: list[str] = []

    def list_iterations(self, project_id: str) -> list[Any]:
        return []

    def get_image_count(self, project_id: str, **options: Any) -> int:
        return len(self.images)

    def list_images_page(self, project_id: str, *, skip: int, take: int, **options: Any) -> list[Any]:
        return self.images[skip:skip + take]

    def delete_images(self, project_id: str, ids: list[str], **options: Any) -> None:
        self.deleted += ids


def test_an_answer_holding_someone_elses_image_stops_everything() -> None:
    """Even a service that ignored the filter cannot make the delete take another person's image."""
    from dsr.subject.listing import ListingNotSelective

    service = IgnoresFilter()
    subject = subject_of("u-1001")
    with pytest.raises(ListingNotSelective):
        erase_step(service, "p", "images", subject, listing_for(subject, "default"))
    with pytest.raises(ListingNotSelective):
        find(service, "p", subject, listing_for(subject, "default"))  # type: ignore[arg-type]
    assert service.deleted == []


def test_metadata_set_later_is_found(emu: Emulator, client: TrainingClient) -> None:
    """UpdateImageMetadata (through the client, 64 ids a call) marks workspace images; the search finds them."""
    project = emu.state()["projects"][1]
    unmarked = [i["id"] for i in project["images"] if i["inWorkspace"] and "userId" not in i["metadata"]][:3]
    summary = client.update_image_metadata(project["id"], unmarked, {"userId": "u-3003"})
    assert summary["isBatchSuccessful"] and {e["imageId"] for e in summary["images"]} == set(unmarked)
    subject = subject_of("u-3003")
    finding = find(client, project["id"], subject, listing_for(subject, "default"))
    assert finding["workspace"] == finding["images"] == 3 and finding["modelImpact"] == []  # not trained on yet
