"""The delete order for every requested set of categories, as a table (pure)."""

import pytest

from dsr.delete.order import STEP_ORDER, Step, steps_for

P, U, IM, T, IT, PR = Step.PREDICTIONS, Step.UNPUBLISH, Step.IMAGES, Step.TAGS, Step.ITERATIONS, Step.PROJECT


def test_the_order_is_the_contract() -> None:
    assert [str(s) for s in STEP_ORDER] == ["predictions", "unpublish", "images", "tags", "iterations", "project"]


@pytest.mark.parametrize(
    ("categories", "steps"),
    [
        (["images"], [IM]),
        (["predictions"], [P]),
        (["tags"], [T]),
        (["iterations"], [U, IT]),
        (["iteration_performance"], [U, IT]),
        (["iterations", "iteration_performance"], [U, IT]),
        (["projects"], [P, U, IM, T, IT, PR]),
        (["projects", "images"], [P, U, IM, T, IT, PR]),
        (["tags", "images", "predictions"], [P, IM, T]),
        (["iterations", "images"], [U, IM, IT]),
        (["account"], []),
        (["exported_models"], []),
        (["account", "exported_models", "tags"], [T]),
        ([], []),
    ],
)
def test_steps_for(categories: list[str], steps: list[Step]) -> None:
    assert steps_for(categories) == steps


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError):
        steps_for(["imagez"])
