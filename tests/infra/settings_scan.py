"""Find every setting the Functions app reads, from its source, so the sample file and the Bicep can be checked.

Scope: the modules `function_app.py` imports, transitively, within the repo (the code Azure runs). Tools that
never run in the app (the dsr CLI, emulator, devhost, localrun) are outside it unless the app imports them.

A setting is found where the code reads the environment or a mapping that stands for it:
  - `os.environ["X"]`, `os.environ.get("X")`, `os.getenv("X")`, `env["X"]`, `env.get("X")`, `environ.get("X")`
    (any name spelled env/environ/environment/settings_env);
  - a call that passes such a mapping together with a setting name: `_float(env, "X", 1.0)`;
  - the name may be a string literal or a module-level UPPER_CASE constant holding one (`KEY_ENV = "X"`);
and where a binding names one: `connection="X"` (an identity connection: X__fullyQualifiedNamespace etc.)
and `%X%` in any decorator argument (`queue_name="%X%"`, `schedule="%X%"`); and where a module names one in
a constant spelled `*_SETTING` or `*_ENV` (`TICK_SETTING = "SCHEDULER_TICK"`), which covers helpers that build
`%X%` or read `env.get(name)` from a parameter.
Settings named inside JSON values (CUSTOMVISION_RESOURCES' trainingKeySetting) are data, not code: not listed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ENV_NAMES = frozenset({"env", "environ", "environment", "settings_env"})
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")
PERCENT_REF = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)%")


@dataclass(frozen=True)
class Found:
    """One setting read somewhere: its name, how it is read, and where."""

    name: str
    kind: str  # "env" | "connection" | "binding" | "constant"
    where: str  # path:line


@dataclass
class Scan:
    modules: list[str] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)

    def names(self, kind: str | None = None) -> set[str]:
        return {f.name for f in self.found if kind is None or f.kind == kind}

    def report(self) -> str:
        """A readable list for test output: every setting with its kind and first places."""
        by_name: dict[str, list[Found]] = {}
        for item in self.found:
            by_name.setdefault(item.name, []).append(item)
        lines = [f"scanned {len(self.modules)} modules reachable from function_app.py"]
        for name in sorted(by_name):
            items = by_name[name]
            kinds = ",".join(sorted({i.kind for i in items}))
            places = ", ".join(sorted({i.where for i in items})[:3])
            lines.append(f"  {name:40} {kinds:12} {places}")
        return "\n".join(lines)


def app_modules(root: Path, entry: str = "function_app.py") -> list[Path]:
    """Python files reachable from `entry` through imports that resolve inside `root`."""
    seen: set[Path] = set()
    todo = [root / entry]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        package = path.parent.relative_to(root).parts
        for node in ast.walk(tree):
            for name in _imported_names(node, package):
                todo.extend(_resolve(root, name))
    return sorted(seen)


def _imported_names(node: ast.AST, package: tuple[str, ...]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = list(package[: len(package) - node.level + 1]) if node.level else []
        module = ".".join([*base, *(node.module.split(".") if node.module else [])])
        # `from pkg import mod` may import a submodule: try both pkg.mod and pkg.
        names = [f"{module}.{alias.name}" if module else alias.name for alias in node.names]
        return [*names, module] if module else names
    return []


def _resolve(root: Path, dotted: str) -> list[Path]:
    parts = dotted.split(".")
    out = []
    for n in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:n])
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                out.append(path)
        if out:
            # every package on the way is imported too
            out.extend(p for k in range(1, n) if (p := root.joinpath(*parts[:k], "__init__.py")).is_file())
            return out
    return out


def scan(root: Path, entry: str = "function_app.py") -> Scan:
    result = Scan()
    for path in app_modules(root, entry):
        rel = path.relative_to(root).as_posix()
        result.modules.append(rel)
        result.found.extend(_scan_module(path, rel))
    return result


def _scan_module(path: Path, rel: str) -> list[Found]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    constants = _string_constants(tree)
    found: list[Found] = []

    def name_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
        elif isinstance(node, ast.Name) and node.id in constants:
            value = constants[node.id]
        else:
            return None
        return value if SETTING_NAME.match(value) else None

    def add(name: str | None, kind: str, node: ast.AST) -> None:
        if name:
            found.append(Found(name, kind, f"{rel}:{getattr(node, 'lineno', 0)}"))

    for const, value in constants.items():
        if const.endswith(("_SETTING", "_ENV")) and SETTING_NAME.match(value):
            found.append(Found(value, "constant", f"{rel}:{_line_of(tree, const)}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_env(node.value):
            add(name_of(node.slice), "env", node)
        elif isinstance(node, ast.Call):
            func = node.func
            mapping_get = isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault")
            if (mapping_get and _is_env(func.value)) or _dotted(func) in ("os.getenv", "getenv"):
                if node.args:
                    add(name_of(node.args[0]), "env", node)
            elif any(_is_env(arg) for arg in node.args):
                for arg in node.args:
                    add(name_of(arg), "env", node)
            for keyword in node.keywords:
                if keyword.arg == "connection":
                    add(name_of(keyword.value), "connection", node)
                for text in _strings(keyword.value, constants):
                    for ref in PERCENT_REF.findall(text):
                        add(ref, "binding", node)
    return found


def _line_of(tree: ast.Module, name: str) -> int:
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return 0


def _is_env(node: ast.AST) -> bool:
    """os.environ, or a name/attribute spelled like an environment mapping."""
    if isinstance(node, ast.Attribute):
        return node.attr in ENV_NAMES
    return isinstance(node, ast.Name) and node.id in ENV_NAMES


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _strings(node: ast.AST, constants: dict[str, str]) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    return []


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "literal" assignments (also annotated ones)."""
    out: dict[str, str] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    out[target.id] = value.value
    return out
