"""Time as text, in one place: ISO-8601 in UTC with a `Z`, and the parsers for what callers and the service write."""

from __future__ import annotations

from datetime import UTC, datetime

from customvision import parse_service_time


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime; a naive one is taken as UTC (Durable's and the SDKs' clocks)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime, *, timespec: str = "milliseconds") -> str:
    """`2026-03-01T10:00:00.000Z`: UTC, to `seconds`, `milliseconds` (as the service writes dates) or
    `microseconds` (as orchestrations stamp their times)."""
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def parse_time(text: str) -> datetime:
    """A date-time as the service or Durable writes it, aware UTC: a Z or offset, or (image times) no zone = UTC."""
    return parse_service_time(text)


def parse_instant(text: str) -> datetime:
    """A date-time a caller gave, with a zone (`Z` or an offset), as aware UTC; ValueError otherwise."""
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("needs a time zone (Z or an offset)")
    return moment.astimezone(UTC)
