"""Validate emulator answers against the official Training API v3.3 spec (Swagger 2.0) with jsonschema."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import requests

from tests.emulator.recorded_facts import RECORDED_NULLS

REFERENCE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
SPEC_PATH = REFERENCE_DIR / "customvision-training-v3.3.json"
GATEWAY_STATUSES = (401, 429)  # answered before the service runs; their codes are outside the service's enum

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


# The spec says `date-time`; the service writes UTC with up to 7 fractional digits, with a Z (projects, iterations,
# predictions) or without any zone (images and their tags and regions): tests/emulator/recorded_facts.py.
SERVICE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z?$")


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """A time as the service writes it (see SERVICE_TIME)."""
    if isinstance(value, str) and not SERVICE_TIME.match(value):
        raise ValueError(f"{value!r} is not a time as the service writes it")
    return True


def _strict(schema: Any) -> Any:
    """Swagger 2.0 -> JSON Schema: honour `x-nullable`, and reject properties the spec does not declare."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("x-nullable") is True:
        if "$ref" in out:
            return {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
    return out


class SpecValidator:
    """Checks a response of an operation (by operationId) against its declared status and schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        definitions = copy.deepcopy(spec["definitions"])
        for name, fields in RECORDED_NULLS.items():  # the real service sends these null: the recording wins
            for field in fields:
                definitions[name]["properties"][field]["x-nullable"] = True
        self.definitions = _strict(definitions)
        self.paths: dict[str, dict[str, Any]] = spec["paths"]
        self.operations: dict[str, dict[str, Any]] = {}
        for ops in self.paths.values():
            for op in ops.values():
                if isinstance(op, dict) and "operationId" in op:
                    self.operations[op["operationId"]] = op
        self.validated: dict[str, set[int]] = {}

    @classmethod
    def load(cls) -> SpecValidator:
        return cls(json.loads(SPEC_PATH.read_text()))

    def operation_at(self, path: str, method: str) -> dict[str, Any] | None:
        """The operation the spec declares for a path (relative to basePath) and method."""
        return self.paths.get(path, {}).get(method.lower())

    def schema_for(self, operation_id: str, status: int) -> tuple[bool, Any]:
        """(declared, schema) for a status: the operation's own entry, else `default` (the error body)."""
        responses = self.operations[operation_id]["responses"]
        if str(status) in responses:
            return True, responses[str(status)].get("schema")
        return False, responses["default"]["schema"]

    def check(self, operation_id: str, response: requests.Response) -> None:
        """Raise AssertionError/ValidationError when the answer does not match the spec."""
        status = response.status_code
        declared, schema = self.schema_for(operation_id, status)
        if 200 <= status < 300:
            assert declared, f"{operation_id}: status {status} is not in the spec"
        else:
            assert not declared and status >= 400, f"{operation_id}: unexpected status {status}"
        if schema is None:
            assert response.content == b"", f"{operation_id}: {status} must have no body"
        elif schema.get("type") == "file":
            assert response.headers["Content-Type"].startswith("application/octet-stream")
        else:
            assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
            body = response.json()
            schema = _strict(copy.deepcopy(schema))
            if status in GATEWAY_STATUSES:  # `{code, message}` with an open code, or `{"error": {code, message}}`
                schema = {"anyOf": [{"$ref": "#/definitions/GatewayError"}, {
                    "type": "object", "required": ["error"], "additionalProperties": False,
                    "properties": {"error": {"$ref": "#/definitions/GatewayError"}}}]}
            jsonschema.Draft4Validator(
                {**schema, "definitions": {**self.definitions, "GatewayError": self._gateway_error()}},
                format_checker=FORMATS,
            ).validate(body)
        self.validated.setdefault(operation_id, set()).add(status)

    def _gateway_error(self) -> dict[str, Any]:
        error = copy.deepcopy(self.definitions["CustomVisionError"])
        error["properties"]["code"].pop("enum")
        return error
