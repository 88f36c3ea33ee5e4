"""Small pieces without a server: token bucket, $filter language, fault settings, store rules."""

from __future__ import annotations

import pytest

from emulator import errors, odata, seed
from emulator.faults import FaultInjector, FaultSettings, parse_settings
from emulator.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_bursts_up_to_capacity_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert sum(bucket.try_take() for _ in range(50)) == 10
    clock.now += 0.5
    assert sum(bucket.try_take() for _ in range(50)) == 5
    clock.now += 100
    assert sum(bucket.try_take() for _ in range(50)) == 10, "never more than capacity"
    assert all(TokenBucket(0, clock=clock).try_take() for _ in range(1000)), "0 disables the limit"


def test_filter_language() -> None:
    where = odata.parse("camera eq 'cam-1' and (subject ne 'x' or subject eq 'x')")
    assert where({"camera": "cam-1", "subject": "y"}) and not where({"camera": "cam-2"})
    assert odata.parse("name eq 'it''s'")({"name": "it's"})
    for bad in ("camera", "camera eq", "camera eq 'a' and", "(camera eq 'a'", "camera gt 'a'"):
        with pytest.raises(ValueError):
            odata.parse(bad)


def test_fault_settings_and_seeded_choices() -> None:
    settings = parse_settings(
        {"faultRate": 0.5, "deny": [{"projectId": "ABC", "operation": "GetTags"}]}, FaultSettings()
    )
    assert settings.deny[0].status == 403 and settings.deny[0].project_id == "abc"
    one, two = FaultInjector(settings, seed=3), FaultInjector(settings, seed=3)
    assert [one.pick() for _ in range(50)] == [two.pick() for _ in range(50)]
    assert one.denied("abc", "GetTags") and not one.denied("abc", "GetTag") and not one.denied("xyz", "GetTags")
    assert parse_settings({"latencyMs": 5}, settings).deny == settings.deny, "missing keys keep their value"


def test_store_rules() -> None:
    store, _ = seed.build("demo")
    project = next(iter(store.projects.values()))
    with pytest.raises(errors.ServiceError) as caught:
        store.train(project)
    assert caught.value.code == "BadRequestTrainingNotNeeded"
    published = next(i for i in project.iterations.values() if i.published)
    for action in (lambda: store.delete_iteration(project, published.id), lambda: store.delete_project(project.id)):
        with pytest.raises(errors.ServiceError) as caught:
            action()
        assert (caught.value.status, caught.value.code) == (400, "BadRequestIterationIsPublished")
    image_id = next(iter(project.images))
    assert store.delete_images(project, [image_id], all_iterations=False) == [], "iterations still hold the bytes"
    blobs = store.delete_images(project, [image_id], all_iterations=True)
    assert blobs and image_id not in project.image_ids_anywhere()
    store.unpublish(project, published.id)
    assert store.delete_project(project.id), "the project's blobs are returned for deletion"
