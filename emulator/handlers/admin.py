"""Test-only endpoints under `/_emulator`: ground truth, counters, fault settings, reset."""

from __future__ import annotations

import os

from aiohttp import web

from emulator.errors import bad_request
from emulator.faults import parse_settings
from emulator.ground_truth import ground_truth
from emulator.runtime import runtime
from emulator.seed import SeedError


async def get_state(request: web.Request) -> web.Response:
    rt = runtime(request)
    return web.json_response(ground_truth(rt.store, rt.seed, rt.config.realism))


async def get_info(request: web.Request) -> web.Response:
    """Who answers: lets a launcher check that the process on the port is the one it started."""
    rt = runtime(request)
    return web.json_response(
        {"pid": os.getpid(), "seed": rt.seed, "projects": len(rt.store.projects), "images": rt.store.image_count()}
    )


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(runtime(request).stats.to_json())


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(runtime(request).faults.settings.to_json())


async def set_faults(request: web.Request) -> web.Response:
    """Replace fault settings at run time; keys left out keep their value; `faultSeed` restarts the sequence."""
    rt = runtime(request)
    try:
        body = await request.json()
        settings = parse_settings(body, rt.faults.settings)
        seed = body.get("faultSeed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("faultSeed must be an integer")
    except ValueError as exc:
        raise bad_request("BadRequestInvalid", str(exc)) from None
    rt.faults.settings = settings
    if seed is not None:
        rt.faults.reseed(seed)
    return web.json_response(rt.faults.settings.to_json())


async def reset(request: web.Request) -> web.Response:
    """Rebuild the dataset from `seed` (default: the current one) and zero the counters."""
    rt = runtime(request)
    try:
        await rt.reseed(request.query.get("seed") or rt.seed)
    except SeedError as exc:
        raise bad_request("BadRequestInvalid", str(exc)) from None
    return web.json_response({"seed": rt.seed, "projects": len(rt.store.projects), "images": rt.store.image_count()})
