"""Pure request builders: one function per Training API operation, no I/O, URLs relative to the endpoint."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from azure.core.rest import HttpRequest

MAX_TAKE = 256  # GetImages & co.: `take` is limited to 256
MAX_IMAGE_IDS = 256  # DeleteImages, GetImagesByIds
MAX_PREDICTION_IDS = 64  # DeletePrediction
MAX_METADATA_IDS = 64  # UpdateImageMetadata ("There is a limit of 64 images", the spec's description)

Params = dict[str, str]


def _path(api_version: str, *segments: str) -> str:
    """`/customvision/v{api_version}/training/...` with every id percent-encoded."""
    return f"/customvision/v{quote(api_version, safe='.-')}/training/" + "/".join(
        quote(str(segment), safe="") for segment in segments
    )


def _params(**values: Any) -> Params:
    """Query parameters in the service's spelling: None dropped, bools lowercase, lists comma-joined."""
    params: Params = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            params[name] = ",".join(str(item) for item in value)
        else:
            params[name] = str(value)
    return params


def _url(path: str, params: Params | None) -> str:
    """Path plus a percent-encoded query (commas kept: the spec's arrays are `collectionFormat: csv`)."""
    return f"{path}?{urlencode(params, quote_via=quote, safe=',$')}" if params else path


def _get(path: str, params: Params | None = None) -> HttpRequest:
    return HttpRequest("GET", _url(path, params), headers={"Accept": "application/json"})


def _delete(path: str, params: Params | None = None) -> HttpRequest:
    return HttpRequest("DELETE", _url(path, params), headers={"Accept": "application/json"})


def _post(path: str, params: Params | None = None, *, json: Any = None) -> HttpRequest:
    return HttpRequest("POST", _url(path, params), json=json, headers={"Accept": "application/json"})


def _check_take(take: int) -> int:
    if not 0 < take <= MAX_TAKE:
        raise ValueError(f"take must be 1..{MAX_TAKE}, got {take}")
    return take


def _check_batch(ids: Sequence[str], limit: int, what: str) -> list[str]:
    ids = list(ids)
    if not 0 < len(ids) <= limit:
        raise ValueError(f"{what}: give 1..{limit} ids per call, got {len(ids)}")
    return ids


# Projects


def build_get_projects(*, api_version: str) -> HttpRequest:
    """GetProjects."""
    return _get(_path(api_version, "projects"))


def build_get_project(project_id: str, *, api_version: str) -> HttpRequest:
    """GetProject."""
    return _get(_path(api_version, "projects", project_id))


def build_create_project(
    name: str, *, api_version: str, description: str | None = None, domain_id: str | None = None,
    classification_type: str | None = None,
) -> HttpRequest:
    """CreateProject (tests and demos)."""
    params = _params(name=name, description=description, domainId=domain_id,
                     classificationType=classification_type)
    return _post(_path(api_version, "projects"), params)


def build_delete_project(project_id: str, *, api_version: str) -> HttpRequest:
    """DeleteProject."""
    return _delete(_path(api_version, "projects", project_id))


def build_get_artifact(project_id: str, path: str, *, api_version: str) -> HttpRequest:
    """GetArtifact: the bytes behind a relative URI a listing gave (e.g. `/i-<project hex>/o-<image hex>`)."""
    if not path:
        raise ValueError("GetArtifact needs a path")
    return HttpRequest("GET", _url(_path(api_version, "projects", project_id, "artifacts"), {"path": path}),
                       headers={"Accept": "application/octet-stream"})


def is_relative_uri(uri: str) -> bool:
    """True for a listing's relative URI (a path for GetArtifact), False for an absolute (SAS) URL."""
    return not uri.lower().startswith(("https://", "http://"))


def build_export_project(project_id: str, *, api_version: str) -> HttpRequest:
    """ExportProject: a token to re-import the project elsewhere."""
    return _get(_path(api_version, "projects", project_id, "export"))


# Iterations


def build_get_iterations(project_id: str, *, api_version: str) -> HttpRequest:
    """GetIterations."""
    return _get(_path(api_version, "projects", project_id, "iterations"))


def build_get_iteration(project_id: str, iteration_id: str, *, api_version: str) -> HttpRequest:
    """GetIteration."""
    return _get(_path(api_version, "projects", project_id, "iterations", iteration_id))


