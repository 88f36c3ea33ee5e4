"""bench.history: the shape of its report, its estimate over continued generations, and the bounded/unbounded model
(stub activities, small sizes; the numbers themselves are the benchmark's, never asserted as timings)."""

from __future__ import annotations

import json

import pytest

from bench import history
from orchestrators import calls, export_project


def test_the_model_shows_the_bounded_histories_below_the_unbounded_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_project, "CHUNK_WINDOW", 8)
    monkeypatch.setattr(calls, "LOOP_INLINE_TASKS", 16)
    monkeypatch.setattr(calls, "LOOP_GENERATION_TASKS", 32)
    document = history.model(sets=3, chunks=40, repeats=1)
    bounded, unbounded = document["bounded"], document["unbounded"]
    assert unbounded["largest"]["name"] == "export_project_orchestrator"
    assert bounded["largest"]["events"] < unbounded["largest"]["events"] / 3
    assert bounded["continuedGenerations"]["count"] >= 2
    assert unbounded["continuedGenerations"]["count"] == 0
    loop = bounded["byOrchestrator"]["export_image_chunks_orchestrator"]
    assert loop["maxGeneration"] == bounded["continuedGenerations"]["count"] + 1
    # The estimate over every generation lands near the one history that holds the same work. Only near: events per
    # task depend on how many completions one episode takes in (timing), and the estimate scales the last
    # generation's rate to the earlier ones (seen at 1.31 in one suite run of many on a busy machine).
    assert 0.6 < bounded["estimatedEventsAllGenerations"] / unbounded["storedEvents"] < 1.6
    for run in (bounded, unbounded):
        largest = run["largest"]
        assert largest["replaySeconds"] > 0 and largest["episodes"] >= 1 and largest["lifetimeReplaySeconds"] > 0
        assert "largest:" in history.summary(run)
    json.dumps(document)  # what --model writes


def test_a_continued_loop_is_estimated_from_the_tasks_its_state_counts() -> None:
    def instance(started: dict[str, object], ended: dict[str, object] | None, events: int) -> history.Instance:
        as_stored = json.dumps(json.dumps(started))  # the host's JSON of the SDK's JSON text
        return history.Instance("r:p:images", "export_image_chunks_orchestrator", "Completed", as_stored,
                                None if ended is None else json.dumps(json.dumps(ended)), "r:p", events)

    # Third generation: 100 tasks inline, 2 x 256 before it, 50 in it stored as 120 events.
    last = instance({"generation": 3, "tasks": 612, "inlineTasks": 100}, {"tasks": 662, "done": True}, 120)
    estimate = history.all_generations(last)
    assert estimate["generation"] == 3 and estimate["loopTasks"] == 562
    assert estimate["estimatedEvents"] == 120 + round(512 * 120 / 50) + 2 * history.EVENTS_PER_GENERATION_EDGE
    running = instance({"generation": 2, "tasks": 356, "inlineTasks": 100}, None, 40)
    assert history.all_generations(running) == {"generation": 2, "estimatedEvents": 40}
    plain = history.Instance("r", "data_request", "Completed", json.dumps(json.dumps({"request": {}})), None, None, 16)
    assert history.all_generations(plain) == {"generation": None, "estimatedEvents": 16}
