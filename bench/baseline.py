"""The script a user would write instead: the official SDK (azure-cognitiveservices-vision-customvision 3.1.1),
sequential, workspace tagged + untagged images 256 a page, each original downloaded and uploaded to Blob.

What "straightforward" means here, measured rather than assumed: the SDK's msrest transport already retries
a 429 on GET and DELETE (urllib3 `Retry`, 3 attempts, honouring `Retry-After`), so the script only adds what a
user adds after the first crash: when the SDK gives up on a 429, sleep `Retry-After` (1 s if absent) and call
again. It pages the workspace only (GetTaggedImages/GetUntaggedImages), so images that survive only in a
trained iteration are missed; and it deletes without `allIterations`, so iteration snapshots keep their copies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypedDict, TypeVar

import requests
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import CustomVisionErrorException
from azure.storage.blob import BlobServiceClient
from msrest.authentication import ApiKeyCredentials
from msrest.exceptions import ClientRequestError

PAGE = 256  # the API's largest page, what a user picks after reading the docs
MAX_SCRIPT_RETRIES = 50  # a bound, so a broken emulator ends the run instead of looping
T = TypeVar("T")

NOTES = [
    "official SDK azure-cognitiveservices-vision-customvision 3.1.1 (Training API 3.4-preview), one thread",
    "the SDK's msrest/urllib3 transport retries 429 on GET/DELETE up to 3 times honouring Retry-After; "
    "the script sleeps Retry-After and retries when it gives up (what a user adds after the first crash)",
    "lists the workspace only (tagged + untagged, 256 a page): iteration-only images are missed",
    "deletes 256 ids a call without allIterations: iteration snapshots keep their copies",
]


class BaselineRun(TypedDict):
    operation: str
    wallSeconds: float  # measured, or measured + extrapolated when `extrapolated`
    measuredSeconds: float
    extrapolated: bool
    sampledImages: int | None  # images downloaded+uploaded when sampling, else None
    images: int  # workspace images the script found (listed), i.e. what it exported or deleted
    imagesPerSecond: float
    listCalls: int
    scriptRetries: int  # 429s that got past the SDK's own retries
    deleteCallSeconds: float  # time spent inside DeleteImages calls (delete)
    emulator: dict[str, Any] | None  # filled in by the caller from /_emulator/stats
    leftBehind: int | None  # images the project still holds afterwards (delete), filled in by the caller
    notes: list[str]


class Baseline:
    """The SDK client plus a Blob container, as a user's script would set them up."""

    def __init__(self, endpoint: str, training_key: str, connection_string: str, container: str) -> None:
        self.client = CustomVisionTrainingClient(endpoint, ApiKeyCredentials(in_headers={"Training-key": training_key}))
        self.container = BlobServiceClient.from_connection_string(connection_string).get_container_client(container)
        if not self.container.exists():
            self.container.create_container()
        self.http = requests.Session()
        self.retries = 0
        self.list_calls = 0
        self.delete_seconds = 0.0  # time inside DeleteImages calls (delete only)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the SDK; on a 429 that got past its own retries, sleep Retry-After and call again."""
        for _ in range(MAX_SCRIPT_RETRIES):
            try:
                return fn(*args, **kwargs)
            except CustomVisionErrorException as exc:
                if exc.response is None or exc.response.status_code != 429:
                    raise
                delay = float(exc.response.headers.get("Retry-After") or 1)
            except ClientRequestError as exc:  # urllib3 gave up: "too many 429 error responses"
                if "429" not in str(exc):
                    raise
                delay = 1.0
            self.retries += 1
            time.sleep(delay)
        raise RuntimeError(f"still throttled after {MAX_SCRIPT_RETRIES} retries")

    def pages(self, project_id: str) -> Iterator[list[Any]]:
        """Workspace tagged images, then untagged, one page of 256 at a time."""
        for list_fn in (self.client.get_tagged_images, self.client.get_untagged_images):
            skip = 0
            while True:
                page = self.call(list_fn, project_id, take=PAGE, skip=skip)
                self.list_calls += 1
                yield page
                if len(page) < PAGE:
                    break
                skip += PAGE

    def copy_image(self, project_id: str, image: Any) -> None:
        """Download the original and upload it to Blob (a relative URI through the SDK's GetArtifact)."""
        uri = image.original_image_uri
        if not uri.startswith("http"):  # the real service gives some images as paths (docs/real-service.md)
            data = b"".join(self.call(self.client.get_artifact, project_id, uri))
            self.container.upload_blob(f"{project_id}/{image.id}", data, overwrite=True)
            return
        response = self.http.get(uri, timeout=60)
        response.raise_for_status()
        ext = "png" if response.headers.get("Content-Type", "").endswith("png") else "jpg"
        self.container.upload_blob(f"{project_id}/{image.id}.{ext}", response.content, overwrite=True)

    def export(self, project_ids: list[str], *, sample: int | None = None) -> BaselineRun:
        """Every workspace image of every project; with `sample`, copy only the first `sample` and extrapolate."""
        found = copied = 0
        copy_seconds = 0.0
        started = time.perf_counter()
        for project_id in project_ids:
            for page in self.pages(project_id):
                found += len(page)
                for image in page:
                    if sample is not None and copied >= sample:
                        continue
                    t0 = time.perf_counter()
                    self.copy_image(project_id, image)
                    copy_seconds += time.perf_counter() - t0
                    copied += 1
        measured = time.perf_counter() - started
        wall = measured
        extrapolated = sample is not None and copied < found
        if extrapolated and copied:
            wall = measured + (found - copied) * copy_seconds / copied
        return self._run("export", wall, measured, extrapolated, copied if sample is not None else None, found)

    def delete(self, project_ids: list[str]) -> BaselineRun:
        """List every workspace image id, then DeleteImages 256 ids a call."""
        found = 0
        started = time.perf_counter()
        for project_id in project_ids:
            ids = [image.id for page in self.pages(project_id) for image in page]
            found += len(ids)
            for start in range(0, len(ids), PAGE):
                t0 = time.perf_counter()
                self.call(self.client.delete_images, project_id, image_ids=ids[start : start + PAGE])
                self.delete_seconds += time.perf_counter() - t0
        measured = time.perf_counter() - started
        return self._run("delete", measured, measured, False, None, found)

    def _run(self, operation: str, wall: float, measured: float, extrapolated: bool, sampled: int | None,
             images: int) -> BaselineRun:
        return BaselineRun(
            operation=operation,
            wallSeconds=round(wall, 3),
            measuredSeconds=round(measured, 3),
            extrapolated=extrapolated,
            sampledImages=sampled,
            images=images,
            imagesPerSecond=round(images / wall, 1) if wall > 0 else 0.0,
            listCalls=self.list_calls,
            scriptRetries=self.retries,
            deleteCallSeconds=round(self.delete_seconds, 3),
            emulator=None,
            leftBehind=None,
            notes=list(NOTES),
        )
