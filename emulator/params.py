"""Query and path parameters, checked the way the service checks them (bad input is a CustomVisionError)."""

from __future__ import annotations

import uuid

from aiohttp import web

from emulator.errors import bad_request, project_not_found

MAX_TAKE = 256
DEFAULT_TAKE = 50


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def canonical(value: str) -> str:
    """Lower-case hyphenated form, so ids compare equal however the client spells them."""
    return str(uuid.UUID(value))


def project_id(request: web.Request) -> str:
    """The `{projectId}` path segment; a malformed one cannot name a project."""
    raw = request.match_info["projectId"]
    if not _is_uuid(raw):
        raise project_not_found(raw)
    return canonical(raw)


def path_id(request: web.Request, name: str, not_found: web.HTTPException | Exception) -> str:
    raw = request.match_info[name]
    if not _is_uuid(raw):
        raise not_found
    return canonical(raw)


def optional_uuid(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if not _is_uuid(raw):
        raise bad_request("BadRequestInvalidIds", f"{name} is not a valid id: {raw!r}.")
    return canonical(raw)


def uuid_list(request: web.Request, name: str, *, limit: int | None, exceeded_code: str) -> list[str] | None:
    """A comma-separated id list (repeated parameters are joined); None when absent."""
    values = request.query.getall(name, [])
    if not values:
        return None
    raw = [v.strip() for value in values for v in value.split(",") if v.strip()]
    bad = [v for v in raw if not _is_uuid(v)]
    if bad:
        raise bad_request("BadRequestInvalidIds", f"Invalid ids in {name}: {', '.join(bad[:5])}.")
    ids = list(dict.fromkeys(canonical(v) for v in raw))
    if limit is not None and len(ids) > limit:
        raise bad_request(exceeded_code, f"{name} is limited to {limit} ids per call; got {len(ids)}.")
    return ids


def integer(request: web.Request, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("BadRequestInvalid", f"{name} must be an integer; got {raw!r}.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request("BadRequestInvalid", f"{name} must be {bound}; got {value}.")
    return value


def take_skip(request: web.Request) -> tuple[int, int]:
    """`take` (default 50, at most 256) and `skip` (default 0)."""
    return integer(request, "take", DEFAULT_TAKE, high=MAX_TAKE), integer(request, "skip", 0)


def choice(request: web.Request, name: str, options: tuple[str, ...], default: str) -> str:
    """An enum parameter, matched case-insensitively like the service's model binder."""
    raw = request.query.get(name)
    if not raw:
        return default
    for option in options:
        if option.lower() == raw.lower():
            return option
    raise bad_request("BadRequestInvalid", f"{name} must be one of {', '.join(options)}; got {raw!r}.")


def order_by(request: web.Request) -> str:
    return choice(request, "orderBy", ("Newest", "Oldest"), "Newest")


def flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "").lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise bad_request("BadRequestInvalid", f"{name} must be true or false; got {raw!r}.")


def required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise bad_request("BadRequestRequiredParamIsNull", f"{name} is required.")
    return value
