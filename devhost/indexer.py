"""Import function_app.py and index its functions by trigger, as the worker's indexing does."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

SCRIPT = "function_app.py"

# trigger binding type -> devhost's kind of function
TRIGGERS = {
    "httpTrigger": "http",
    "orchestrationTrigger": "orchestrator",
    "activityTrigger": "activity",
    "timerTrigger": "timer",
    "serviceBusTrigger": "servicebus",
}
# non-trigger bindings devhost can satisfy
BINDINGS = {("durableClient", "in"), ("http", "out")}


class AppLoadError(Exception):
    """The app cannot be imported, or it uses a trigger/binding devhost does not support."""


@dataclass(frozen=True)
class FunctionInfo:
    """One indexed function: its trigger, bindings and the callable the worker would invoke."""

    name: str
    kind: str
    func: Callable[..., Any]
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    client_param: str | None = None
    wants_context: bool = False

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)


@dataclass
class AppIndex:
    """Every function of the app by name."""

    functions: dict[str, FunctionInfo] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[FunctionInfo]:
        return [f for f in self.functions.values() if f.kind == kind]

    def get(self, name: str, kind: str | None = None) -> FunctionInfo | None:
        """Case-insensitive lookup by function name, or by the trigger's `orchestration`/`activity` name."""
        wanted = name.lower()
        for key, info in self.functions.items():
            alias = info.trigger.get("orchestration") or info.trigger.get("activity") or key
            if wanted in (key.lower(), str(alias).lower()) and (kind is None or info.kind == kind):
                return info
        return None


def import_app(app_dir: Path) -> func.FunctionRegister:
    """Import `function_app.py` from `app_dir` and return its FunctionApp/DFApp object."""
    script = app_dir / SCRIPT
    if not script.exists():
        raise AppLoadError(f"{script} not found")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"importing {script} failed: {type(exc).__name__}: {exc}") from exc
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not apps:
        raise AppLoadError(f"{script} defines no FunctionApp (func.FunctionApp or df.DFApp)")
    return apps[0]


def index(app: func.FunctionRegister) -> AppIndex:
    """Classify every function by its trigger; refuse bindings devhost cannot serve."""
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise AppLoadError(f"indexing the app failed: {exc}") from exc
    result = AppIndex()
    for function in functions:
        info = describe(function)
        result.functions[info.name] = info
    return result


def describe(function: Any) -> FunctionInfo:
    """One Function object as FunctionInfo (bindings as in function.json)."""
    name = function.get_function_name()
    bindings = json.loads(function.get_function_json())["bindings"]
    triggers = [b for b in bindings if b["type"] in TRIGGERS or b["type"].endswith("Trigger")]
    if len(triggers) != 1:
        raise AppLoadError(f"function {name!r} must have exactly one trigger")
    trigger = triggers[0]
    if trigger["type"] not in TRIGGERS:
        raise AppLoadError(f"function {name!r}: devhost does not support the {trigger['type']!r} trigger "
                           f"(supported: {', '.join(sorted(TRIGGERS))})")
    client_param = None
    for binding in bindings:
        if binding is trigger:
            continue
        key = (binding["type"], str(binding.get("direction", "IN")).lower())
        if key not in BINDINGS:
            raise AppLoadError(f"function {name!r}: devhost does not support the {binding['type']!r} "
                               f"{key[1]} binding {binding.get('name')!r}")
        if binding["type"] == "durableClient":
            client_param = binding["name"]
    user = function.get_user_function()
    names = {b["name"] for b in bindings}
    try:
        params = inspect.signature(user).parameters
    except (TypeError, ValueError):
        params = {}
    wants_context = "context" in params and "context" not in names
    return FunctionInfo(name, TRIGGERS[trigger["type"]], user, trigger, bindings, client_param, wants_context)


def load(app_dir: Path) -> AppIndex:
    """Import and index the app in `app_dir`."""
    return index(import_app(app_dir))
