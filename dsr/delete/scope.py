"""Small helpers over the client shared by plan, steps and verify: what exists, and what "gone" means."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from customvision import (
    CustomVisionErrorCode,
    CustomVisionHttpError,
    CustomVisionNotFoundError,
    Iteration,
    TrainingClient,
)
from dsr.export.listing import ImageListing
from dsr.times import iso_utc, parse_time

PREDICTION_PAGE = 256  # QueryPredictions' largest maxCount (the client halves it if the service refuses it)
CALLS_AT_ONCE = 4  # independent calls (a set's count, probe or listing; a DeleteImages) in flight at once
K = TypeVar("K")
V = TypeVar("V")


def is_gone(exc: BaseException, code: CustomVisionErrorCode = CustomVisionErrorCode.NOT_FOUND_PROJECT) -> bool:
    """True when the service confirmed (by its error code, not a bare 404) that the thing no longer exists: its own
    `NotFound*` code, or the generic `NotFound` a request for something already deleted may meet instead."""
    return isinstance(exc, CustomVisionNotFoundError) and exc.error_code in (code, CustomVisionErrorCode.NOT_FOUND)


def iterations(client: TrainingClient, project_id: str) -> list[Iteration]:
    """Every iteration of the project (one call)."""
    return list(client.list_iterations(project_id))


def snapshot_ids(items: list[Iteration]) -> list[str]:
    """Iterations that may hold an image snapshot: every one, whatever its status (Completed ones do; a Training
    or Failed one is listed too, and holds none when the service lists none), as the export lists them."""
    return [it["id"] for it in items]


def is_refused_set(exc: BaseException) -> bool:
    """An iteration's image set the service will not list (gone, or never trained): it holds nothing."""
    return isinstance(exc, CustomVisionHttpError) and exc.status_code in (400, 404) and not is_gone(exc)


def image_count(client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
    """GetImageCount of the workspace or one iteration's snapshot (0 when the service will not list that set)."""
    try:
        return client.get_image_count(project_id, iteration_id=iteration_id)
    except CustomVisionHttpError as exc:
        if iteration_id is not None and is_refused_set(exc):
            return 0
        raise


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


def prediction_query(older_than: datetime | None) -> dict[str, Any]:
    """Everything, oldest first; with a cutoff the service is also asked to stop at it (we re-check)."""
    query: dict[str, Any] = {"orderBy": "Oldest", "maxCount": PREDICTION_PAGE}
    if older_than is not None:
        query["endTime"] = iso_utc(older_than)
    return query


def older(prediction: dict[str, Any], older_than: datetime | None) -> bool:
    """Strictly older than the cutoff (no cutoff: every prediction qualifies)."""
    return older_than is None or parse_time(prediction["created"]) < older_than


# Which stored predictions a delete takes: a QueryPredictions token and a check of each result.
PredictionSelection = tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]


def first_prediction_page(client: TrainingClient, project_id: str, older_than: datetime | None, *,
                          selection: PredictionSelection | None = None) -> list[dict[str, Any]]:
    """The oldest page of stored predictions that qualify (one call): older than the cutoff, or `selection`'s."""
    query, keep = selection or (prediction_query(older_than), lambda p: older(p, older_than))
    pages = client.query_predictions(project_id, query).by_page()
    page = list(next(iter(pages), []))
    return [p for p in page if keep(p)]


def qualifying_predictions(client: TrainingClient, project_id: str, older_than: datetime | None) -> Iterator[Any]:
    """Every qualifying stored prediction, oldest first; stops at the first one past the cutoff."""
    for prediction in client.query_predictions(project_id, prediction_query(older_than)):
        if not older(prediction, older_than):
            return
        yield prediction


def set_page(client: TrainingClient, project_id: str, iteration_id: str | None, skip: int, take: int,
             listing: ImageListing) -> list[dict[str, Any]]:
    """One page of one image set; an iteration deleted meanwhile (or one the service will not list) holds nothing."""
    try:
        return listing.page(client, project_id, iteration_id, skip, take)
    except CustomVisionHttpError as exc:
        if iteration_id is not None and is_refused_set(exc):
            return []
        raise


def side_by_side(calls: Mapping[K, Callable[[], V]]) -> dict[K, V]:
    """Each call's answer, the calls made side by side: the rate budget paces them, so none waits for another's
    round trip. The first error is raised."""
    if not calls:
        return {}
    with ThreadPoolExecutor(max_workers=min(CALLS_AT_ONCE, len(calls))) as pool:
        futures = {key: pool.submit(call) for key, call in calls.items()}
    return {key: future.result() for key, future in futures.items()}
