"""Seeds are deterministic, cheap, made of real image bytes, and have every feature of `demo` at scale."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image as PilImage

from emulator import images, seed
from emulator.ground_truth import ground_truth
from emulator.model import ProjectKind


def test_tiny_png_is_a_real_unique_image() -> None:
    pictures = [images.tiny_png(n) for n in range(2000)]
    assert len({p.data for p in pictures}) == 2000
    assert all(len(p.data) < 400 for p in pictures)
    with PilImage.open(io.BytesIO(pictures[7].data)) as img:
        img.load()
        assert (img.format, img.size) == ("PNG", (pictures[7].width, pictures[7].height))
    assert images.tiny_png(7) == pictures[7]


def test_inspect_accepts_images_and_refuses_garbage() -> None:
    picture = images.drawn_picture(3, kind="jpeg")
    assert images.inspect(picture.data).content_type == "image/jpeg"
    with pytest.raises(ValueError):
        images.inspect(b"not an image")
    assert images.thumbnail(picture).width <= images.THUMBNAIL_SIZE


@pytest.mark.parametrize("name", ["demo", "synthetic:projects=2,images=120"])
def test_seed_is_deterministic(name: str) -> None:
    (store_a, uploads_a), (store_b, uploads_b) = seed.build(name), seed.build(name)
    assert ground_truth(store_a, name) == ground_truth(store_b, name)
    assert [(u.blob, u.data) for u in uploads_a] == [(u.blob, u.data) for u in uploads_b]


def test_uploads_carry_the_real_size_and_hash() -> None:
    _, uploads = seed.build("demo")
    for upload in uploads:
        assert (upload.blob.size, upload.blob.sha256) == (len(upload.data), hashlib.sha256(upload.data).hexdigest())


@pytest.mark.parametrize("name", ["demo", "synthetic:projects=2,images=200"])
def test_seed_has_every_feature(name: str) -> None:
    store, uploads = seed.build(name)
    truth = ground_truth(store, name)["projects"]
    assert {p.kind for p in store.projects.values()} == {ProjectKind.CLASSIFICATION, ProjectKind.OBJECT_DETECTION}
    for project, expected in zip(store.projects.values(), truth, strict=True):
        workspace = list(project.images.values())
        assert len(project.tags) >= 2
        assert any(i.tag_ids() for i in workspace) and any(not i.tag_ids() for i in workspace), "tagged and untagged"
        assert any(i.metadata for i in workspace)
        if project.kind is ProjectKind.OBJECT_DETECTION:
            assert any(i.regions for i in workspace)
        failed, *iterations = project.iterations.values()
        assert failed.status == "Failed" and not failed.images, "a failed training holds no snapshot"
        assert len(iterations) == 2 and [i.published for i in iterations] == [False, True]
        assert any(not i["inWorkspace"] for i in expected["images"]), "an image only an iteration holds"
        assert set(iterations[0].tags) - set(project.tags), "a tag only the first iteration still has"
        assert iterations[1].exports and all(e.blob for e in iterations[1].exports)
        assert project.predictions
    if name.startswith("synthetic"):
        assert all(len(p["images"]) == 200 for p in truth), "N images per project, workspace or iteration-only"
    names = {u.blob.name for u in uploads}
    for project in store.projects.values():
        for image in project.images.values():
            assert {image.original.name, image.thumbnail.name} <= names


def test_synthetic_image_bytes_are_made_at_upload_not_held() -> None:
    """A 200,000-image seed would otherwise hold 650 MB of bytes until uploaded (issue 17)."""
    store, uploads = seed.build("synthetic:projects=1,images=300")
    lazy = [u for u in uploads if isinstance(u, seed.LazyUpload)]
    images_blobs = {b.name for p in store.projects.values() for i in p.images.values() for b in (i.original, i.resized)}
    assert {u.blob.name for u in lazy} >= images_blobs
    for upload in lazy:  # made again, byte for byte what the record says
        assert (upload.blob.size, upload.blob.sha256) == (len(upload.data), hashlib.sha256(upload.data).hexdigest())


def test_seed_scales_cheaply() -> None:
    store, uploads = seed.build("synthetic:projects=3,images=700")
    assert store.image_count() == 2100
    assert len(uploads) < 2100 * 2, "at most a resized copy besides the original: no thumbnails of cheap PNGs"
    assert sum(len(u.data) for u in uploads) < 2100 * 8 * 1024, "photo-sized PNGs of a few KB keep seeding fast"


def test_unknown_seed_is_refused() -> None:
    for name in ("nope", "synthetic:projects=1", "synthetic:images=3,projects=1"):
        with pytest.raises(seed.SeedError):
            seed.plans_for(name)
    assert seed.plans_for("empty") == []


def test_seeds_join_with_plus() -> None:
    store, _ = seed.build("demo+synthetic:projects=1,images=20")
    assert [p.name for p in store.projects.values()] == ["Demo pets", "Demo fruit", "Synthetic 001"]
