"""Emulator test helpers: the spec validator and a small HTTP client that checks every answer against it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localrun.emulator import Emulator
from tests.emulator.spec import REFERENCE_DIR, SPEC_PATH, SpecValidator


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"the official spec folder {REFERENCE_DIR} is absent; contract tests need it")
    assert SPEC_PATH.is_file(), f"{SPEC_PATH} is missing"
    return SpecValidator.load()


RETRY_MESSAGE = re.compile(r"retry after (\d+) second")


def retry_after(response: requests.Response) -> float:
    """Seconds a 429 asks to wait: `Retry-After`, else the "Please retry after N second" of its message (the
    realistic emulator, like the service's gateway, sends the header only sometimes)."""
    if "Retry-After" in response.headers:
        return float(response.headers["Retry-After"])
    match = RETRY_MESSAGE.search(response.text)
    assert match, f"a 429 must say when to retry: {response.text}"
    return float(match.group(1))


class Api:
    """Training API calls by operationId; answers are validated against the spec, 429s retried when they say."""

    def __init__(self, emulator: Emulator, spec: SpecValidator | None, *, version: str = "v3.3") -> None:
        self.emulator = emulator
        self.spec = spec
        self.base = f"{emulator.endpoint}/customvision/{version}/training"
        self.session = requests.Session()
        self.session.headers["Training-Key"] = emulator.training_key
        self.retries = 0

    def call(self, operation: str, method: str, path: str, *, honour_retry: bool = True, **kwargs: Any):  # type: ignore[no-untyped-def]
        """One operation; returns the (validated) response."""
        while True:
            response = self.session.request(method, self.base + path, timeout=240, **kwargs)  # slow bulk deletes
            if response.status_code == 429 and honour_retry:
                self.retries += 1
                time.sleep(retry_after(response))
                continue
            if self.spec is not None:
                self.spec.check(operation, response)
            return response

    def get(self, operation: str, path: str, **params: Any) -> Any:
        """GET that must succeed; returns the JSON body."""
        response = self.call(operation, "GET", path, params=params or None)
        assert response.status_code == 200, (operation, response.status_code, response.text)
        return response.json()

    def download(self, project_id: str, uri: str) -> requests.Response:
        """An image's bytes by the URI a listing gave: a SAS URL, or a relative path for GetArtifact."""
        if uri.startswith("/"):
            return self.call("GetArtifact", "GET", f"/projects/{project_id}/artifacts", params={"path": uri})
        return requests.get(uri, timeout=60)

    def all_images(self, project_id: str, iteration_id: str | None = None, *, what: str = "") -> list[dict[str, Any]]:
        """Every image of a set, checked against its count. Plain take/skip paging can miss or repeat images
        where a tie in `created` straddles two pages (the service reorders ties on every call), so pages are
        listed again until every image counted has been seen (a test helper, not the product's way)."""
        operation = {"": "GetImages", "tagged": "GetTaggedImages", "untagged": "GetUntaggedImages"}[what]
        path = f"/projects/{project_id}/images" + (f"/{what}" if what else "")
        extra = {"iterationId": iteration_id} if iteration_id else {}
        count_operation = {"": "GetImageCount", "tagged": "GetTaggedImageCount", "untagged": "GetUntaggedImageCount"}
        expected = self.get(count_operation[what], path + "/count", **extra)
        found: dict[str, dict[str, Any]] = {}
        for _ in range(20):
            skip = 0
            while page := self.get(operation, path, take=256, skip=skip, **extra):
                found.update((i["id"], i) for i in page)
                skip += len(page)
            if len(found) >= expected:
                assert len(found) == expected and skip == expected
                return list(found.values())
        raise AssertionError(f"{operation}: {len(found)} of {expected} images seen after 20 listings")

    def all_predictions(self, project_id: str, **query: Any) -> list[dict[str, Any]]:
        """Every stored prediction, following the continuation token."""
        token: dict[str, Any] = {"maxCount": 64, **query}
        out: list[dict[str, Any]] = []
        while True:
            response = self.call("QueryPredictions", "POST", f"/projects/{project_id}/predictions/query", json=token)
            assert response.status_code == 200, response.text
            body = response.json()
            out += body["results"]
            token = body["token"]
            if not token["continuation"]:
                return out


@pytest.fixture
def api_for(spec: SpecValidator) -> Iterator[Any]:
    """`api_for(emulator, version="v3.3")` -> Api bound to the spec validator."""
    made: list[Api] = []

    def make(emulator: Emulator, version: str = "v3.3") -> Api:
        made.append(Api(emulator, spec, version=version))
        return made[-1]

    yield make
    for api in made:
        api.session.close()
