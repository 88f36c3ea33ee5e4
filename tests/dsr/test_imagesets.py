"""Merging workspace and iteration listings into one line per image."""

from dsr.export.imagesets import WORKSPACE, merge_sets


def rec(set_key: str, image_id: str, created: str) -> dict:
    return {"set": set_key, "image": {"id": image_id, "created": created}, "file": {"path": f"images/{image_id}.png"}}


def test_merges_copies_across_sets_into_one_line() -> None:
    workspace = [rec(WORKSPACE, "a", "1"), rec(WORKSPACE, "b", "2")]
    it1 = [rec("it1", "a", "1"), rec("it1", "x", "1"), rec("it1", "b", "2")]
    it2 = [rec("it2", "b", "2"), rec("it2", "c", "3")]
    lines = list(merge_sets([workspace, it1, it2]))
    assert [line["id"] for line in lines] == ["a", "x", "b", "c"]
    by_id = {line["id"]: line for line in lines}
    assert by_id["a"]["inWorkspace"] and by_id["a"]["iterations"] == ["it1"]
    assert not by_id["x"]["inWorkspace"] and by_id["x"]["iterations"] == ["it1"]
    assert by_id["b"]["iterations"] == ["it1", "it2"]
    assert by_id["c"]["iterations"] == ["it2"] and by_id["c"]["file"] == {"path": "images/c.png"}


def test_equal_timestamps_across_page_boundaries_still_group_by_id() -> None:
    workspace = [rec(WORKSPACE, "b", "1"), rec(WORKSPACE, "a", "1")]
    it1 = [rec("it1", "a", "1"), rec("it1", "b", "1")]
    lines = list(merge_sets([workspace, it1]))
    assert [line["id"] for line in lines] == ["a", "b"]
    assert all(line["iterations"] == ["it1"] and line["inWorkspace"] for line in lines)


def test_empty_sets() -> None:
    assert list(merge_sets([[], []])) == []
