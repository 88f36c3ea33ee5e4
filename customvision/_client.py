"""TrainingClient: the Custom Vision Training API v3.3 operations the data-subject requests need."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import DecodeError
from azure.core.paging import ItemPaged
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

from . import _requests as build
from ._codes import CustomVisionErrorCode
from ._errors import CustomVisionHttpError, error_from_response
from ._models import (
    Export,
    Image,
    ImagePerformance,
    Iteration,
    IterationPerformance,
    OrderBy,
    PredictionQueryToken,
    Project,
    ProjectExport,
    StoredImagePrediction,
    Tag,
    TaggingStatus,
)
from ._paging import batched_paged, chunks, single_page, tie_safe_paged, token_paged
from ._pipeline import build_pipeline_client
from ._policies import TokenBucket, retry_after_seconds, shared_rate_limiter

ImageKind = Literal["all", "tagged", "untagged"]
_DEFAULT_PREDICTION_QUERY: PredictionQueryToken = {"orderBy": "Oldest", "maxCount": 256}
MIN_PREDICTION_PAGE = 16  # the smallest maxCount a refused page size falls back to
# A QueryPredictions page size the service refuses (its limit is not documented): ask again for half as many.
_PAGE_SIZE_REFUSED = (CustomVisionErrorCode.BAD_REQUEST_PREDICTION_RESULTS_EXCEEDED_COUNT,
                      CustomVisionErrorCode.BAD_REQUEST_PREDICTION_INVALID_QUERY_PARAMETERS)
ARTIFACT_CHUNK = 1024 * 1024


class TrainingClient:
    """Custom Vision Training API client on azure-core; thread-safe, share one per resource.

    :param endpoint: e.g. ``https://<name>.cognitiveservices.azure.com``.
    :param credential: an ``AzureKeyCredential`` (sent as ``Training-Key``), a key string, or an
        Entra ID ``TokenCredential`` (scope ``https://cognitiveservices.azure.com/.default``).
    :keyword api_version: the Training API version in the path; default ``"3.3"``.
    :keyword tps: pace calls to this many per second, sharing one bucket per endpoint in the process.
    :keyword rate_limiter: an explicit ``TokenBucket`` to share (wins over ``tps``).
    :keyword connection_timeout: seconds to connect (default 10); ``read_timeout``: seconds per read (60).
    :keyword retry_total, retry_status, retry_backoff_factor, retry_backoff_max: azure-core retry settings.
    :keyword timeout: absolute seconds for one operation including retries.
    :keyword logging_enable: redacted network trace at DEBUG on the ``customvision.http`` logger.
    :keyword transport: an azure-core ``HttpTransport`` (tests, custom sessions).
    """

    def __init__(
        self,
        endpoint: str,
        credential: AzureKeyCredential | TokenCredential | str,
        *,
        api_version: str = "3.3",
        tps: float | None = None,
        rate_limiter: TokenBucket | None = None,
        connection_timeout: float = 10.0,
        read_timeout: float = 60.0,
        pool_size: int = 32,
        transport: HttpTransport | None = None,
        **kwargs: Any,
    ) -> None:
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint must be an http(s) URL")
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        if rate_limiter is None and tps is not None:
            rate_limiter = shared_rate_limiter(self.endpoint, tps)
        self.rate_limiter = rate_limiter
        self._client = build_pipeline_client(
            self.endpoint, credential, transport=transport, rate_limiter=rate_limiter,
            connection_timeout=connection_timeout, read_timeout=read_timeout, pool_size=pool_size, **kwargs,
        )

    def __repr__(self) -> str:
        return f"TrainingClient(endpoint={self.endpoint!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        """Close the transport's connections."""
        self._client.close()

    def __enter__(self) -> "TrainingClient":
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.__exit__(*exc)

    # The one place responses are decoded and errors raised.

    def _send(self, request: HttpRequest, *, ok: Sequence[int] = (200,), **kwargs: Any) -> Any:
        """Run the pipeline; JSON body on success, typed `CustomVisionHttpError` otherwise."""
        request.url = self._client.format_url(request.url)
        response: HttpResponse = self._client.send_request(request, **kwargs)
        if response.status_code not in ok:
            raise error_from_response(response, retry_after=retry_after_seconds(response))
        if response.status_code in (202, 204) or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise DecodeError(f"Training API sent a non-JSON body [{request.method} {response.status_code}]",
                              response=response) from exc

    def _send_delete(self, request: HttpRequest, *, done_codes: Iterable[str] = (), **kwargs: Any) -> None:
        """A delete: any 404 means already gone (a retry after success may meet the generic `NotFound`, or a
        bare 404), as does one of `done_codes`. Deletes only ever follow a listing of the same resource, so a
        wrong endpoint fails there first and never reads as "deleted"."""
        try:
            self._send(request, ok=(200, 202, 204), **kwargs)
        except CustomVisionHttpError as error:
            if error.status_code == 404 or error.error_code in set(done_codes):
                return
            raise

    # Projects

    def list_projects(self, **kwargs: Any) -> ItemPaged[Project]:
        """GetProjects."""
        return single_page(lambda: self._send(build.build_get_projects(api_version=self.api_version), **kwargs))

    def get_project(self, project_id: str, **kwargs: Any) -> Project:
        """GetProject; raises `CustomVisionNotFoundError` when missing."""
        return cast(Project, self._send(build.build_get_project(project_id, api_version=self.api_version), **kwargs))

    def create_project(
        self, name: str, *, description: str | None = None, domain_id: str | None = None,
        classification_type: str | None = None, **kwargs: Any,
    ) -> Project:
        """CreateProject (tests and demos)."""
        request = build.build_create_project(name, api_version=self.api_version, description=description,
                                             domain_id=domain_id, classification_type=classification_type)
        return cast(Project, self._send(request, **kwargs))

    def delete_project(self, project_id: str, **kwargs: Any) -> None:
        """DeleteProject; idempotent."""
        self._send_delete(build.build_delete_project(project_id, api_version=self.api_version), **kwargs)

    def export_project(self, project_id: str, **kwargs: Any) -> ProjectExport:
        """ExportProject: counts and an import token."""
        request = build.build_export_project(project_id, api_version=self.api_version)
        return cast(ProjectExport, self._send(request, **kwargs))

    def iter_artifact(self, project_id: str, path: str, *, chunk_size: int = ARTIFACT_CHUNK,
                      **kwargs: Any) -> Iterator[bytes]:
        """GetArtifact, streamed: the bytes behind a relative URI of a listing (rate-limited like any call)."""
        request = build.build_get_artifact(project_id, path, api_version=self.api_version)
        request.url = self._client.format_url(request.url)
        response: HttpResponse = self._client.send_request(request, stream=True, **kwargs)
        try:
            if response.status_code != 200:
                response.read()
                raise error_from_response(response, retry_after=retry_after_seconds(response))
            yield from response.iter_bytes(chunk_size=chunk_size)
        finally:
            response.close()

    def get_artifact(self, project_id: str, path: str, **kwargs: Any) -> bytes:
        """GetArtifact: the bytes behind a relative URI (`/i-<project hex>/o-<image hex>`), whole."""
        return b"".join(self.iter_artifact(project_id, path, **kwargs))

    # Iterations

    def list_iterations(self, project_id: str, **kwargs: Any) -> ItemPaged[Iteration]:
        """GetIterations."""
        request = build.build_get_iterations
        return single_page(lambda: self._send(request(project_id, api_version=self.api_version), **kwargs))

    def get_iteration(self, project_id: str, iteration_id: str, **kwargs: Any) -> Iteration:
        """GetIteration; raises `CustomVisionNotFoundError` when missing."""
        request = build.build_get_iteration(project_id, iteration_id, api_version=self.api_version)
        return cast(Iteration, self._send(request, **kwargs))

    def delete_iteration(self, project_id: str, iteration_id: str, **kwargs: Any) -> None:
        """DeleteIteration; idempotent; raises `IterationPublishedError` until unpublished."""
        request = build.build_delete_iteration(project_id, iteration_id, api_version=self.api_version)
        self._send_delete(request, **kwargs)

    def publish_iteration(
        self, project_id: str, iteration_id: str, publish_name: str, prediction_id: str, *,
        overwrite: bool | None = None, **kwargs: Any,
    ) -> bool:
        """PublishIteration; `prediction_id` is the prediction resource's ARM id."""
        request = build.build_publish_iteration(project_id, iteration_id, publish_name, prediction_id,
                                                api_version=self.api_version, overwrite=overwrite)
        return bool(self._send(request, **kwargs))

    def unpublish_iteration(self, project_id: str, iteration_id: str, **kwargs: Any) -> None:
        """UnpublishIteration; idempotent (not published, or gone, counts as done)."""
        request = build.build_unpublish_iteration(project_id, iteration_id, api_version=self.api_version)
        self._send_delete(request, done_codes=[CustomVisionErrorCode.BAD_REQUEST_ITERATION_NOT_PUBLISHED], **kwargs)

    def get_iteration_performance(
        self, project_id: str, iteration_id: str, *, threshold: float = 0.5, overlap_threshold: float | None = None,
        **kwargs: Any,
    ) -> IterationPerformance:
        """GetIterationPerformance."""
        request = build.build_get_iteration_performance(
            project_id, iteration_id, api_version=self.api_version, threshold=threshold,
            overlap_threshold=overlap_threshold)
        return cast(IterationPerformance, self._send(request, **kwargs))

    def list_image_performances(
        self, project_id: str, iteration_id: str, *, tag_ids: Sequence[str] | None = None,
        order_by: OrderBy | None = None, page_size: int = build.MAX_TAKE, **kwargs: Any,
    ) -> ItemPaged[ImagePerformance]:
        """GetImagePerformances, paged over skip/take (each image once, however the service orders ties)."""

        def fetch(skip: int, take: int) -> list[dict[str, Any]]:
            request = build.build_get_image_performances(
                project_id, iteration_id, api_version=self.api_version, skip=skip, take=take, tag_ids=tag_ids,
                order_by=order_by)
            return self._send(request, **kwargs) or []

        return tie_safe_paged(fetch, take=page_size)

    def get_image_performance_count(
        self, project_id: str, iteration_id: str, *, tag_ids: Sequence[str] | None = None, **kwargs: Any
    ) -> int:
        """GetImagePerformanceCount."""
        request = build.build_get_image_performance_count(project_id, iteration_id, api_version=self.api_version,
                                                          tag_ids=tag_ids)
        return int(self._send(request, **kwargs))

    def list_exports(self, project_id: str, iteration_id: str, **kwargs: Any) -> ItemPaged[Export]:
        """GetExports: the model exports of a trained iteration."""
        request = build.build_get_exports
        return single_page(
            lambda: self._send(request(project_id, iteration_id, api_version=self.api_version), **kwargs))

    # Tags

    def list_tags(self, project_id: str, *, iteration_id: str | None = None, **kwargs: Any) -> ItemPaged[Tag]:
        """GetTags (workspace, or the tags of one iteration)."""
        request = build.build_get_tags
        return single_page(lambda: self._send(
            request(project_id, api_version=self.api_version, iteration_id=iteration_id), **kwargs))

    def get_tag(self, project_id: str, tag_id: str, *, iteration_id: str | None = None, **kwargs: Any) -> Tag:
        """GetTag; raises `CustomVisionNotFoundError` when missing."""
        request = build.build_get_tag(project_id, tag_id, api_version=self.api_version, iteration_id=iteration_id)
        return cast(Tag, self._send(request, **kwargs))

    def create_tag(
        self, project_id: str, name: str, *, description: str | None = None, type: str | None = None, **kwargs: Any
    ) -> Tag:
        """CreateTag (tests and demos)."""
        request = build.build_create_tag(project_id, name, api_version=self.api_version, description=description,
                                         type=type)
        return cast(Tag, self._send(request, **kwargs))

    def delete_tag(self, project_id: str, tag_id: str, **kwargs: Any) -> None:
        """DeleteTag; idempotent."""
        self._send_delete(build.build_delete_tag(project_id, tag_id, api_version=self.api_version), **kwargs)

    # Images

    def list_images_page(
        self, project_id: str, *, skip: int, take: int = build.MAX_TAKE, iteration_id: str | None = None,
        order_by: OrderBy = "Oldest", tagging_status: TaggingStatus | None = None, kind: ImageKind = "all",
        tag_ids: Sequence[str] | None = None, filter: str | None = None, **kwargs: Any,
    ) -> list[Image]:
        """One page at an explicit `skip`, so callers can fan pages out (GetImages/GetTagged/GetUntagged);
        `filter` is GetImages' `$filter` on image metadata (build it with `odata_filter`, never from raw text)."""
        request = build.build_get_images(
            project_id, api_version=self.api_version, kind=kind, skip=skip, take=take, iteration_id=iteration_id,
            tagging_status=tagging_status, order_by=order_by, tag_ids=tag_ids, filter=filter)
        return cast(list[Image], self._send(request, **kwargs) or [])

    def _images(self, project_id: str, *, page_size: int, **options: Any) -> ItemPaged[Image]:
        return tie_safe_paged(
            lambda skip, take: self.list_images_page(project_id, skip=skip, take=take, **options), take=page_size)

    def list_images(
        self, project_id: str, *, iteration_id: str | None = None, tagging_status: TaggingStatus | None = None,
        order_by: OrderBy = "Oldest", tag_ids: Sequence[str] | None = None, page_size: int = build.MAX_TAKE,
        **kwargs: Any,
    ) -> ItemPaged[Image]:
        """GetImages over skip/take, each image once: images sharing a `created` (the service reorders them on
        every call) are taken whole from one listing. "Oldest" keeps pages stable while images are added."""
        return self._images(project_id, page_size=page_size, iteration_id=iteration_id,
                            tagging_status=tagging_status, order_by=order_by, tag_ids=tag_ids, **kwargs)

    def list_tagged_images(
        self, project_id: str, *, iteration_id: str | None = None, tag_ids: Sequence[str] | None = None,
        order_by: OrderBy = "Oldest", page_size: int = build.MAX_TAKE, **kwargs: Any,
    ) -> ItemPaged[Image]:
        """GetTaggedImages over skip/take."""
        return self._images(project_id, page_size=page_size, kind="tagged", iteration_id=iteration_id,
                            tag_ids=tag_ids, order_by=order_by, **kwargs)

    def list_untagged_images(
        self, project_id: str, *, iteration_id: str | None = None, order_by: OrderBy = "Oldest",
        page_size: int = build.MAX_TAKE, **kwargs: Any,
    ) -> ItemPaged[Image]:
        """GetUntaggedImages over skip/take."""
        return self._images(project_id, page_size=page_size, kind="untagged", iteration_id=iteration_id,
                            order_by=order_by, **kwargs)

    def list_images_by_ids(
        self, project_id: str, image_ids: Sequence[str], *, iteration_id: str | None = None, **kwargs: Any
    ) -> ItemPaged[Image]:
        """GetImagesByIds, 256 ids a call."""

        def fetch(batch: list[str]) -> list[dict[str, Any]]:
            request = build.build_get_images_by_ids(project_id, batch, api_version=self.api_version,
                                                    iteration_id=iteration_id)
            return self._send(request, **kwargs) or []

        return batched_paged(fetch, image_ids, size=build.MAX_IMAGE_IDS)

    def _count(
        self, project_id: str, kind: ImageKind, *, iteration_id: str | None = None,
        tagging_status: TaggingStatus | None = None, tag_ids: Sequence[str] | None = None,
        filter: str | None = None, **kwargs: Any,
    ) -> int:
        request = build.build_get_image_count(project_id, api_version=self.api_version, kind=kind,
                                              iteration_id=iteration_id, tagging_status=tagging_status, tag_ids=tag_ids,
                                              filter=filter)
        return int(self._send(request, **kwargs))

    def get_image_count(
        self, project_id: str, *, iteration_id: str | None = None, tagging_status: TaggingStatus | None = None,
        tag_ids: Sequence[str] | None = None, filter: str | None = None, **kwargs: Any,
    ) -> int:
        """GetImageCount (`filter`: `$filter` on image metadata)."""
        return self._count(project_id, "all", iteration_id=iteration_id, tagging_status=tagging_status,
                           tag_ids=tag_ids, filter=filter, **kwargs)

    def get_tagged_image_count(
        self, project_id: str, *, iteration_id: str | None = None, tag_ids: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> int:
        """GetTaggedImageCount."""
        return self._count(project_id, "tagged", iteration_id=iteration_id, tag_ids=tag_ids, **kwargs)

    def get_untagged_image_count(self, project_id: str, *, iteration_id: str | None = None, **kwargs: Any) -> int:
        """GetUntaggedImageCount."""
        return self._count(project_id, "untagged", iteration_id=iteration_id, **kwargs)

    def delete_images(
        self, project_id: str, image_ids: Sequence[str] | None = None, *, all_images: bool = False,
        all_iterations: bool = False, **kwargs: Any,
    ) -> None:
        """DeleteImages, 256 ids a call (or `all_images`); `all_iterations` removes them from iterations too."""
        if all_images:
            if image_ids is not None:
                raise ValueError("give either image_ids or all_images=True")
            request = build.build_delete_images(project_id, api_version=self.api_version, all_images=True,
                                                all_iterations=all_iterations)
            self._send_delete(request, **kwargs)
            return
        if image_ids is None:
            raise ValueError("give image_ids or all_images=True")
        if isinstance(image_ids, str):
            raise TypeError("image_ids must be a sequence of ids, not one string")
        for batch in chunks(image_ids, build.MAX_IMAGE_IDS):
            request = build.build_delete_images(project_id, api_version=self.api_version, image_ids=batch,
                                                all_iterations=all_iterations)
            self._send_delete(request, **kwargs)

    def update_image_metadata(
        self, project_id: str, image_ids: Sequence[str], metadata: Mapping[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        """UpdateImageMetadata, 64 ids a call; the ImageMetadataUpdateSummary of the last call (tests and demos)."""
        if isinstance(image_ids, str):
            raise TypeError("image_ids must be a sequence of ids, not one string")
        summary: dict[str, Any] = {}
        for batch in chunks(image_ids, build.MAX_METADATA_IDS):
            request = build.build_update_image_metadata(project_id, batch, metadata, api_version=self.api_version)
            summary = cast(dict[str, Any], self._send(request, **kwargs))
        return summary

    def create_images_from_data(
        self, project_id: str, data: bytes, *, tag_ids: Sequence[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """CreateImagesFromData for one image; returns the ImageCreateSummary (tests and demos)."""
        request = build.build_create_images_from_data(project_id, data, api_version=self.api_version,
                                                      tag_ids=tag_ids)
        return cast(dict[str, Any], self._send(request, ok=(200, 207), **kwargs))

    # Predictions

    def query_predictions(
        self, project_id: str, query: PredictionQueryToken | Mapping[str, Any] | None = None, **kwargs: Any
    ) -> ItemPaged[StoredImagePrediction]:
        """QueryPredictions, following the continuation token; default query: everything, oldest first, 256 a
        page. A page size the service refuses is halved (down to 16) and kept for the pages that follow."""

        def fetch(token: dict[str, Any]) -> dict[str, Any]:
            while True:
                request = build.build_query_predictions(project_id, token, api_version=self.api_version)
                try:
                    return self._send(request, **kwargs) or {}
                except CustomVisionHttpError as error:
                    size = int(token.get("maxCount") or 0)
                    if error.error_code not in _PAGE_SIZE_REFUSED or size <= MIN_PREDICTION_PAGE:
                        raise
                    token = {**token, "maxCount": max(MIN_PREDICTION_PAGE, size // 2)}  # then every next page

        return token_paged(fetch, dict(query if query is not None else _DEFAULT_PREDICTION_QUERY))

    def delete_predictions(self, project_id: str, ids: Sequence[str], **kwargs: Any) -> None:
        """DeletePrediction, 64 ids a call; idempotent."""
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of ids, not one string")
        for batch in chunks(ids, build.MAX_PREDICTION_IDS):
            request = build.build_delete_predictions(project_id, batch, api_version=self.api_version)
            self._send_delete(request, **kwargs)

