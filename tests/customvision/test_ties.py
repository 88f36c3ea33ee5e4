"""Paging with skip/take where `created` ties straddle pages and reorder on every call (pure, no service)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from customvision import owned_pages
from dsr.export.images import chunk_bounds

Image = dict[str, Any]


class TiedService:
    """GetImages(orderBy=Oldest) as the real service pages it: sorted by `created`, ties in a new order per call."""

    def __init__(self, group_sizes: list[int], seed: int) -> None:
        self.rng = random.Random(seed)
        self.images: list[Image] = []
        for group, size in enumerate(group_sizes):
            created = f"2020-06-06T17:53:{group // 100:02d}.{group % 100:02d}12345"  # 7 digits, all distinct groups
            self.images += [{"id": f"{group}-{n}", "created": created} for n in range(size)]
        self.calls = 0

    def fetch(self, skip: int, take: int) -> list[Image]:
        self.calls += 1
        out: list[Image] = []
        run: list[Image] = []
        for image in self.images:
            if run and image["created"] != run[0]["created"]:
                self.rng.shuffle(run)
                out += run
                run = []
            run.append(image)
        self.rng.shuffle(run)
        out += run
        return [dict(i) for i in out[skip : skip + take]]


def _export_all(service: TiedService, chunk_size: int) -> list[str]:
    count = len(service.images)
    chunks = max(1, -(-count // chunk_size))
    ids: list[str] = []
    for chunk in range(chunks):
        start, end = chunk_bounds(chunk, chunks, chunk_size)
        for page in owned_pages(service.fetch, start, end):
            ids += [image["id"] for image in page]
    return ids


@pytest.mark.parametrize("seed", range(40))
def test_every_image_exactly_once_across_chunks_and_pages(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.choice((1, 1, 2, 3, 5, 8, 13, 21, 34, 64)) for _ in range(rng.randrange(20, 120))]
    service = TiedService(sizes, seed)
    ids = _export_all(service, 480)
    assert sorted(ids) == sorted(i["id"] for i in service.images)


def test_listing_costs_little_more_than_plain_paging() -> None:
    service = TiedService([random.Random(n).choice((1, 2, 3, 4, 8)) for n in range(3000)], 1)
    count = len(service.images)
    _export_all(service, 480)
    assert service.calls <= 1.15 * -(-count // 256) + 2, (service.calls, count)


@pytest.mark.parametrize("giant", [256, 300, 700])
def test_a_tie_larger_than_a_page_is_still_exported_whole(giant: int) -> None:
    service = TiedService([3, 100, giant, 2, 40, 7], giant)
    ids = _export_all(service, 480)
    assert sorted(ids) == sorted(i["id"] for i in service.images)


def test_a_chunk_owns_the_ties_that_start_in_it() -> None:
    service = TiedService([10] * 60, 3)  # groups at 0, 10, ..., 590; the one at 470 straddles position 475
    first = [i["id"] for page in owned_pages(service.fetch, 0, 475) for i in page]
    second = [i["id"] for page in owned_pages(service.fetch, 475, None) for i in page]
    assert len(first) == 480 and len(second) == 120, "the group starting at 470 belongs to the first chunk"
    assert not set(first) & set(second)
