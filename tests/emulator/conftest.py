"""Emulator test helpers: the spec validator and a small HTTP client that checks every answer against it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localstack.emulator import Emulator
from tests.emulator.spec import REFERENCE_DIR, SPEC_PATH, SpecValidator


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"the official spec folder {REFERENCE_DIR} is absent; contract tests need it")
    assert SPEC_PATH.is_file(), f"{SPEC_PATH} is missing"
    return SpecValidator.load()


class Api:
    """Training API calls by operationId; answers are validated against the spec, 429s retried after Retry-After."""

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
                assert response.headers["Retry-After"] == "1"
                self.retries += 1
                time.sleep(float(response.headers["Retry-After"]))
                continue
            if self.spec is not None:
                self.spec.check(operation, response)
            return response

    def get(self, operation: str, path: str, **params: Any) -> Any:
        """GET that must succeed; returns the JSON body."""
        response = self.call(operation, "GET", path, params=params or None)
        assert response.status_code == 200, (operation, response.status_code, response.text)
        return response.json()

    def all_images(self, project_id: str, iteration_id: str | None = None, *, what: str = "") -> list[dict[str, Any]]:
        """Every image of a set via take/skip paging (256 a page)."""
        operation = {"": "GetImages", "tagged": "GetTaggedImages", "untagged": "GetUntaggedImages"}[what]
        path = f"/projects/{project_id}/images" + (f"/{what}" if what else "")
        out: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"take": 256, "skip": len(out)}
            if iteration_id:
                params["iterationId"] = iteration_id
            page = self.get(operation, path, **params)
            out += page
            if len(page) < 256:
                return out

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
