"""Stored predictions: QueryPredictions (session + continuation paging) and DeletePrediction."""

from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from emulator import render
from emulator.errors import bad_request
from emulator.model import StoredPrediction, iso
from emulator.params import canonical, project_id, uuid_list
from emulator.runtime import runtime

DEFAULT_MAX_COUNT = 50
MAX_COUNT = 256
MAX_TAGS = 2
MAX_DELETE = 64
INVALID = "BadRequestPredictionInvalidQueryParameters"


def _invalid(message: str) -> Exception:
    return bad_request(INVALID, message)


def _time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"{name} is not a date-time.") from None


def _encode(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode(continuation: str) -> tuple[str, str]:
    try:
        created, pid = json.loads(base64.urlsafe_b64decode(continuation.encode()))
        return str(created), str(pid)
    except (ValueError, TypeError, binascii.Error):
        raise _invalid("The continuation token is not valid.") from None


def _matches(prediction: StoredPrediction, query: dict[str, Any]) -> bool:
    if query["iterationId"] and prediction.iteration_id != query["iterationId"]:
        return False
    if query["application"] and prediction.application != query["application"]:
        return False  # the stored result does not carry it (StoredImagePrediction): only the query can select it
    if query["start"] and prediction.created < query["start"]:
        return False
    if query["end"] and prediction.created > query["end"]:
        return False
    for wanted in query["tags"]:
        low, high = wanted["minThreshold"], wanted["maxThreshold"]
        if not any(p.tag_id == wanted["id"] and low <= p.probability <= high for p in prediction.predictions):
            return False
    return True


def _parse_token(body: Any, limit: int = MAX_COUNT) -> dict[str, Any]:
    """The PredictionQueryToken fields, checked; unknown fields are ignored like the service does."""
    if not isinstance(body, dict):
        raise _invalid("The body must be a PredictionQueryToken object.")
    max_count = body.get("maxCount") or DEFAULT_MAX_COUNT
    if not isinstance(max_count, int) or max_count < 0:
        raise _invalid("maxCount must be a non-negative integer.")
    if max_count > limit:
        raise bad_request("BadRequestPredictionResultsExceededCount", f"maxCount is limited to {limit}.")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise bad_request("BadRequestPredictionTagsExceededCount", f"At most {MAX_TAGS} tags can be combined.")
    parsed_tags = []
    for tag in tags:
        try:
            parsed_tags.append(
                {
                    "id": canonical(str(tag["id"])),
                    "minThreshold": float(tag.get("minThreshold", 0.0)),
                    "maxThreshold": float(tag.get("maxThreshold", 1.0)),
                }
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _invalid("Each tag needs an id and numeric thresholds.") from None
    iteration_id = body.get("iterationId")
    try:
        iteration_id = canonical(str(iteration_id)) if iteration_id else None
    except ValueError:
        raise bad_request("BadRequestInvalidIds", "iterationId is not a valid id.") from None
    order = str(body.get("orderBy") or "Newest")
    if order not in ("Newest", "Oldest", "Suggested"):
        raise _invalid("orderBy must be Newest, Oldest or Suggested.")
    return {
        "session": str(body.get("session") or ""),
        "continuation": str(body.get("continuation") or ""),
        "maxCount": max_count,
        "orderBy": order,
        "tags": parsed_tags,
        "iterationId": iteration_id,
        "start": _time(body.get("startTime"), "startTime"),
        "end": _time(body.get("endTime"), "endTime"),
        "application": str(body.get("application") or ""),
    }


async def query_predictions(request: web.Request) -> web.Response:
    """One page of stored predictions; pass the returned token back for the next (empty continuation: done)."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    try:
        body = await request.json()
    except ValueError:
        raise _invalid("The body must be JSON.") from None
    realism = rt.config.realism
    query = _parse_token(body, realism.prediction_page_limit)
    newest = query["orderBy"] != "Oldest"
    found = sorted(
        (p for p in project.predictions.values() if _matches(p, query)),
        key=lambda p: (iso(p.created), p.id),
        reverse=newest,
    )
    if query["continuation"]:
        after = _decode(query["continuation"])
        found = [p for p in found if ((iso(p.created), p.id) < after if newest else (iso(p.created), p.id) > after)]
    page = found[: query["maxCount"]]
    more = len(found) > len(page)
    token = {
        "session": query["session"] or _session(realism.enabled),
        "continuation": _encode((iso(page[-1].created), page[-1].id)) if more and page else "",
        "maxCount": query["maxCount"],
        "orderBy": query["orderBy"],
        "tags": query["tags"],
        "iterationId": query["iterationId"],
        "startTime": iso(query["start"]) if query["start"] else None,
        "endTime": iso(query["end"]) if query["end"] else None,
        "application": query["application"],
    }
    if realism.enabled:  # empty fields are null (QueryPredictionResults.json)
        token = {k: (v if v not in ("", []) else None) for k, v in token.items()}
    results = [render.stored_prediction(p, project, rt.link, realism) for p in page]
    return web.json_response({"token": token, "results": results})


def _session(realistic: bool) -> str:
    """A new query session: `<partition>:<number>` like the service's ("1:1583893"), else a random hex."""
    if realistic:
        return f"{random.randrange(1, 10)}:{random.randrange(100_000, 10_000_000)}"
    return uuid.uuid4().hex


async def delete_prediction(request: web.Request) -> web.Response:
    """Delete up to 64 stored predictions and their images; unknown ids are ignored."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    ids = uuid_list(request, "ids", limit=MAX_DELETE, exceeded_code="BadRequestPredictionIdsExceededCount")
    if not ids:
        raise bad_request("BadRequestPredictionIdsMissing", "ids is required.")
    await rt.blobs.delete_many(rt.store.delete_predictions(project, ids))
    return web.Response(status=204)
