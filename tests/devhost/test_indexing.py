"""devhost indexes an app with the Python worker's rules: a function whose parameters are not its bindings
fails to load, and with it the whole app (Azure/azure-functions-python-worker functions.py, FunctionLoadError:
"the following parameters are declared in Python but not in function.json"; type annotations are checked
with the azure-functions library's own converters, `check_input_type_annotation`)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.indexer import AppLoadError, load

REPO = Path(__file__).resolve().parents[2]

UNBOUND = '''
import azure.functions as func
app = func.FunctionApp()

@app.route(route="ok")
def fine(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")

@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *")
def extra_parameter(timer: func.TimerRequest, extra: str = "") -> None:
    pass
'''

MISTYPED = '''
import azure.functions as func
app = func.FunctionApp()

@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *")
def mistyped(timer: int) -> None:
    pass
'''


def write_app(tmp_path: Path, source: str) -> Path:
    (tmp_path / "function_app.py").write_text(source)
    return tmp_path


def test_a_parameter_that_is_no_binding_fails_the_whole_app(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError) as refused:
        load(write_app(tmp_path, UNBOUND))
    assert ("cannot load the extra_parameter function: the following parameters are declared in Python but not "
            "in function.json: {'extra'}") in str(refused.value)


def test_an_annotation_the_binding_cannot_give_fails_the_app(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError) as refused:
        load(write_app(tmp_path, MISTYPED))
    assert 'type of timer binding in function.json "timerTrigger" does not match its Python annotation "int"' in str(
        refused.value)


def test_devhost_refuses_to_serve_an_app_the_worker_would_not_load(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "devhost", "--app-dir", str(write_app(tmp_path, UNBOUND)),
                             "--port", "0", "--state-dir", str(tmp_path / "state")],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert "{'extra'}" in result.stderr


def test_the_apps_own_functions_load_under_the_workers_rules() -> None:
    sys.modules.pop("function_app", None)
    index = load(REPO)
    assert "service_bus_request" in index.functions
    importlib.invalidate_caches()
