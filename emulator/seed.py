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
    PredictedTag,
    Project,
    ProjectKind,
    Region,
    StoredBlob,
    StoredPrediction,
    Tag,
)
from emulator.store import Store, new_id, utcnow

EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SYNTHETIC = re.compile(r"^synthetic:projects=(\d+),images=(\d+)$")
PREDICTION_SERIAL_BASE = 1 << 30


@dataclass(frozen=True)
class ProjectPlan:
    """What one seeded project holds; every seed is a list of these."""

    name: str
    kind: ProjectKind
    tag_names: tuple[str, ...]
    image_count: int
    prediction_count: int
    picture: Callable[[int], pictures.Picture]  # image number -> bytes


class SeedError(ValueError):
    """An unknown or malformed seed name."""


class Builder:
    """Builds projects through the Store's own rules, with a seeded RNG for ids and a stepping clock."""

    def __init__(self, seed_name: str) -> None:
        self.rng = random.Random(seed_name)
        self.now = EPOCH
        self.uploads: list[Upload] = []
        self.store = Store(clock=self.tick, ids=self.uid)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def keep(self, name: str, picture: pictures.Picture) -> StoredBlob:
        upload = make_upload(name, picture.data, picture.content_type)
        self.uploads.append(upload)
        return upload.blob

    def image(self, project: Project, picture: pictures.Picture) -> Image:
        """A new image with its original (also the resized rendition) and thumbnail in blob."""
        image_id = self.uid()
        original = self.keep(f"{project.id}/images/{image_id}/original.{picture.ext}", picture)
        thumb = pictures.thumbnail(picture)
        thumbnail = original if thumb is picture else self.keep(f"{project.id}/images/{image_id}/thumbnail.jpg", thumb)
        return Image(image_id, self.tick(), picture.width, picture.height, original, original, thumbnail)

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
        """One project: images, two trained iterations (the second published), iteration-only images,
        a tag that only the first iteration still has, exports and stored predictions."""
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
        for number in range(n):
            image = self.image(project, plan.picture(number))
            self.label(project, image, number, tags)
            if number < half and number % 5 == 2:
                image.tags.append(ImageTag(retired.id, image.created))
            images.append(image)
        for image in images[:half]:
            self.store.add_image(project, image)
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
            self.prediction(project, published.id, tags, plan.picture(PREDICTION_SERIAL_BASE + number), number)
        return project

    def prediction(
        self, project: Project, iteration_id: str, tags: list[Tag], picture: pictures.Picture, number: int
    ) -> None:
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
        project.predictions[prediction_id] = StoredPrediction(
            prediction_id, iteration_id, self.tick(), blob, blob, blob, predicted
        )


def demo_plans() -> list[ProjectPlan]:
    """Two small projects of drawn JPEG/PNG pictures, ~60 images in all."""

    def drawn(offset: int) -> Callable[[int], pictures.Picture]:
        return lambda n: pictures.drawn_picture(offset + n, kind="png" if n % 4 == 3 else "jpeg")

    return [
        ProjectPlan("Demo pets", ProjectKind.CLASSIFICATION, ("cat", "dog", "bird"), 34, 6, drawn(0)),
        ProjectPlan("Demo fruit", ProjectKind.OBJECT_DETECTION, ("apple", "banana"), 26, 5, drawn(10_000)),
    ]


def synthetic_plans(projects: int, images: int) -> list[ProjectPlan]:
    """P projects of N tiny PNGs each, alternating classification and object detection."""
    plans = []
    for p in range(projects):
        kind = ProjectKind.CLASSIFICATION if p % 2 == 0 else ProjectKind.OBJECT_DETECTION
        names = ("alpha", "beta", "gamma", "delta", "epsilon")[: 5 - p % 2]
        predictions = min(500, max(2, images // 20))

        def picture(n: int, p: int = p) -> pictures.Picture:
            return pictures.tiny_png((p << 32) + n + 1)

        plans.append(ProjectPlan(f"Synthetic {p + 1:03d}", kind, names, images, predictions, picture))
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


def build(seed_name: str) -> tuple[Store, list[Upload]]:
    """The seeded Store (switched to the real clock and random ids afterwards) and the bytes to upload."""
    builder = Builder(seed_name)
    for plan in plans_for(seed_name):
        builder.project(plan)
    builder.store.clock = utcnow
    builder.store.ids = new_id
    return builder.store, builder.uploads
