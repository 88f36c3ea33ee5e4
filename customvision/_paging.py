"""ItemPaged adapters: `skip`/`take` offset paging, continuation-token paging, and fixed id batches."""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from azure.core.paging import ItemPaged

Page = list[dict[str, Any]]


def skip_take_paged(fetch: Callable[[int, int], Page], *, take: int, skip: int = 0) -> ItemPaged[dict[str, Any]]:
    """Pages of `fetch(skip, take)`; a short page ends it. The continuation token is the next `skip`."""

    def get_next(token: str | None) -> tuple[int, Page]:
        start = skip if token is None else int(token)
        return start, fetch(start, take)

    def extract(page: tuple[int, Page]) -> tuple[str | None, Iterator[dict[str, Any]]]:
        start, items = page
        following = str(start + len(items)) if len(items) >= take else None
        return following, iter(items)

    return ItemPaged(get_next, extract)


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
