"""Erase one data subject from one project, and check afterwards that none of it is left.

The images step is the delete's own (`dsr.delete.image_step.delete_images`: DeleteImages with allIterations=true, at
most 256 ids a call, each 202 awaited, bounded) over the subject's listing, so every id it deletes came from a
listing of that person's images: nothing else in the project can be deleted. The predictions step is the
delete's too, with the subject's QueryPredictions selection. Every destructive call goes through the request's
cancellation guard (`GuardedClient`). Verification repeats the search (counts per set, and the predictions),
waiting with backoff while the service still lists images it accepted to delete (202).
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from customvision import TrainingClient
from dsr.delete import steps
from dsr.delete.order import Step
from dsr.export.listing import ImageListing
from dsr.subject.search import Finding, find, selection
from dsr.subject.selector import Subject

MAX_WAIT = 120.0  # seconds verification waits for 202 deletes to take effect (as dsr/delete/verify.py)
SUBJECT_STEPS = (Step.PREDICTIONS, Step.IMAGES)  # the delete order (DESIGN §5) of what a subject request erases


def steps_for(subject: Subject) -> list[str]:
    """The steps a subject delete runs, in order."""
    return [str(s) for s in SUBJECT_STEPS if s is Step.IMAGES or subject.predictions is not None]


def erase_step(client: Any, project_id: str, step: str, subject: Subject, listing: ImageListing) -> steps.StepResult:
    """One bounded call of one step (call again until `done`); `client` is the request's guarded client."""
    if Step(step) is Step.IMAGES:
        return steps.delete_images(client, project_id, listing=listing)
    if Step(step) is Step.PREDICTIONS:
        return steps.delete_predictions(client, project_id, selection=selection(subject))
    raise ValueError(f"a subject delete has no step {step!r}")


class Remaining(TypedDict):
    """What the repeated search found after deleting (counts only)."""

    projectId: str
    images: int  # image copies still listed: the workspace plus every iteration's snapshot
    predictions: int | None
    clean: bool
    notes: list[str]


def verify(client: TrainingClient, project_id: str, subject: Subject, listing: ImageListing, *,
           max_wait: float = MAX_WAIT) -> Remaining:
    """Search again; while images are listed, again after 2, 4, 8... s up to `max_wait` (202 deletes lag)."""
    deadline, delay, waited = time.monotonic() + max_wait, 2.0, 0.0
    while True:
        finding = find(client, project_id, subject, listing)
        left = copies(finding)
        if not left or time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, 30.0)
    predictions = finding["predictions"]
    notes = [_images_left(finding, waited)] if left else []
    if predictions:
        notes.append(f"{predictions} selected stored predictions still listed")
    return Remaining(projectId=project_id, images=left, predictions=predictions, clean=not left and not predictions,
                     notes=notes)


def copies(finding: Finding) -> int:
    """The subject's image copies: the workspace plus every iteration's snapshot."""
    return finding["workspace"] + sum(finding["iterations"].values())


def _images_left(finding: Finding, waited: float) -> str:
    sets = ([f"{finding['workspace']} in the workspace"] if finding["workspace"] else []) + [
        f"{n} in iteration {i}" for i, n in finding["iterations"].items() if n]
    return (f"the subject's images still listed after waiting {waited:.0f} s (DeleteImages answers 202 and deletes "
            f"later): {', '.join(sets)}")
