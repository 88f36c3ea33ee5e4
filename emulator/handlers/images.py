"""Images: list (workspace or an iteration's snapshot), count, by id, create from data, delete."""

from __future__ import annotations

import asyncio
import random

from aiohttp import BodyPartReader, web

from emulator import images as pictures
from emulator import odata, render, store
from emulator.blobs import make_upload
from emulator.errors import bad_request
from emulator.model import Image, ImageTag, Project, image_blob_name
from emulator.params import MAX_TAKE, choice, flag, optional_uuid, order_by, project_id, take_skip, uuid_list
from emulator.realism import UnknownIds
from emulator.runtime import Runtime, runtime

TAGGING = ("All", "Tagged", "Untagged")
TIES = random.Random()  # the order within a `created` tie changes from call to call (realism)


def tie_order(rt: Runtime) -> random.Random | None:
    """The shuffler of equal `created` values, or None (stable order by id) with realism off."""
    return TIES if rt.config.realism.enabled else None


def _scope(request: web.Request) -> tuple[Runtime, Project, str | None, dict[str, Image]]:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    iteration_id = optional_uuid(request, "iterationId")
    return rt, project, iteration_id, rt.store.image_set(project, iteration_id)


def _tag_filter(request: web.Request, limit: int | None) -> set[str]:
    return set(uuid_list(request, "tagIds", limit=limit, exceeded_code="BadRequestExceededBatchSize") or ())


def _where(request: web.Request) -> odata.Predicate | None:
    text = request.query.get("$filter", "").strip()
    if not text:
        return None
    try:
        return odata.parse(text)
    except ValueError as exc:
        raise bad_request("BadRequestInvalid", f"Invalid $filter: {exc}.") from None


def _page(
    request: web.Request, rt: Runtime, project: Project, iteration_id: str | None, found: list[Image]
) -> web.Response:
    take, skip = take_skip(request)
    page = store.ordered(found, order_by(request), tie_order(rt))[skip : skip + take]
    tags = rt.store.tag_set(project, iteration_id)
    return web.json_response([render.image(i, tags, rt.link, rt.config.realism) for i in page])


async def get_images(request: web.Request) -> web.Response:
    rt, project, iteration_id, image_set = _scope(request)
    tagging = choice(request, "taggingStatus", TAGGING, "All")
    found = store.select(image_set.values(), tagging=tagging, tag_ids=_tag_filter(request, 20), where=_where(request))
    return _page(request, rt, project, iteration_id, found)


async def get_tagged_images(request: web.Request) -> web.Response:
    rt, project, iteration_id, image_set = _scope(request)
    found = store.select(image_set.values(), tagging="Tagged", tag_ids=_tag_filter(request, 20))
    return _page(request, rt, project, iteration_id, found)


async def get_untagged_images(request: web.Request) -> web.Response:
    rt, project, iteration_id, image_set = _scope(request)
    return _page(request, rt, project, iteration_id, store.select(image_set.values(), tagging="Untagged"))


async def get_image_count(request: web.Request) -> web.Response:
    _, _, _, image_set = _scope(request)
    tagging = choice(request, "taggingStatus", TAGGING, "All")
    found = store.select(image_set.values(), tagging=tagging, tag_ids=_tag_filter(request, None), where=_where(request))
    return web.json_response(len(found))


async def get_tagged_image_count(request: web.Request) -> web.Response:
    _, _, _, image_set = _scope(request)
    return web.json_response(
        len(store.select(image_set.values(), tagging="Tagged", tag_ids=_tag_filter(request, None)))
    )


async def get_untagged_image_count(request: web.Request) -> web.Response:
    _, _, _, image_set = _scope(request)
    return web.json_response(len(store.select(image_set.values(), tagging="Untagged")))


