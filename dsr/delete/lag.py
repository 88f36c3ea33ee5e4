"""When a 202 DeleteImages takes effect: the service's lag, learnt from the first batches that leave a listing.

DeleteImages with allIterations answers 202 and the images stay listed a while (docs/real-service.md §4). The
images step deletes in the workspace's listing order (oldest first), 256 ids a call. On the workspace's first page
a batch none of whose ids is listed any more while a later batch's still are has been applied, so the lag is at
most the time since that batch was answered; if every batch takes about as long, the last batch is applied that
long after it was answered, and the watch looks then instead of every few tenths of a second. A look that proves
the guess wrong (a batch still listed after that long) drops it for good: the watch backs off as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence


class DeleteLag:
    """What the looks at the deleted sets tell about the service's lag; `observe` and `expected` answer when all
    should be applied."""

    def __init__(self, batches: Sequence[tuple[Sequence[str], float]]) -> None:
        """`batches`: each DeleteImages call's ids, in the order deleted, and the monotonic time it was answered."""
        self._batch_of = {image_id: n for n, (ids, _) in enumerate(batches) for image_id in ids}
        self._answered = [answered for _, answered in batches]
        self._at_most: float | None = None  # the lag is no longer than this (seconds), once a batch was seen applied
        self._trusted = True
        self._lock = threading.Lock()

    def observe(self, page: Iterable[str], looked: float, seen: float, *, ordered: bool) -> float | None:
        """Learn from one look at a set's first page (sent at `looked`, answered at `seen`); the monotonic time by
        which every batch should be applied, or None when not known. `ordered`: the page lists images in the order
        they were deleted (the workspace's; an iteration's mixes in images only it held, deleted last)."""
        listed = {self._batch_of[image_id] for image_id in page if image_id in self._batch_of}
        with self._lock:
            if self._at_most is not None and any(looked - self._answered[n] >= self._at_most for n in listed):
                self._trusted = False  # still listed after the lag learnt: it is not the same for every batch
            if ordered and listed:
                applied = [n for n in range(max(listed)) if n not in listed]
                if applied:
                    bound = seen - max(self._answered[n] for n in applied)
                    self._at_most = bound if self._at_most is None else min(self._at_most, bound)
            return self._expected()

    def expected(self) -> float | None:
        """The monotonic time by which every batch should be applied, or None when not known."""
        with self._lock:
            return self._expected()

    def _expected(self) -> float | None:
        if not self._trusted or self._at_most is None or not self._answered:
            return None
        return max(self._answered) + self._at_most
