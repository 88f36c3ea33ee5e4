"""The code keeps the shape issue 19 asked for: small modules in dsr/, small functions everywhere but tests/bench.

Rerun: `.venv/bin/python -m pytest tests/test_code_shape.py -v` (the failure lists every offender).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = frozenset({"tests", "bench", ".venv", "node_modules", ".state", ".git", "build", "__pycache__"})
MAX_DSR_MODULE_LINES = 300  # the largest module in dsr/ stays under this
MAX_FUNCTION_LINES = 60  # from `def` to the function's last line, decorators not counted


def own_python_files(root: Path = ROOT) -> Iterator[Path]:
    """Every .py file of the app's own packages and top-level modules (not tests/, bench/ or installed code)."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if not any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            yield path


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES, *, root: Path = ROOT) -> list[str]:
    """`file:line name (N lines)` for each function or method of `path` longer than `limit` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_files_looked_at_are_the_apps() -> None:
    tops = {path.relative_to(ROOT).parts[0] for path in own_python_files()}
    assert {"function_app.py", "triggers", "orchestrators", "activities", "dsr", "customvision", "cli",
            "devhost", "emulator", "localrun"} <= tops
    assert not tops & {"tests", "bench", ".venv", "node_modules"}


def test_the_largest_module_in_dsr_is_under_300_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in own_python_files()
             if p.relative_to(ROOT).parts[0] == "dsr"}
    largest = max(sizes, key=sizes.__getitem__)
    assert sizes[largest] < MAX_DSR_MODULE_LINES, f"{largest} has {sizes[largest]} lines"


def test_no_function_is_over_60_lines_outside_tests_and_bench() -> None:
    offenders = [entry for path in own_python_files() for entry in long_functions(path)]
    assert offenders == []


def test_a_long_function_is_found(tmp_path: Path) -> None:
    """The check itself: a 61-line function is reported, a 60-line one is not."""
    body = "\n".join(f"    x{i} = {i}" for i in range(59))
    (tmp_path / "m.py").write_text(f"def ok():\n{body}\n\n\ndef long():\n{body}\n    return x0\n")
    assert long_functions(tmp_path / "m.py", root=tmp_path) == ["m.py:63 long (61 lines)"]
