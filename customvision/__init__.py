"""Custom Vision Training API v3.3 client on azure-core (no Functions imports: plain code)."""

from ._client import TrainingClient
from ._codes import CustomVisionErrorCode
from ._errors import (
    CustomVisionAuthenticationError,
    CustomVisionConflictError,
    CustomVisionHttpError,
    CustomVisionNotFoundError,
    IterationPublishedError,
    ThrottledError,
)
from ._models import (
    Export,
    Image,
    ImagePerformance,
    Iteration,
    IterationPerformance,
    PredictionQueryToken,
    Project,
    ProjectExport,
    StoredImagePrediction,
    Tag,
)
from ._odata import is_filter_key, odata_filter, odata_string
from ._paging import chunks, created_runs, owned_pages
from ._policies import (
    CustomVisionRetryPolicy,
    Pacer,
    RateLimitPolicy,
    TokenBucket,
    reset_shared_rate_limiters,
    retry_after_from_message,
    shared_rate_limiter,
)
from ._redact import ASSIGNED_SECRET, SECRET_FIELD, SECRET_PATTERNS, redact
from ._requests import MAX_IMAGE_IDS, MAX_METADATA_IDS, MAX_PREDICTION_IDS, MAX_TAKE, is_relative_uri
from ._times import parse_service_time, time_key

__all__ = [
    "ASSIGNED_SECRET",
    "MAX_IMAGE_IDS",
    "MAX_METADATA_IDS",
    "MAX_PREDICTION_IDS",
    "MAX_TAKE",
    "SECRET_FIELD",
    "SECRET_PATTERNS",
    "CustomVisionAuthenticationError",
    "CustomVisionConflictError",
    "CustomVisionErrorCode",
    "CustomVisionHttpError",
    "CustomVisionNotFoundError",
    "CustomVisionRetryPolicy",
    "Export",
    "Image",
    "ImagePerformance",
    "Iteration",
    "IterationPerformance",
    "IterationPublishedError",
    "Pacer",
    "PredictionQueryToken",
    "Project",
    "ProjectExport",
    "RateLimitPolicy",
    "StoredImagePrediction",
    "Tag",
    "ThrottledError",
    "TokenBucket",
    "TrainingClient",
    "chunks",
    "created_runs",
    "is_filter_key",
    "is_relative_uri",
    "odata_filter",
    "odata_string",
    "owned_pages",
    "parse_service_time",
    "redact",
    "reset_shared_rate_limiters",
    "retry_after_from_message",
    "shared_rate_limiter",
    "time_key",
]