async def get_images_by_ids(request: web.Request) -> web.Response:
    """The requested images that exist in the set. Realistic: oldest first whatever order was asked
    (GetImagesByIds.json), and ids the set lacks refused (400) or dropped, as configured; off: the order asked,
    unknown ids left out."""
    rt, project, iteration_id, image_set = _scope(request)
    ids = uuid_list(request, "imageIds", limit=MAX_TAKE, exceeded_code="BadRequestExceededBatchSize") or []
    tags = rt.store.tag_set(project, iteration_id)
    realism = rt.config.realism
    found = [image_set[i] for i in ids if i in image_set]
    if realism.enabled:
        unknown = [i for i in ids if i not in image_set]
        if unknown and realism.unknown_image_ids is UnknownIds.REFUSE:
            raise bad_request("BadRequestInvalidIds", f"Images not found: {', '.join(unknown[:5])}.")
        found = store.ordered(found, "Oldest", tie_order(rt))
    return web.json_response([render.image(i, tags, rt.link, realism) for i in found])


async def delete_images(request: web.Request) -> web.Response:
    """Delete by id (at most 256) or all; `allIterations` also removes the iterations' copies.

    The spec answers 202 when `allImages` or `allIterations` is set (the service then deletes in the
    background) and 204 otherwise. Here the images leave the dataset before either answer; with 202 their
    blobs are reclaimed in the background, with 204 before answering."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    ids = uuid_list(request, "imageIds", limit=MAX_TAKE, exceeded_code="BadRequestExceededBatchSize")
    all_images, all_iterations = flag(request, "allImages"), flag(request, "allIterations")
    if ids is None and not all_images:
        raise bad_request("BadRequestRequiredParamIsNull", "Specify imageIds or allImages=true.")
    lag = rt.config.realism.delete_lag_seconds
    if (all_images or all_iterations) and lag > 0:
        _delete_after(rt, project, lag, None if all_images else ids, all_iterations=all_iterations)
        return web.Response(status=202)
    blobs = rt.store.delete_images(project, None if all_images else ids, all_iterations=all_iterations)
    if all_images or all_iterations:
        rt.blobs.delete_later(blobs)
        return web.Response(status=202)
    await rt.blobs.delete_many(blobs)
    return web.Response(status=204)


def _delete_after(rt: Runtime, project: Project, lag: float, ids: list[str] | None, *, all_iterations: bool) -> None:
    """A 202 delete as the service does it: the images stay listed and counted for `lag` seconds, then go (the
    ones `allImages` meant are those of the moment the call was answered)."""
    if ids is None:
        ids = list(project.image_ids_anywhere() if all_iterations else project.images)
    seeded, project_id = rt.store, project.id
    project.pending_deletes += len(ids)

    def apply() -> None:
        target = seeded.projects.get(project_id)
        if rt.store is not seeded or target is None:
            return  # reseeded, or the project was deleted meanwhile
        target.pending_deletes -= len(ids)
        rt.blobs.delete_later(seeded.delete_images(target, ids, all_iterations=all_iterations))

    asyncio.get_running_loop().call_later(lag, apply)


MAX_METADATA_IMAGES = 64  # "There is a limit of 64 images" (the spec's description of UpdateImageMetadata)
MAX_METADATA_PAIRS = 50  # "Limited to 50 key-value pairs per image. The length of key is limited to 256 ...
MAX_METADATA_KEY, MAX_METADATA_VALUE = 256, 512  # ... The length of value is limied to 512." (sic, the spec)


async def update_image_metadata(request: web.Request) -> web.Response:
    """Set key/value pairs on workspace images (UpdateImageMetadata.json: the answer echoes each image's
    metadata). Pairs are merged into what an image has; trained iterations keep the copy they were trained on."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    ids = uuid_list(request, "imageIds", limit=MAX_METADATA_IMAGES, exceeded_code="BadRequestExceededBatchSize")
    if not ids:
        raise bad_request("BadRequestRequiredParamIsNull", "imageIds is required.")
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("BadRequestInvalid", "The body must be a JSON object of string values.") from None
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        raise bad_request("BadRequestInvalid", "The body must be a JSON object of string values.")
    entries = [_set_metadata(project, image_id, body) for image_id in ids]
    if any(e["status"] == "OK" for e in entries):
        rt.store.touch(project)
    ok = all(e["status"] == "OK" for e in entries)
    return web.json_response({"isBatchSuccessful": ok, "images": entries})


