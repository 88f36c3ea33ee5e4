"""ItemPaged adapters: `skip`/`take` offset paging (safe across ties in `created`), continuation-token paging,
and fixed id batches."""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from azure.core.paging import ItemPaged

from ._times import time_key

Page = list[dict[str, Any]]
Fetch = Callable[[int, int], Page]
MAX_TIE_LISTINGS = 12  # listings of one tie larger than a page before its shortfall is left to the caller's count


def token_paged(
    fetch: Callable[[dict[str, Any]], dict[str, Any]], query: Mapping[str, Any], *, items_key: str = "results"
) -> ItemPaged[dict[str, Any]]:
    """Pages of a query answered with `{token, results}`: the returned token (JSON) asks for the next page."""

    def get_next(token: str | None) -> dict[str, Any]:
        return fetch(dict(query) if token is None else json.loads(token))

    def extract(result: dict[str, Any]) -> tuple[str | None, Iterator[dict[str, Any]]]:
        items = result.get(items_key) or []
        token = result.get("token") or {}
        following = json.dumps(token) if items and token.get("continuation") else None
        return following, iter(items)

    return ItemPaged(get_next, extract)


def batched_paged(
    fetch: Callable[[list[str]], Page], ids: Sequence[str], *, size: int
) -> ItemPaged[dict[str, Any]]:
    """One page per batch of at most `size` ids; the continuation token is the next batch's offset."""
    ids = list(ids)

    def get_next(token: str | None) -> tuple[int, Page]:
        start = int(token or 0)
        return start, fetch(ids[start:start + size]) if ids else []

    def extract(page: tuple[int, Page]) -> tuple[str | None, Iterator[dict[str, Any]]]:
        start, items = page
        following = str(start + size) if start + size < len(ids) else None
        return following, iter(items)

    return ItemPaged(get_next, extract)


def single_page(fetch: Callable[[], Page]) -> ItemPaged[dict[str, Any]]:
    """An operation that answers with the whole list at once, as an ItemPaged like the others."""
    return ItemPaged(lambda _token: fetch() or [], lambda items: (None, iter(items)))


def chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """Consecutive batches of at most `size` ids."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# Images are ordered by `created`, but images uploaded together share one `created` and the service orders a tie
# anew on every call (recorded: GetArtifacts.json; docs/real-service.md). Plain skip/take then loses or repeats
# images wherever a tie straddles two pages. Positions stay fixed (a tie always occupies the same positions), so:
# every tie is taken whole from ONE listing that starts where it starts. A page that ends inside a tie is followed
# by a page starting at that tie's first position; a range [start, end) owns the ties that START in it, and looks
# one position back to know whether its first tie started before it.


def _created(image: dict[str, Any]) -> Any:
    text = image.get("created")
    try:
        return time_key(text) if isinstance(text, str) else text
    except ValueError:
        return text


def created_runs(page: Page) -> list[tuple[int, Page]]:
    """(offset in page, images) of each run of equal `created` (a tie, or a single image)."""
    runs: list[tuple[int, Page]] = []
    for offset, image in enumerate(page):
        if runs and _created(runs[-1][1][0]) == _created(image):
            runs[-1][1].append(image)
        else:
            runs.append((offset, [image]))
    return runs


def _whole_tie(fetch: Fetch, pos: int, first: Page, take: int) -> tuple[Page, int]:
    """A tie filling the page at `pos` and beyond: (all its images, the position after it), listing it again until
    as many distinct images as it has positions were seen (bounded; a shortfall shows in the set's count)."""
    key = _created(first[0])
    windows = [first]
    while True:  # find where it ends
        page = fetch(pos + len(windows) * take, take)
        windows.append(page)
        inside = [image for image in page if _created(image) == key]
        if len(inside) < len(page) or len(page) < take:
            end = pos + (len(windows) - 1) * take + len(inside)
            break
    found = {image["id"]: image for window in windows for image in window if _created(image) == key}
    for _ in range(MAX_TIE_LISTINGS):
        if len(found) >= end - pos:
            break
        for number in range(len(windows)):
            found.update((i["id"], i) for i in fetch(pos + number * take, take) if _created(i) == key)
    return list(found.values()), end


def owned_page(fetch: Fetch, pos: int, *, start: int, end: int | None, take: int) -> tuple[Page, int | None]:
    """One listing at `pos` (a tie's first position, or `start - 1` to look back): the images of the ties that
    start in [start, end), and the position of the next listing (None: the range is done)."""
    page = fetch(pos, take)
    runs = created_runs(page)
    full = len(page) >= take
    owned: Page = []
    for number, (offset, images) in enumerate(runs):
        first = pos + offset  # the first run of a page starts at `pos` (or before, when looking back)
        if end is not None and first >= end:
            return owned, None
        if full and number == len(runs) - 1:  # the last run may go on past the page
            if offset == 0:  # one tie fills the page: list it whole, then go on after it
                images, after = _whole_tie(fetch, pos, images, take)
                return (owned + images if first >= start else owned), after
            return owned, first
        if first >= start:
            owned += images
    return owned, None


def owned_pages(fetch: Fetch, start: int = 0, end: int | None = None, *, take: int = 256) -> Iterator[Page]:
    """The images at positions [start, end) of a `created`-ordered listing, page by page, each exactly once however
    the service orders ties: every tie belongs to the range it starts in. `fetch(skip, take)` lists one page."""
    pos: int | None = max(start - 1, 0)
    while pos is not None:
        owned, pos = owned_page(fetch, pos, start=start, end=end, take=take)
        yield owned


def tie_safe_paged(fetch: Fetch, *, take: int, skip: int = 0) -> ItemPaged[dict[str, Any]]:
    """`owned_pages` as an ItemPaged; the continuation token is the next listing's position (a tie's start)."""

    def get_next(token: str | None) -> tuple[Page, int | None]:
        pos = max(skip - 1, 0) if token is None else int(token)
        return owned_page(fetch, pos, start=skip if token is None else pos, end=None, take=take)

    def extract(page: tuple[Page, int | None]) -> tuple[str | None, Iterator[dict[str, Any]]]:
        items, following = page
        return (None if following is None else str(following)), iter(items)

    return ItemPaged(get_next, extract)