def build_delete_iteration(project_id: str, iteration_id: str, *, api_version: str) -> HttpRequest:
    """DeleteIteration."""
    return _delete(_path(api_version, "projects", project_id, "iterations", iteration_id))


def build_publish_iteration(
    project_id: str, iteration_id: str, publish_name: str, prediction_id: str, *, api_version: str,
    overwrite: bool | None = None,
) -> HttpRequest:
    """PublishIteration."""
    params = _params(publishName=publish_name, predictionId=prediction_id, overwrite=overwrite)
    return _post(_path(api_version, "projects", project_id, "iterations", iteration_id, "publish"), params)


def build_unpublish_iteration(project_id: str, iteration_id: str, *, api_version: str) -> HttpRequest:
    """UnpublishIteration."""
    return _delete(_path(api_version, "projects", project_id, "iterations", iteration_id, "publish"))


def build_get_iteration_performance(
    project_id: str, iteration_id: str, *, api_version: str, threshold: float | None = None,
    overlap_threshold: float | None = None,
) -> HttpRequest:
    """GetIterationPerformance."""
    params = _params(threshold=threshold, overlapThreshold=overlap_threshold)
    return _get(_path(api_version, "projects", project_id, "iterations", iteration_id, "performance"), params)


def build_get_image_performances(
    project_id: str, iteration_id: str, *, api_version: str, skip: int = 0, take: int = MAX_TAKE,
    tag_ids: Sequence[str] | None = None, order_by: str | None = None,
) -> HttpRequest:
    """GetImagePerformances (one page)."""
    params = _params(tagIds=tag_ids, orderBy=order_by, take=_check_take(take), skip=skip)
    url = _path(api_version, "projects", project_id, "iterations", iteration_id, "performance", "images")
    return _get(url, params)


def build_get_image_performance_count(
    project_id: str, iteration_id: str, *, api_version: str, tag_ids: Sequence[str] | None = None,
) -> HttpRequest:
    """GetImagePerformanceCount."""
    url = _path(api_version, "projects", project_id, "iterations", iteration_id, "performance", "images", "count")
    return _get(url, _params(tagIds=tag_ids))


def build_get_exports(project_id: str, iteration_id: str, *, api_version: str) -> HttpRequest:
    """GetExports."""
    return _get(_path(api_version, "projects", project_id, "iterations", iteration_id, "export"))


# Tags


def build_get_tags(project_id: str, *, api_version: str, iteration_id: str | None = None) -> HttpRequest:
    """GetTags."""
    return _get(_path(api_version, "projects", project_id, "tags"), _params(iterationId=iteration_id))


def build_get_tag(
    project_id: str, tag_id: str, *, api_version: str, iteration_id: str | None = None
) -> HttpRequest:
    """GetTag."""
    return _get(_path(api_version, "projects", project_id, "tags", tag_id), _params(iterationId=iteration_id))


def build_create_tag(
    project_id: str, name: str, *, api_version: str, description: str | None = None, type: str | None = None
) -> HttpRequest:
    """CreateTag (tests and demos)."""
    params = _params(name=name, description=description, type=type)
    return _post(_path(api_version, "projects", project_id, "tags"), params)


def build_delete_tag(project_id: str, tag_id: str, *, api_version: str) -> HttpRequest:
    """DeleteTag."""
    return _delete(_path(api_version, "projects", project_id, "tags", tag_id))


# Images

_IMAGE_LISTS = {"all": ("images",), "tagged": ("images", "tagged"), "untagged": ("images", "untagged")}


def build_get_images(
    project_id: str, *, api_version: str, kind: str = "all", skip: int = 0, take: int = MAX_TAKE,
    iteration_id: str | None = None, tagging_status: str | None = None, order_by: str | None = None,
    tag_ids: Sequence[str] | None = None, filter: str | None = None,
) -> HttpRequest:
    """One page of GetImages (`kind="all"`), GetTaggedImages ("tagged") or GetUntaggedImages ("untagged")."""
    if kind not in _IMAGE_LISTS:
        raise ValueError(f"kind must be one of {sorted(_IMAGE_LISTS)}")
    if kind != "all" and (tagging_status is not None or filter is not None):
        raise ValueError("taggingStatus and $filter only apply to GetImages")
    if kind == "untagged" and tag_ids:
        raise ValueError("GetUntaggedImages takes no tagIds")
    params = _params(iterationId=iteration_id, tagIds=tag_ids, taggingStatus=tagging_status,
                     orderBy=order_by, take=_check_take(take), skip=skip)
    if filter is not None:
        params["$filter"] = filter
    return _get(_path(api_version, "projects", project_id, *_IMAGE_LISTS[kind]), params)


