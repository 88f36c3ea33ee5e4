"""Following a request: poll its status until it ends, showing progress as it goes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from cli.api import ApiClient, ApiError
from cli.render import BAR_WIDTH, progress_line, progress_lines
from dsr.runtime_status import TERMINAL_STATUSES

POLL_INTERVAL = 0.5
MAX_POLL_ERRORS = 10  # consecutive failed polls before giving up (a restarting host, a network blip)


class ProgressView:
    """Shows progress: bars redrawn in place on a terminal, one line per change otherwise."""

    def __init__(
        self, out: TextIO, *, tty: bool | None = None, width: int = BAR_WIDTH, columns: int | None = None
    ) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.width = width
        # a wrapped line would break the in-place redraw (it moves up by lines written), so lines are clipped
        self.columns = columns or shutil.get_terminal_size(fallback=(100, 24)).columns
        self._drawn = 0
        self._last: str | None = None

    def update(self, status: Mapping[str, Any]) -> None:
        """Draw `status` unless it shows the same as last time."""
        if self.tty:
            lines = [line[: self.columns - 1] for line in progress_lines(status, width=self.width)]
            if "\n".join(lines) == self._last:
                return
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.out.write(up + "\x1b[J" + "\n".join(lines) + "\n")
            self._drawn, self._last = len(lines), "\n".join(lines)
        else:
            line = progress_line(status)
            if line == self._last:
                return
            self.out.write(line + "\n")
            self._last = line
        self.out.flush()


def follow(
    client: ApiClient,
    request_id: str,
    *,
    view: ProgressView | None,
    interval: float = POLL_INTERVAL,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the status until the request ends; returns the last status. Raises TimeoutError or ApiError."""
    deadline = None if timeout is None else clock() + timeout
    errors = 0
    while True:
        try:
            status = client.status(request_id)
            errors = 0
        except ApiError as exc:
            # 404 right after a submit (a host whose store lags) and outages are retried; a bad key is not.
            if exc.status in (401, 403) or errors + 1 >= MAX_POLL_ERRORS:
                raise
            errors += 1
        else:
            if view is not None:
                view.update(status)
            if status.get("status") in TERMINAL_STATUSES:
                return status
        if deadline is not None and clock() >= deadline:
            raise TimeoutError(f"request {request_id} has not finished after {timeout:.0f}s")
        sleep(interval)
