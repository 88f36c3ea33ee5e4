"""Import function_app.py and index its functions by trigger, with the Python worker's rules.

The worker (Azure/azure-functions-python-worker, functions.py) refuses a function whose parameters are not
exactly its bindings (plus an optional `context`), or whose annotations its binding cannot give (checked by
the azure-functions library's converters, `check_input_type_annotation`); on Azure such a function fails
indexing and with it the whole app. devhost refuses to serve it, with the worker's message.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import meta

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
        check_parameters(info)
        result.functions[info.name] = info
    return result


def check_parameters(info: FunctionInfo) -> None:
    """The worker's FunctionLoadError checks: parameters are the bindings, annotations fit the bindings."""
    def refuse(message: str) -> AppLoadError:
        return AppLoadError(f"the Python worker would not load the app: cannot load the {info.name} function: "
                            f"{message}")

    try:
        params = dict(inspect.signature(info.func).parameters)
        annotations = typing.get_type_hints(info.func)
    except (NameError, TypeError, ValueError) as exc:
        raise refuse(f"its signature cannot be read: {exc}") from exc
    bound = {b["name"]: b for b in info.bindings if b["name"] != "$return"}
    if "context" in params and "context" not in bound:
        params.pop("context")
        context = annotations.get("context")
        if context is not None and (not isinstance(context, type) or context.__name__ != "Context"):
            raise refuse(f'the "context" parameter is expected to be of type azure.functions.Context, got {context!r}')
    if set(params) - set(bound):
        raise refuse(f"the following parameters are declared in Python but not in function.json: "
                     f"{set(params) - set(bound)!r}")
    if set(bound) - set(params):
        raise refuse(f"the following parameters are declared in function.json but not in Python: "
                     f"{set(bound) - set(params)!r}")
    for name in params:
        binding, annotation = bound[name], annotations.get(name)
        if annotation is None or str(binding.get("direction", "in")).lower() == "out":
            continue
        if not _fits(binding["type"], annotation):
            shown = getattr(annotation, "__name__", repr(annotation))
            raise refuse(f'type of {name} binding in function.json "{binding["type"]}" does not match its Python '
                         f'annotation "{shown}"')


def _fits(binding_type: str, annotation: Any) -> bool:
    """The worker's check: str/bytes use the generic binding, else the library's converter for the binding."""
    converter = meta.get_binding_registry().get(binding_type) if meta.get_binding_registry() else None
    implicit_output = bool(converter is not None and converter.has_implicit_output())
    if annotation in (str, bytes) and not implicit_output:
        return True
    if not isinstance(annotation, type):
        return typing.get_origin(annotation) is not None  # a generic alias: the worker lets it through here
    if converter is None:
        return issubclass(annotation, (str, bytes, bytearray))
    return bool(converter.check_input_type_annotation(annotation))


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
