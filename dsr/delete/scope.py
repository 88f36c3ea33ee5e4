"""Small helpers over the client shared by plan, steps and verify: what exists, and what "gone" means."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from customvision import CustomVisionErrorCode, CustomVisionNotFoundError, Iteration, TrainingClient

PREDICTION_PAGE = 256  # QueryPredictions' largest maxCount


def is_gone(exc: BaseException, code: CustomVisionErrorCode = CustomVisionErrorCode.NOT_FOUND_PROJECT) -> bool:
    """True when the service confirmed (by its error code, not a bare 404) that the thing no longer exists."""
    return isinstance(exc, CustomVisionNotFoundError) and exc.error_code == code


def iterations(client: TrainingClient, project_id: str) -> list[Iteration]:
    """Every iteration of the project (one call)."""
    return list(client.list_iterations(project_id))


def snapshot_ids(items: list[Iteration]) -> list[str]:
    """Iterations that hold an image snapshot (trained ones), as the export lists them."""
    return [it["id"] for it in items if it.get("status") == "Completed"]


def is_published(iteration: Iteration) -> bool:
    return bool(iteration.get("publishName"))


def prediction_cutoff(now: datetime | str, older_than_days: int) -> datetime:
    """The moment before which stored predictions are deleted: `now` minus N days (timezone-aware, UTC)."""
    if older_than_days < 0:
        raise ValueError("olderThanDays must not be negative")
    moment = parse_time(now) if isinstance(now, str) else now
    if moment.tzinfo is None:
        raise ValueError("now must carry a timezone")
    return moment.astimezone(UTC) - timedelta(days=older_than_days)


def parse_time(text: str) -> datetime:
    """An ISO-8601 date-time as the service and Durable write it (`Z` accepted)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as the service writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def prediction_query(older_than: datetime | None) -> dict[str, Any]:
    """Everything, oldest first; with a cutoff the service is also asked to stop at it (we re-check)."""
    query: dict[str, Any] = {"orderBy": "Oldest", "maxCount": PREDICTION_PAGE}
    if older_than is not None:
        query["endTime"] = iso(older_than)
    return query


def older(prediction: dict[str, Any], older_than: datetime | None) -> bool:
    """Strictly older than the cutoff (no cutoff: every prediction qualifies)."""
    return older_than is None or parse_time(prediction["created"]) < older_than


def first_prediction_page(client: TrainingClient, project_id: str, older_than: datetime | None) -> list[dict[str, Any]]:
    """The oldest page of stored predictions that qualify (one call)."""
    pages = client.query_predictions(project_id, prediction_query(older_than)).by_page()
    page = list(next(iter(pages), []))
    return [p for p in page if older(p, older_than)]


def qualifying_predictions(client: TrainingClient, project_id: str, older_than: datetime | None) -> Iterator[Any]:
    """Every qualifying stored prediction, oldest first; stops at the first one past the cutoff."""
    for prediction in client.query_predictions(project_id, prediction_query(older_than)):
        if not older(prediction, older_than):
            return
        yield prediction
