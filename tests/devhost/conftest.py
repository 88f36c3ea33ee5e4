"""devhost tests import sample apps in-process as `function_app`, as the host does; undo that after each test
so the repo's own `function_app` module seen by other tests is never a sample app."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restore_function_app_module() -> Iterator[None]:
    saved_module = sys.modules.get("function_app")
    saved_path = list(sys.path)
    yield
    if saved_module is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = saved_module
    sys.path[:] = saved_path
