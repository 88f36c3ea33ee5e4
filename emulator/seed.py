"""Named, deterministic datasets: `demo`, `empty`, `synthetic:projects=P,images=N`."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from emulator import images as pictures
from emulator.blobs import Upload, make_upload
from emulator.model import (
    Export,
    Image,
    ImageTag,
    Iteration,
    PredictedTag,
    Project,
    ProjectKind,
    Region,
    StoredBlob,
    StoredPrediction,
    Tag,
    image_blob_name,
)
from emulator.store import Store, new_id, utcnow

EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SYNTHETIC = re.compile(r"^synthetic:projects=(\d+),images=(\d+)$")
PREDICTION_SERIAL_BASE = 1 << 30
# Originals as cameras and phones make them (hundreds to a few thousand pixels); those larger than the service's
# 900 x 1600 box get a distinct, smaller resized copy, whose size is what listings report.
PHOTO_SIZES = ((640, 480), (4032, 3024), (1600, 1200), (3024, 4032), (1920, 1080), (800, 600), (2048, 1536),
               (1080, 1920), (480, 640), (2592, 1944), (1280, 720), (3000, 2000), (900, 900), (1200, 1600))
DEMO_SIZES = ((1600, 1200), (640, 480), (1200, 1600), (2000, 1500), (1024, 768), (1920, 1080), (800, 600))
# Images uploaded in one batch share one `created` (GetArtifacts.json: two images at 17:53:27.9103235).
BATCH_SIZES = (1, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


@dataclass(frozen=True)
class ProjectPlan:
    """What one seeded project holds; every seed is a list of these."""

    name: str
    kind: ProjectKind
    tag_names: tuple[str, ...]
    image_count: int
    prediction_count: int
    picture: Callable[[int], pictures.Picture]  # image number -> the original's bytes
    resize: Callable[[int, pictures.Picture], pictures.Picture]  # (number, original) -> the resized copy
    subjects: tuple[tuple[int, str], ...] = ()  # (image number, userId) set as metadata `userId`
    applications: tuple[str, ...] = ()  # the `application` stored predictions came from, in turn
    lazy: bool = False  # pictures cheap to make again: upload-time bytes (LazyUpload) instead of held ones


class SeedError(ValueError):
    """An unknown or malformed seed name."""


@dataclass(frozen=True)
class LazyUpload:
    """A seeded image blob whose bytes are made again when it is written, as an `Upload` is written: pictures are
    deterministic from their number, so a seed holds records, not bytes (200,000 images: 650 MB less)."""

    blob: StoredBlob
    make: Callable[[], bytes]

    @property
    def data(self) -> bytes:
        return self.make()


class Builder:
    """Builds projects through the Store's own rules, with a seeded RNG for ids and a stepping clock."""

    def __init__(self, seed_name: str) -> None:
        self.rng = random.Random(seed_name)
        self.now = EPOCH
        self.uploads: list[Upload | LazyUpload] = []
        self.store = Store(clock=self.tick, ids=self.uid)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1, microseconds=self.rng.randrange(1_000_000))
        return self.now

    def keep(self, name: str, picture: pictures.Picture) -> StoredBlob:
        upload = make_upload(name, picture.data, picture.content_type)
        self.uploads.append(upload)
        return upload.blob

    def keep_lazy(self, name: str, picture: pictures.Picture, make: Callable[[], pictures.Picture],
                  lazy: bool) -> StoredBlob:
        """Like `keep`, but with `lazy` only the record stays: `make` draws the same picture again at upload."""
        if not lazy:
            return self.keep(name, picture)
        blob = make_upload(name, picture.data, picture.content_type).blob
        self.uploads.append(LazyUpload(blob, lambda: make().data))
        return blob

    def image(self, project: Project, plan: ProjectPlan, number: int, created: datetime) -> Image:
        """A new image: its original, a distinct resized copy when the original exceeds the service's box (else
        the original is also the resized copy, as in the recordings), and a thumbnail. The bytes of a `lazy` plan's
        pictures are made again at upload (`LazyUpload`), so a large seed never holds them all."""
        image_id = self.uid()
        picture = plan.picture(number)
        copy = plan.resize(number, picture)

        def original_picture() -> pictures.Picture:
            return plan.picture(number)

        def resized_picture() -> pictures.Picture:
            return plan.resize(number, plan.picture(number))

        def thumbnail_picture() -> pictures.Picture:
            return pictures.thumbnail(resized_picture())

        lazy = plan.lazy
        resized = self.keep_lazy(image_blob_name(project.id, image_id, "i"), copy, resized_picture, lazy)
        original = (resized if copy is picture
                    else self.keep_lazy(image_blob_name(project.id, image_id, "o"), picture, original_picture, lazy))
        thumb = pictures.thumbnail(copy) if copy.content_type == "image/jpeg" else copy  # cheap PNGs: no thumbnail
        thumbnail = (resized if thumb is copy
                     else self.keep_lazy(image_blob_name(project.id, image_id, "t"), thumb, thumbnail_picture, lazy))
        return Image(image_id, created, copy.width, copy.height, original, resized, thumbnail,
                     (picture.width, picture.height))

    def label(self, project: Project, image: Image, number: int, tags: list[Tag]) -> None:
        """Tag (classification) or box (detection) most images; every tenth stays untagged; some get metadata."""
        if number % 3 == 0:
            image.metadata = {"camera": f"cam-{number % 4}", "subject": f"person-{number % 7}"}
        if number % 10 == 9 or not tags:
            return
        chosen = [tags[number % len(tags)]]
        if number % 4 == 1 and len(tags) > 1:
            chosen.append(tags[(number + 1) % len(tags)])
        if project.kind is ProjectKind.CLASSIFICATION:
            image.tags = [ImageTag(t.id, image.created) for t in chosen]
            return
        for n, tag in enumerate(chosen):
            left, top = round(self.rng.uniform(0, 0.5), 4), round(self.rng.uniform(0, 0.5), 4)
            width, height = round(self.rng.uniform(0.1, 0.45), 4), round(self.rng.uniform(0.1, 0.45), 4)
            image.regions.append(Region(self.uid(), tag.id, left, top, width, height, image.created + timedelta(n)))
        image.tags = [ImageTag(t.id, image.created) for t in {t.id: t for t in chosen}.values()]

    def project(self, plan: ProjectPlan) -> Project:
        """One project: images (in batches sharing one `created`), a failed training, two trained iterations (the
        second published), iteration-only images, a tag only the first iteration still has, exports, predictions."""
        created = self.tick()
        project = Project(self.uid(), plan.name, f"Seeded {plan.kind} project.", plan.kind, created, created)
        self.store.projects[project.id] = project
        tags = [Tag(self.uid(), name, f"Images of {name}.", "Regular", self.tick()) for name in plan.tag_names]
        retired = Tag(self.uid(), "retired", "A tag deleted after the first iteration.", "Regular", self.tick())
        project.tags = {t.id: t for t in [*tags, retired]}
        n = plan.image_count
        half = max(1, n // 2)
        iteration_only = 0 if n < 4 else max(1, n // 50)
        images = []
        subjects = dict(plan.subjects)
        batch_left, created = 0, self.now
        for number in range(n):
            if not batch_left:
                batch_left, created = self.rng.choice(BATCH_SIZES), self.tick()
            batch_left -= 1
            image = self.image(project, plan, number, created)
            self.label(project, image, number, tags)
            if number in subjects:
                image.metadata = {**image.metadata, SUBJECT_KEY: subjects[number]}
            if number < half and number % 5 == 2:
                image.tags.append(ImageTag(retired.id, image.created))
            images.append(image)
        for image in images[:half]:
            self.store.add_image(project, image)
        if images:
            self.failed_training(project)
        first = self.store.train(project) if images else None
        self.store.delete_images(project, [i.id for i in images[:iteration_only]], all_iterations=False)
        self.store.delete_tag(project, retired.id)
        for image in images[half:]:
            self.store.add_image(project, image)
        second = None
        if any(i.tag_ids() for i in project.images.values()):
            second = self.store.train(project, force=True)
        published = second or first
        if published is None:
            return project
        self.store.publish(project, published.id, f"{plan.kind.value.lower()}-model", "/subscriptions/emulator")
        for platform, flavor in (("ONNX", "ONNX12"), ("TensorFlow", "TensorFlowLite")):
            package = pictures.model_package(f"{platform} {' '.join(plan.tag_names)}")
            name = f"{project.id}/exports/{published.id}/{platform}-{flavor}.zip"
            blob = self.keep(name, pictures.Picture(package, 0, 0, "application/zip"))
            published.exports.append(Export(platform, flavor, "Done", blob, self.tick()))
        for number in range(plan.prediction_count):
            prediction = self.prediction(project, published.id, tags, plan.picture(PREDICTION_SERIAL_BASE + number),
                                         number)
            if plan.applications:
                prediction.application = plan.applications[number % len(plan.applications)]
        return project

    def failed_training(self, project: Project) -> None:
        """An iteration whose training failed: it holds no image snapshot and is never published."""
        now = self.tick()
        failed = Iteration(self.uid(), f"Iteration {len(project.iterations) + 1}", now, now, now, 0, {}, {},
                           status="Failed", workspace_version=-1)
        project.iterations[failed.id] = failed

    def prediction(
        self, project: Project, iteration_id: str, tags: list[Tag], picture: pictures.Picture, number: int
    ) -> StoredPrediction:
        """A stored prediction image with a probability per tag (and boxes for detection)."""
        prediction_id = self.uid()
        blob = self.keep(f"{project.id}/predictions/{prediction_id}/original.{picture.ext}", picture)
        predicted = []
        for n, tag in enumerate(tags):
            probability = round(self.rng.uniform(0.6, 0.99) if n == number % len(tags) else self.rng.random() / 3, 6)
            box = None
            if project.kind is ProjectKind.OBJECT_DETECTION:
                box = (round(self.rng.uniform(0, 0.5), 4), round(self.rng.uniform(0, 0.5), 4), 0.25, 0.25)
            predicted.append(PredictedTag(tag.id, tag.name, probability, box))
        predicted.sort(key=lambda p: -p.probability)
        prediction = StoredPrediction(prediction_id, iteration_id, self.tick(), blob, blob, blob, predicted)
        project.predictions[prediction_id] = prediction
        return prediction


SUBJECT_KEY = "userId"  # the metadata key the demo's data subjects are found by
INJECTION_VALUE = "x' or userId ne 'x"  # a userId that, pasted into $filter unescaped, would match every image
# Two data subjects with images in both demo projects. Each project's image 0 survives only in its first
# iteration (deleted from the workspace before the second training); 1..half-1 are in the workspace and both
# trained iterations, half.. in the workspace and the second (published) one. u-2002's pets image is in an
# iteration only; a third userId holds quotes and ' or ' to show a filter value cannot widen the match.
DEMO_SUBJECTS: tuple[tuple[tuple[int, str], ...], ...] = (
    ((0, "u-2002"), (4, "u-1001"), (11, "u-1001"), (13, INJECTION_VALUE), (25, "u-1001")),
    ((3, "u-1001"), (8, "u-2002"), (20, "u-1001")),
)


def demo_plans() -> list[ProjectPlan]:
    """Two small projects of drawn JPEG/PNG pictures, ~60 images in all, with two data subjects (userId)."""

    def drawn(offset: int) -> Callable[[int], pictures.Picture]:
        def picture(n: int, size: tuple[int, int] | None = None) -> pictures.Picture:
            width, height = size or DEMO_SIZES[(offset + n) % len(DEMO_SIZES)]
            return pictures.drawn_picture(offset + n, kind="png" if n % 4 == 3 else "jpeg", width=width, height=height)

        return picture

    def redrawn(offset: int) -> Callable[[int, pictures.Picture], pictures.Picture]:
        def resize(n: int, original: pictures.Picture) -> pictures.Picture:
            size = pictures.fitted_size(original.width, original.height)
            if size == (original.width, original.height):
                return original
            return drawn(offset)(n, size)  # the same scene, drawn at the resized copy's size

        return resize

    return [
        ProjectPlan("Demo pets", ProjectKind.CLASSIFICATION, ("cat", "dog", "bird"), 34, 6, drawn(0), redrawn(0),
                    subjects=DEMO_SUBJECTS[0], applications=("mobile-app", "kiosk-7")),
        ProjectPlan("Demo fruit", ProjectKind.OBJECT_DETECTION, ("apple", "banana"), 26, 5, drawn(10_000),
                    redrawn(10_000), subjects=DEMO_SUBJECTS[1], applications=("mobile-app", "kiosk-7", "web")),
    ]


def synthetic_plans(projects: int, images: int) -> list[ProjectPlan]:
    """P projects of N cheap PNGs each (photo-sized originals, unique per image), alternating classification
    and object detection; made again at upload rather than held (microseconds each)."""
    plans = []
    for p in range(projects):
        kind = ProjectKind.CLASSIFICATION if p % 2 == 0 else ProjectKind.OBJECT_DETECTION
        names = ("alpha", "beta", "gamma", "delta", "epsilon")[: 5 - p % 2]
        predictions = min(500, max(2, images // 20))

        def picture(n: int, p: int = p) -> pictures.Picture:
            serial = (p << 32) + n + 1
            if n >= PREDICTION_SERIAL_BASE:
                return pictures.tiny_png(serial)
            return pictures.sized_png(serial, *PHOTO_SIZES[serial * 7 % len(PHOTO_SIZES)])

        def resize(n: int, original: pictures.Picture, p: int = p) -> pictures.Picture:
            size = pictures.fitted_size(original.width, original.height)
            if size == (original.width, original.height):
                return original
            return pictures.sized_png((p << 32) + n + 1, *size)

        plans.append(ProjectPlan(f"Synthetic {p + 1:03d}", kind, names, images, predictions, picture, resize,
                                 lazy=True))
    return plans


def plans_for(seed_name: str) -> list[ProjectPlan]:
    """The project plans a seed name stands for (`a+b` joins seeds); SeedError for unknown names."""
    if "+" in seed_name:
        return [plan for part in seed_name.split("+") for plan in plans_for(part)]
    if seed_name == "demo":
        return demo_plans()
    if seed_name == "empty":
        return []
    match = SYNTHETIC.match(seed_name)
    if match:
        return synthetic_plans(int(match.group(1)), int(match.group(2)))
    raise SeedError(
        f"unknown seed {seed_name!r}: use demo, empty, synthetic:projects=P,images=N, or several joined by '+'"
    )


def build(seed_name: str) -> tuple[Store, list[Upload | LazyUpload]]:
    """The seeded Store (switched to the real clock and random ids afterwards) and the blobs to upload (image
    bytes made at upload time)."""
    builder = Builder(seed_name)
    for plan in plans_for(seed_name):
        builder.project(plan)
    builder.store.clock = utcnow
    builder.store.ids = new_id
    return builder.store, builder.uploads
