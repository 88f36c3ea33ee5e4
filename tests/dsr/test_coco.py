"""COCO export of object-detection regions."""

import json

from dsr.export.coco import coco_chunks


def test_coco_document_converts_normalized_regions_to_pixels() -> None:
    lines = [
        {"id": "img-1", "width": 200, "height": 100, "file": {"path": "images/img-1.jpg"},
         "regions": [{"regionId": "r1", "tagId": "t2", "left": 0.1, "top": 0.2, "width": 0.5, "height": 0.5}]},
        {"id": "img-2", "width": 10, "height": 10, "file": {"path": "images/img-2.png"}, "regions": []},
    ]
    tags = [{"id": "t2", "name": "dog"}, {"id": "t1", "name": "cat"}]
    doc = json.loads(b"".join(coco_chunks(lambda: iter(lines), tags, project={"id": "p", "name": "P"})))
    assert [c["name"] for c in doc["categories"]] == ["cat", "dog"]
    assert [i["file_name"] for i in doc["images"]] == ["images/img-1.jpg", "images/img-2.png"]
    (annotation,) = doc["annotations"]
    assert annotation["image_id"] == 1 and annotation["category_id"] == 2
    assert annotation["bbox"] == [20.0, 20.0, 100.0, 50.0] and annotation["area"] == 5000.0


def test_coco_without_images_is_valid_json() -> None:
    doc = json.loads(b"".join(coco_chunks(lambda: iter([]), [], project={"id": "p"})))
    assert doc["images"] == [] and doc["annotations"] == []
