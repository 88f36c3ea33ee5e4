"""The images step's watch of a 202 DeleteImages: what it learns of the service's lag, and when it looks again.

The lag itself is the emulator's (tests/dsr/test_delete_project.py runs the step against it); here a clock of the
test's own drives a service whose every batch leaves its listings `lag` seconds after it was answered, so the
looks the watch makes are counted exactly, whatever the machine's load.
"""

from __future__ import annotations

from typing import Any

import pytest

from dsr.delete import image_step
from dsr.delete.budget import CallBudget
from dsr.delete.lag import DeleteLag
from dsr.export.listing import EVERY_IMAGE

BATCHES = [([f"b{n}-{i}" for i in range(4)], n * 0.1) for n in range(8)]  # 8 DeleteImages answered 0.1 s apart


def test_a_batch_seen_applied_before_a_later_one_bounds_the_lag() -> None:
    lag = DeleteLag(BATCHES)
    assert lag.observe(["b0-0", "b1-0"], looked=2.0, seen=2.05, ordered=True) is None  # nothing applied yet
    expected = lag.observe(["b1-0", "b1-1", "b2-0"], looked=3.0, seen=3.05, ordered=True)
    assert expected == pytest.approx(0.7 + 3.05)  # the last batch, as long after its answer as batch 0 took at most


def test_an_iterations_page_teaches_nothing_and_a_batch_listed_past_the_lag_drops_the_guess() -> None:
    lag = DeleteLag(BATCHES)
    page = [f"b{n}-0" for n in range(3, 8)]  # batches 0-2 applied
    assert lag.observe(page, looked=3.0, seen=3.05, ordered=False) is None  # not in deletion order: no lesson
    assert lag.observe(page, looked=3.0, seen=3.05, ordered=True) == pytest.approx(0.7 + 2.85)  # 3.05 - 0.2
    # batch 7 still listed 2.9 s after its answer, past the 2.85 s learnt: the lag differs between batches
    assert lag.observe(["b7-0"], looked=3.6, seen=3.65, ordered=True) is None
    assert lag.observe(["b7-1"], looked=9.0, seen=9.05, ordered=True) is None  # and stays dropped


class _Clock:
    """monotonic() and sleep() of a test's own: sleeping moves it on, nothing else does."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _LaggingService:
    """The workspace's first page (oldest first) as a service shows it that applies batch n `lag(n)` seconds after
    answering it; each look takes `rtt` seconds and is recorded."""

    def __init__(self, clock: _Clock, batches: list[tuple[list[str], float]], lag: Any, rtt: float = 0.02,
                 iterations: dict[str, set[str]] | None = None) -> None:
        self.clock, self.batches, self.lag, self.rtt = clock, batches, lag, rtt
        self.iterations = iterations or {}  # iteration id -> the deleted ids its snapshot holds
        self.looks_by_set: list[tuple[str | None, float]] = []

    @property
    def looks(self) -> list[float]:
        """When the workspace was looked at."""
        return [t for iteration_id, t in self.looks_by_set if iteration_id is None]

    def list_images_page(self, project_id: str, **options: Any) -> list[dict[str, str]]:
        iteration_id = options.get("iteration_id")
        self.looks_by_set.append((iteration_id, self.clock.now))
        self.clock.now += self.rtt / 2
        held = self.iterations.get(iteration_id) if iteration_id else None
        listed = [{"id": i} for n, (ids, answered) in enumerate(self.batches)
                  if self.clock.now < answered + self.lag(n) for i in ids if held is None or i in held]
        self.clock.now += self.rtt / 2
        return listed[: options["take"]]


def _settle(monkeypatch: pytest.MonkeyPatch, lag: Any) -> tuple[list[list[str]] | None, list[float]]:
    clock = _Clock()
    clock.now = 0.8  # the last batch was answered at 0.7
    monkeypatch.setattr(image_step, "time", clock)
    service = _LaggingService(clock, BATCHES, lag)
    pages = image_step._settle(service, "p", [None], BATCHES, CallBudget(1000), 60.0, EVERY_IMAGE)  # type: ignore[arg-type]
    return pages, service.looks


def test_the_watch_looks_when_the_lag_it_learnt_says_the_last_batch_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages, looks = _settle(monkeypatch, lambda n: 3.0)
    assert pages == [[]]
    first_applied = next(t for t in looks if t + 0.01 >= 3.0)  # the first look that no longer lists batch 0
    assert looks[-2] == first_applied  # nothing between learning the lag and the last batch's turn
    # the last batch is applied at 3.7: seen within a batch's spacing and a round trip of it, not a poll's 0.25 s
    assert 3.7 <= looks[-1] + 0.01 < 3.7 + 0.1 + 0.02


def test_a_lag_that_grows_between_batches_is_still_awaited_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    pages, looks = _settle(monkeypatch, lambda n: 3.0 + 0.3 * n)  # the last batch leaves at 0.7 + 5.1 = 5.8
    assert pages == [[]]
    assert looks[-1] + 0.01 >= 5.8  # never done while a batch is listed
    assert looks[-2] + 0.01 < 5.8


def test_once_the_lag_is_learnt_the_iterations_are_looked_at_with_the_workspace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An iteration holding images the workspace did not (deleted in the last batch) is not looked at while the lag
    is unknown; once it is, it is looked at side by side with the workspace, when the last batch should be applied,
    not a round trip after the workspace is seen clear."""
    clock = _Clock()
    clock.now = 0.8
    monkeypatch.setattr(image_step, "time", clock)
    service = _LaggingService(clock, BATCHES, lambda n: 3.0, iterations={"it": set(BATCHES[7][0])})
    pages = image_step._settle(service, "p", [None, "it"], BATCHES, CallBudget(1000), 60.0, EVERY_IMAGE)  # type: ignore[arg-type]
    assert pages == [[], []]
    learnt = next(t for t in service.looks if t + 0.01 >= 3.0)  # the first look that no longer lists batch 0
    iteration_looks = [t for i, t in service.looks_by_set if i == "it"]
    assert len(iteration_looks) == 1 and iteration_looks[0] > learnt
    assert abs(iteration_looks[0] - service.looks[-1]) <= service.rtt  # the same round, side by side
    assert 3.7 <= service.looks[-1] + 0.01 < 3.7 + 0.1 + 0.02
