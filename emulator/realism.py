"""How the real Training API answers, as recorded in the Azure SDK for .NET's session records
(Azure/azure-sdk-for-net, sdk/cognitiveservices/Vision.CustomVision.Training/tests/SessionRecords/TrainingTests/).

On by default, so nothing can pass here that the real service would fail; `--realism off` turns it off for quick
unit tests only. `docs/real-service.md` lists every behaviour with the recording it comes from.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

# QueryPredictions refuses a larger maxCount here (the service's limit is not documented; the product must fall
# back to a smaller page whatever it is, so the emulator refuses the largest one a client would ask for).
PREDICTION_PAGE_LIMIT = 128


class UriForm(StrEnum):
    """How a listing gives an image's URIs: SAS URLs, or paths for GetArtifact (GetArtifacts.json has both)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"  # all three URIs are relative paths
    ORIGINAL_RELATIVE = "originalRelative"  # only originalImageUri is relative


class UnknownIds(StrEnum):
    """What GetImagesByIds does with ids the set does not hold."""

    DROP = "drop"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Realism:
    """The real service's traps; `enabled=False` answers the simple way (unit tests only)."""

    enabled: bool = True
    relative_uri_share: float = 0.15  # images whose originalImageUri is relative (two thirds of them all three)
    delete_lag_seconds: float = 3.0  # 202 deletes (allImages/allIterations) take effect this long after answering
    unknown_image_ids: UnknownIds = UnknownIds.REFUSE
    prediction_page_limit: int = PREDICTION_PAGE_LIMIT

    @classmethod
    def off(cls) -> Realism:
        return cls(enabled=False, relative_uri_share=0.0, delete_lag_seconds=0.0, unknown_image_ids=UnknownIds.DROP,
                   prediction_page_limit=256)

    def uri_form(self, image_id: str) -> UriForm:
        """Stable per image: a share of images is served with relative URIs."""
        if not self.enabled or self.relative_uri_share <= 0:
            return UriForm.ABSOLUTE
        digest = hashlib.sha256(f"uri-form/{image_id}".encode()).digest()
        share = int.from_bytes(digest[:4], "big") / 2**32
        if share < self.relative_uri_share * 2 / 3:
            return UriForm.RELATIVE
        if share < self.relative_uri_share:
            return UriForm.ORIGINAL_RELATIVE
        return UriForm.ABSOLUTE


def ticks_fraction(moment: datetime) -> str:
    """Seven fractional digits (100 ns ticks) of a moment; the 7th is derived from the microseconds, so equal
    moments always print equally and the order of the printed values is the order of the moments."""
    return f"{moment.microsecond:06d}{moment.microsecond % 7}"


def dotnet_time(moment: datetime, *, zone: bool) -> str:
    """A time as the service prints it (.NET `FFFFFFF`: up to 7 digits, trailing zeros dropped).

    Images, their tags and regions carry no zone ("2020-06-06T17:53:28.0821491", GetTaggedImages.json);
    projects and iterations end in Z ("2019-09-16T15:05:18.54Z", TrainAndPublishProject.json)."""
    moment = moment.astimezone(UTC)
    fraction = ticks_fraction(moment).rstrip("0")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
    return text + ("Z" if zone else "")


def shuffled_ties(items: Iterable[T], key: Callable[[T], object], rng: random.Random) -> list[T]:
    """`items` (already sorted by `key`) with every run of equal keys shuffled: the service's order within a
    tie is not stable from one call to the next."""
    out: list[T] = []
    run: list[T] = []
    for item in items:
        if run and key(item) != key(run[0]):
            rng.shuffle(run)
            out += run
            run = []
        run.append(item)
    rng.shuffle(run)
    return out + run
