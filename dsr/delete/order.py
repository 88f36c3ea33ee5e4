"""Which delete steps a set of requested categories needs, in the one order the service allows (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from dsr.categories import Category


class Step(StrEnum):
    """One kind of delete call on a project, in execution order (the member order is the contract)."""

    PREDICTIONS = "predictions"  # DeletePrediction, 64 ids a call
    UNPUBLISH = "unpublish"  # UnpublishIteration: published iterations refuse deletion
    IMAGES = "images"  # DeleteImages allIterations=true, 256 ids a call, workspace then every iteration
    TAGS = "tags"  # DeleteTag
    ITERATIONS = "iterations"  # DeleteIteration (takes iteration performance and exports with it)
    PROJECT = "project"  # DeleteProject


STEP_ORDER: tuple[Step, ...] = tuple(Step)

# What each category needs; `projects` deletes everything in the project. `account` and
# `exported_models` have no project-level delete (ARM deletes the account; exports go with it).
_NEEDS: dict[Category, tuple[Step, ...]] = {
    Category.PROJECTS: STEP_ORDER,
    Category.ITERATIONS: (Step.UNPUBLISH, Step.ITERATIONS),
    Category.ITERATION_PERFORMANCE: (Step.UNPUBLISH, Step.ITERATIONS),  # only DeleteIteration removes it
    Category.TAGS: (Step.TAGS,),
    Category.IMAGES: (Step.IMAGES,),
    Category.PREDICTIONS: (Step.PREDICTIONS,),
    Category.EXPORTED_MODELS: (),
    Category.ACCOUNT: (),
}

# The categories a project's delete steps remove, counted before and after: not the account (ARM deletes it) nor
# exported models (they go with the account). Not `dsr.categories.PROJECT_CATEGORIES`, what a project holds.
PROJECT_DELETE_CATEGORIES: frozenset[Category] = frozenset(c for c, steps in _NEEDS.items() if steps)


def steps_for(categories: Iterable[str]) -> list[Step]:
    """The steps to run for `categories`, each once, in `STEP_ORDER`; ValueError for an unknown category."""
    wanted = {step for category in categories for step in _NEEDS[Category(category)]}
    return [step for step in STEP_ORDER if step in wanted]