def _set_metadata(project: Project, image_id: str, pairs: dict[str, str]) -> dict[str, object]:
    image = project.images.get(image_id)
    if image is None:
        return {"imageId": image_id, "status": "ErrorImageNotFound", "metadata": None}
    merged = {**image.metadata, **pairs}
    too_long = any(len(k) > MAX_METADATA_KEY or len(v) > MAX_METADATA_VALUE for k, v in merged.items())
    if len(merged) > MAX_METADATA_PAIRS or too_long:
        return {"imageId": image_id, "status": "ErrorLimitExceed", "metadata": dict(image.metadata) or None}
    image.metadata = merged
    return {"imageId": image_id, "status": "OK", "metadata": dict(merged)}


async def _uploaded_files(request: web.Request) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in a multipart body, or the raw body for application/octet-stream."""
    if request.content_type.startswith("multipart/"):
        files = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader):
                files.append((part.filename or part.name or "", bytes(await part.read())))
        return files
    return [("", await request.read())]


async def create_images_from_data(request: web.Request) -> web.Response:
    """Add uploaded images to the workspace; 207 with per-image status when any of them failed."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    tag_ids = uuid_list(request, "tagIds", limit=20, exceeded_code="BadRequestExceededBatchSize") or []
    unknown = [t for t in tag_ids if t not in project.tags]
    if unknown:
        raise bad_request("BadRequestImageTags", f"Unknown tag ids: {', '.join(unknown)}.")
    files = await _uploaded_files(request)
    if not files or not any(data for _, data in files):
        raise bad_request("BadRequestImageBatch", "No image data in the request.")
    known = {i.original.sha256: i for i in project.images.values()}
    results, uploads, added = [], [], []
    for name, data in files:
        try:
            picture = pictures.inspect(data)
        except ValueError:
            results.append({"sourceUrl": name, "status": "ErrorImageFormat"})
            continue
        upload = make_upload("", data, picture.content_type)
        realism = rt.config.realism
        if upload.blob.sha256 in known:
            existing = render.image(known[upload.blob.sha256], project.tags, rt.link, realism)
            results.append({"sourceUrl": name, "status": "OKDuplicate", "image": existing})
            continue
        image_id = rt.store.ids()
        copy = pictures.resized(picture)
        resized = make_upload(image_blob_name(project.id, image_id, "i"), copy.data, copy.content_type)
        uploads.append(resized)
        original = resized
        if copy is not picture:
            original = make_upload(image_blob_name(project.id, image_id, "o"), data, picture.content_type)
            uploads.append(original)
        thumb = pictures.thumbnail(copy)
        thumbnail = resized
        if thumb is not copy:
            thumbnail = make_upload(image_blob_name(project.id, image_id, "t"), thumb.data, thumb.content_type)
            uploads.append(thumbnail)
        now = rt.store.clock()
        image = Image(image_id, now, copy.width, copy.height, original.blob, resized.blob, thumbnail.blob,
                      (picture.width, picture.height))
        image.tags = [ImageTag(t, now) for t in tag_ids]
        added.append(image)
        known[original.blob.sha256] = image
        shown = render.image(image, project.tags, rt.link, realism)
        results.append({"sourceUrl": name, "status": "OK", "image": shown})
    await rt.blobs.put_many(uploads)  # bytes first, so no listed image ever points at a missing blob
    for image in added:
        rt.store.add_image(project, image)
    ok = all(r["status"] == "OK" for r in results)
    return web.json_response({"isBatchSuccessful": ok, "images": results}, status=200 if ok else 207)
