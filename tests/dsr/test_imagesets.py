"""Merging workspace and iteration listings into one line per image."""

from dsr.export.imagesets import WORKSPACE, merge_sets

T = {"1": "2020-06-06T17:53:27.9103235", "2": "2020-06-06T17:53:28.08", "3": "2020-06-06T17:53:28.0821491"}


def rec(set_key: str, image_id: str, created: str) -> dict:
    """A part record; `created` "1" < "2" < "3" stand for service times (no zone, up to 7 digits)."""
    return {"set": set_key, "image": {"id": image_id, "created": T.get(created, created), "width": 900, "height": 600},
            "file": {"path": f"images/{image_id}.png"}}


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


def test_times_merge_as_utc_ticks_not_as_text() -> None:
    """"…28.1Z" sorts before "…28.09" as text; as times it is after. Mixed forms still merge by time."""
    workspace = [rec(WORKSPACE, "a", "2020-06-06T17:53:28.09"), rec(WORKSPACE, "b", "2020-06-06T17:53:28.1")]
    it1 = [rec("it1", "x", "2020-06-06T17:53:28.0900001Z"), rec("it1", "b", "2020-06-06T17:53:28.1000000Z")]
    lines = list(merge_sets([workspace, it1]))
    assert [line["id"] for line in lines] == ["a", "x", "b"]
    assert lines[2]["iterations"] == ["it1"] and lines[2]["created"] == "2020-06-06T17:53:28.1", "the service's text"


def test_a_line_gives_the_originals_pixels_and_a_failed_copy_its_error() -> None:
    copied = {**rec(WORKSPACE, "a", "1"), "pixels": [4032, 3024]}
    failed = {**rec(WORKSPACE, "b", "2"), "file": None, "exportError": {"code": "Forbidden", "message": "HTTP 403"}}
    line_a, line_b = merge_sets([[copied, failed]])
    sizes = (line_a["width"], line_a["height"], line_a["resizedWidth"], line_a["resizedHeight"])
    assert sizes == (4032, 3024, 900, 600)
    assert line_b["file"] is None and line_b["exportError"]["code"] == "Forbidden"
    assert (line_b["width"], line_b["height"]) == (900, 600), "no bytes read: the listed size is all there is"
