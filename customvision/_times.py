"""The service's times, read exactly: UTC with up to 7 fractional digits, with a Z or (images, tags) no zone at all.

Recorded forms: "2020-06-06T17:53:28.0821491" and "2020-06-06T16:44:43.212834" (images and their tags),
"2019-09-16T15:05:18.54Z" (iterations), "2020-11-06T17:07:43.648Z" (stored predictions). Keep the service's text in
what is exported; compare through these functions, never as strings (a Z sorts after a fraction).
"""

import re
from datetime import UTC, datetime, timedelta

_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?$"
)
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
TICKS_PER_SECOND = 10_000_000  # .NET ticks: 100 ns, the service's resolution


def _parts(text: str) -> tuple[datetime, int]:
    """(moment to the second, aware UTC; 100 ns ticks within the second)."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"not a service time: {text!r}")
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + (zone or "+00:00").replace("Z", "+00:00")).astimezone(UTC)
    return moment, int((fraction or "").ljust(7, "0"))


def parse_service_time(text: str) -> datetime:
    """An aware UTC datetime (to the microsecond) from any of the service's forms; no zone means UTC."""
    moment, ticks = _parts(text)
    return moment + timedelta(microseconds=ticks // 10)


def time_key(text: str) -> int:
    """100 ns ticks since 0001-01-01 UTC: sorts and compares service times exactly (7 digits included)."""
    moment, ticks = _parts(text)
    return int((moment - _EPOCH).total_seconds()) * TICKS_PER_SECOND + ticks
