"""Walks over the Training API shared by the contract tests and the synthetic end-to-end test."""

from __future__ import annotations

import io
import uuid
from typing import Any

import requests
from PIL import Image as PilImage

REQUIRED = {
    "GetProjects", "GetProject", "DeleteProject", "ExportProject",
    "GetIterations", "GetIteration", "DeleteIteration", "UnpublishIteration", "PublishIteration", "TrainProject",
    "GetIterationPerformance", "GetImagePerformances", "GetImagePerformanceCount", "GetExports",
    "GetTags", "GetTag", "DeleteTag",
    "GetImages", "GetTaggedImages", "GetUntaggedImages", "GetImagesByIds", "GetImageCount", "GetTaggedImageCount",
    "GetUntaggedImageCount", "DeleteImages", "CreateImagesFromData", "GetArtifact",
    "QueryPredictions", "DeletePrediction",
}  # fmt: skip
NOWHERE = "00000000-0000-4000-8000-000000000000"


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def read_project(api: Any, pid: str) -> None:
    p = f"/projects/{pid}"
    api.get("GetProject", p)
    api.get("ExportProject", p + "/export")
    tags = api.get("GetTags", p + "/tags")
    assert tags, "seeded projects have tags"
    api.get("GetTag", f"{p}/tags/{tags[0]['id']}")
    for params in ({}, {"taggingStatus": "Tagged"}, {"taggingStatus": "Untagged"}, {"orderBy": "Oldest", "take": 5},
                   {"tagIds": tags[0]["id"]}, {"$filter": "camera eq 'cam-0' or subject ne 'x'"}):  # fmt: skip
        api.get("GetImages", p + "/images", **params)
        count_params = {k: v for k, v in params.items() if k not in ("orderBy", "take")}
        api.get("GetImageCount", p + "/images/count", **count_params)
    tagged = api.get("GetTaggedImages", p + "/images/tagged", take=10)
    assert all(i["tags"] for i in tagged)
    assert all("metadata" not in i or i["metadata"] for i in tagged), "empty metadata is left out, never {} or null"
    api.get("GetTaggedImages", p + "/images/tagged", tagIds=tags[0]["id"], orderBy="Oldest")
    untagged = api.get("GetUntaggedImages", p + "/images/untagged", take=10)
    assert all("tags" not in i and "regions" not in i for i in untagged), "empty tags/regions are left out"
    api.get("GetTaggedImageCount", p + "/images/tagged/count")
    api.get("GetUntaggedImageCount", p + "/images/untagged/count")
    ids = ",".join(i["id"] for i in tagged[:3])
    assert len(api.get("GetImagesByIds", p + "/images/id", imageIds=ids)) == 3
    iterations = api.get("GetIterations", p + "/iterations")
    assert [i["status"] for i in iterations] == ["Failed", "Completed", "Completed"]
    assert [i["publishName"] for i in iterations].count(None) == 2, "null when unpublished"
    for it in iterations:
        ip = f"{p}/iterations/{it['id']}"
        api.get("GetIteration", ip)
        api.get("GetIterationPerformance", ip + "/performance", threshold=0.5)
        api.get("GetImagePerformances", ip + "/performance/images", take=5)
        api.get("GetImagePerformanceCount", ip + "/performance/images/count")
        exports = api.get("GetExports", ip + "/export")
        assert all(e["downloadUri"] for e in exports if e["status"] == "Done")
        api.get("GetImages", p + "/images", iterationId=it["id"], take=5)
        api.get("GetTaggedImages", p + "/images/tagged", iterationId=it["id"], take=5)
        api.get("GetUntaggedImages", p + "/images/untagged", iterationId=it["id"], take=5)
        api.get("GetTaggedImageCount", p + "/images/tagged/count", iterationId=it["id"])
        api.get("GetUntaggedImageCount", p + "/images/untagged/count", iterationId=it["id"])
        api.get("GetTags", p + "/tags", iterationId=it["id"])
    predictions = api.all_predictions(pid)
    assert predictions
    artifact = predictions[0]["originalImageUri"].split(f"/{pid}/", 1)[1].split("?")[0]
    response = api.call("GetArtifact", "GET", p + "/artifacts", params={"path": artifact})
    assert response.status_code == 200 and response.content == requests.get(predictions[0]["originalImageUri"]).content


def ids(n: int) -> str:
    return ",".join(str(uuid.UUID(int=i + 1, version=4)) for i in range(n))


def write_walk(api: Any, server: Any) -> None:
    """Change data through every write operation, checking bytes in blob and the ground truth."""
    project = server.state()["projects"][0]
    pid, p = project["id"], f"/projects/{project['id']}"
    tag = api.call("CreateTag", "POST", p + "/tags", params={"name": "fresh"}).json()
    files = {"imageData": ("one.png", png((250, 10, 10)), "image/png")}
    response = api.call("CreateImagesFromData", "POST", p + "/images", params={"tagIds": tag["id"]}, files=files)
    assert response.status_code == 200 and response.json()["isBatchSuccessful"]
    created = response.json()["images"][0]["image"]
    assert api.download(pid, created["originalImageUri"]).content == files["imageData"][1]
    duplicate = api.call("CreateImagesFromData", "POST", p + "/images", data=files["imageData"][1],
                         headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert duplicate.status_code == 207 and duplicate.json()["images"][0]["status"] == "OKDuplicate"
    iteration = api.call("TrainProject", "POST", p + "/train").json()
    again = api.call("TrainProject", "POST", p + "/train")
    assert (again.status_code, again.json()["code"]) == (400, "BadRequestTrainingNotNeeded")
    ip = f"{p}/iterations/{iteration['id']}"
    publish = {"publishName": "m", "predictionId": "r"}
    assert api.call("PublishIteration", "POST", ip + "/publish", params=publish).json() is True
    export = api.call("ExportIteration", "POST", ip + "/export", params={"platform": "ONNX", "flavor": "ONNX10"}).json()
    assert export["status"] == "Done" and requests.get(export["downloadUri"]).content[:2] == b"PK"
    assert api.call("UnpublishIteration", "DELETE", ip + "/publish").status_code == 204
    assert api.call("DeleteIteration", "DELETE", ip).status_code == 204
    assert api.call("DeleteTag", "DELETE", f"{p}/tags/{tag['id']}").status_code == 204
    assert api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": created["id"]}).status_code == 204
    assert api.download(pid, created["originalImageUri"]).status_code == 404, "bytes of a deleted image are gone"
    prediction = project["predictions"][0]["id"]
    assert api.call("DeletePrediction", "DELETE", p + "/predictions", params={"ids": prediction}).status_code == 204
    for it in project["iterations"]:
        if it["published"]:
            assert api.call("UnpublishIteration", "DELETE", f"{p}/iterations/{it['id']}/publish").status_code == 204
    deleted = api.call("DeleteImages", "DELETE", p + "/images", params={"allImages": "true", "allIterations": "true"})
    assert deleted.status_code == 202
    assert api.call("DeleteProject", "DELETE", p).status_code == 204
    assert api.call("GetProject", "GET", p).status_code == 404
    assert pid not in {x["id"] for x in server.state()["projects"]}
