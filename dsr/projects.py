"""Which projects a request covers: the requested ones, or every project of the resource (export and delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsr.clients import training_client
from dsr.envelope import complete, failed_from, is_permanent
from dsr.settings import Settings


def plan_projects(payload: Mapping[str, Any], *, settings: Settings | None = None) -> dict[str, Any]:
    """`{"status", "projects": [ids], "missing": [ids], "error"}`; ids only, so history holds no names."""
    settings = settings or Settings.from_env()
    client = training_client(settings.resource(payload["resource"]))
    try:
        existing = [p["id"] for p in list(client.list_projects())]
    except Exception as exc:
        if not is_permanent(exc):
            raise
        return {**failed_from(exc), "projects": [], "missing": []}
    requested = payload.get("projects")
    if not requested:
        return {**complete(len(existing)), "projects": existing, "missing": []}
    known = {pid.lower() for pid in existing}
    missing = [pid for pid in requested if pid.lower() not in known]
    result = complete(len(requested))
    return {**result, "projects": list(requested), "missing": missing}
