"""What the trigger tests share: a decorated function's own code, to call as the host would."""

from __future__ import annotations

from typing import Any


def user_function(function: Any) -> Any:
    """The decorated function's own code (under the durable client middleware, which wants a JSON binding)."""
    code = function.build().get_user_function()
    return getattr(code, "client_function", code)