def build_get_image_count(
    project_id: str, *, api_version: str, kind: str = "all", iteration_id: str | None = None,
    tagging_status: str | None = None, tag_ids: Sequence[str] | None = None, filter: str | None = None,
) -> HttpRequest:
    """GetImageCount / GetTaggedImageCount / GetUntaggedImageCount (`$filter` on metadata: GetImageCount only)."""
    if kind not in _IMAGE_LISTS:
        raise ValueError(f"kind must be one of {sorted(_IMAGE_LISTS)}")
    if kind != "all" and (tagging_status is not None or filter is not None):
        raise ValueError("taggingStatus and $filter only apply to GetImageCount")
    params = _params(iterationId=iteration_id, taggingStatus=tagging_status,
                     tagIds=None if kind == "untagged" else tag_ids)
    if filter is not None:
        params["$filter"] = filter
    return _get(_path(api_version, "projects", project_id, *_IMAGE_LISTS[kind], "count"), params)


def build_get_images_by_ids(
    project_id: str, image_ids: Sequence[str], *, api_version: str, iteration_id: str | None = None
) -> HttpRequest:
    """GetImagesByIds (at most 256 ids)."""
    ids = _check_batch(image_ids, MAX_IMAGE_IDS, "GetImagesByIds")
    return _get(_path(api_version, "projects", project_id, "images", "id"),
                _params(imageIds=ids, iterationId=iteration_id))


def build_update_image_metadata(
    project_id: str, image_ids: Sequence[str], metadata: Mapping[str, str], *, api_version: str
) -> HttpRequest:
    """UpdateImageMetadata: set key/value pairs on up to 64 images (tests and demos)."""
    ids = _check_batch(image_ids, MAX_METADATA_IDS, "UpdateImageMetadata")
    return _post(_path(api_version, "projects", project_id, "images", "metadata"), _params(imageIds=ids),
                 json=dict(metadata))


def build_delete_images(
    project_id: str, *, api_version: str, image_ids: Sequence[str] | None = None, all_images: bool = False,
    all_iterations: bool = False,
) -> HttpRequest:
    """DeleteImages: up to 256 ids, or `allImages`; `allIterations` also removes them from iterations."""
    if all_images == (image_ids is not None):
        raise ValueError("give either image_ids or all_images=True")
    ids = None if image_ids is None else _check_batch(image_ids, MAX_IMAGE_IDS, "DeleteImages")
    params = _params(imageIds=ids, allImages=all_images or None, allIterations=all_iterations or None)
    return _delete(_path(api_version, "projects", project_id, "images"), params)


def build_create_images_from_data(
    project_id: str, data: bytes, *, api_version: str, tag_ids: Sequence[str] | None = None,
    filename: str = "image",
) -> HttpRequest:
    """CreateImagesFromData: one image as multipart/form-data (tests and demos)."""
    return HttpRequest(
        "POST", _url(_path(api_version, "projects", project_id, "images"), _params(tagIds=tag_ids)),
        files={"imageData": (filename, data, "application/octet-stream")}, headers={"Accept": "application/json"},
    )


# Predictions


def build_query_predictions(project_id: str, query: Mapping[str, Any], *, api_version: str) -> HttpRequest:
    """QueryPredictions with a PredictionQueryToken body (the previous response's token to continue)."""
    return _post(_path(api_version, "projects", project_id, "predictions", "query"), json=dict(query))


def build_delete_predictions(project_id: str, ids: Iterable[str], *, api_version: str) -> HttpRequest:
    """DeletePrediction (at most 64 ids)."""
    batch = _check_batch(list(ids), MAX_PREDICTION_IDS, "DeletePrediction")
    return _delete(_path(api_version, "projects", project_id, "predictions"), _params(ids=batch))
