"""What the real Training API answers, stated in our own words with the recording each fact comes from.

The recordings are the Azure SDK for .NET's session records of the real service (repository
Azure/azure-sdk-for-net, folder sdk/cognitiveservices/Vision.CustomVision.Training/tests/SessionRecords/
TrainingTests/). Nothing here is copied from them: values are restated to pin down shapes the emulator must have.
`docs/real-service.md` explains each fact and how the product handles it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RECORDINGS = (
    "Azure/azure-sdk-for-net: sdk/cognitiveservices/Vision.CustomVision.Training/tests/SessionRecords/TrainingTests/"
)


@dataclass(frozen=True)
class Fact:
    """One behaviour of the real service and where it was seen."""

    source: str  # a recording's file name in RECORDINGS, or where else the fact comes from
    says: str


# -- 1. relative image URIs ------------------------------------------------------------------------------------
RELATIVE_URIS = Fact(
    "GetArtifacts.json",
    "GetImages answers some images with relative URIs '/i-<project hex>/i-<image hex>' (thumbnail 't-'); in the "
    "same page others have SAS URLs, and one image has SAS URLs except a relative originalImageUri. GetArtifact is "
    "then called with path=<that relative URI> (slashes percent-encoded) and answers the bytes as "
    "application/octet-stream.",
)
RELATIVE_URI = re.compile(r"^/i-[0-9a-f]{32}/[oit]-[0-9a-f]{32}$")

# -- 2. the listed size is the resized copy's; originals are kept apart --------------------------------------
LISTED_SIZES = Fact(
    "GetTaggedImages.json, GetArtifacts.json, DeleteImages.json",
    "listed width x height are 900x1600, 839x1600, 900x1206, 1600x900, 900x900, 1260x900: the resized copy, "
    "which fits 900 (short side) x 1600 (long side); the bytes GetArtifact returned for a listed 900x1600 image "
    "are a 900x1600 JPEG",
)
RECORDED_LISTED_SIZES = ((900, 1600), (839, 1600), (900, 1206), (1600, 900), (900, 900), (1260, 900))
SHORT_SIDE, LONG_SIDE = 900, 1600
ORIGINALS_APART = Fact(
    "QueryPredictionResults.json; issue 14",
    "blobs are named '<kind>-<hex>' per container: 'i-' resized, 't-' thumbnail, 'o-' original (the prediction "
    "images of QueryPredictionResults.json are 'o-' blobs); a training image's originalImageUri can name a "
    "full-size 'o-' blob distinct from its resized 'i-' blob",
)

# -- 3. ties in `created` ----------------------------------------------------------------------------------------
TIES = Fact(
    "GetArtifacts.json, GetTaggedImages.json",
    "images uploaded together share the exact same `created` (two images at 17:53:27.9103235; two at "
    "16:44:43.2010801); the service gives no tie-breaker, so the order within a tie is not stable between calls",
)

# -- 4. asynchronous deletes ---------------------------------------------------------------------------------
ASYNC_DELETE = Fact(
    "DeleteImages.json; spec v3.3 DeleteImages",
    "DeleteImages by ids alone answers 204; with allImages or allIterations the spec says it answers 202 'to "
    "indicate the images are being deleted': they remain for a while",
)

# -- 5. not found --------------------------------------------------------------------------------------------
GENERIC_NOT_FOUND = Fact(
    "issue 14",
    "a delete retried after it succeeded may meet 404 with the generic code 'NotFound' instead of "
    "NotFoundProject/NotFoundIteration",
)
IMAGES_BY_IDS = Fact(
    "GetImagesByIds.json",
    "GetImagesByIds answers oldest first whatever order the ids were asked in (asked newest first, answered "
    "oldest first); what it does with ids it lacks is not recorded: it may drop or refuse them",
)

# -- 6. formats and limits -----------------------------------------------------------------------------------
IMAGE_TIMES = Fact(
    "GetTaggedImages.json, GetArtifacts.json",
    "image and image-tag times have no zone and up to 7 fractional digits, trailing zeros dropped: "
    "2020-06-06T17:53:28.0821491, 2020-06-06T16:44:43.212834",
)
IMAGE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?$")
ZONED_TIMES = Fact(
    "TrainAndPublishProject.json, QueryPredictionResults.json",
    "iteration and project times end in Z, trailing zeros dropped (2019-09-16T15:05:18.54Z); stored predictions "
    "end in Z with milliseconds (2020-11-06T17:07:43.648Z)",
)
ZONED_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$")
PREDICTION_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
EMPTY_LEFT_OUT = Fact(
    "GetTaggedImages.json, GetArtifacts.json",
    "images without regions or metadata have no 'regions' / 'metadata' key at all (not null, not [])",
)
UNPUBLISHED = Fact(
    "TrainAndPublishProject.json",
    "an unpublished iteration has publishName and originalPublishResourceId null; an iteration that is not "
    "Completed (status 'Training') has no trainedAt and null exportableTo, domainId, classificationType",
)
ITERATION_STATUSES = ("Completed", "Training", "Failed")  # the spec's enum; Training recorded, Failed per issue 14
PREDICTION_TOKEN = Fact(
    "QueryPredictionResults.json",
    "the token comes back with session like '1:1583893' (issue 14: '9:133017'), continuation, tags, iterationId, "
    "startTime, endTime and application null; classification predictions have no boundingBox key",
)
SESSION = re.compile(r"^\d+:\d+$")
SAS_LIFETIME = Fact(
    "GetTaggedImages.json",
    "SAS links expire 24 h after the call (Date 16:45:21, se=next day 16:45:22Z); stored prediction images are "
    "kept 30 days (issue 14)",
)
SAS_HOURS = 24
THROTTLED = Fact(
    "issue 14 (the gateway in front of the service; not in these recordings)",
    "a 429 can come as {'error': {'code': '429', 'message': '... Please retry after 1 second ...'}}, with or "
    "without a Retry-After header",
)

# Fields the spec declares non-nullable that the real service sends as null (the recording wins over the spec).
RECORDED_NULLS: dict[str, tuple[str, ...]] = {
    "Iteration": ("publishName", "originalPublishResourceId", "exportableTo"),  # TrainAndPublishProject.json
    "Project": ("thumbnailUri",),  # DeleteImages.json (CreateProject answer)
    "PredictionQueryToken": ("continuation", "tags", "application"),  # QueryPredictionResults.json
}
