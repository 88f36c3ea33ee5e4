"""The checkers behind test_bicep.py and test_settings_consistency.py catch what they claim to catch."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.infra import bicep
from tests.infra.settings_scan import scan


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


def test_syntax_errors_are_reported(tmp_path: Path) -> None:
    broken = bicep.load(write(tmp_path, "a.bicep", "param x string\nvar y = {\n  a: [1 2\n"))
    assert broken.errors
    fine = bicep.load(write(tmp_path, "b.bicep", "param x string\nvar y = { a: [1, 2], b: x }\n"))
    assert fine.errors == []


def test_undeclared_references_and_unused_params(tmp_path: Path) -> None:
    file = bicep.load(
        write(
            tmp_path,
            "m.bicep",
            """
            import * as roles from 'ids.bicep'
            param used string
            param unused string
            @secure()
            param key string = ''
            var items = map(['a'], item => '${item}${used}')
            func ref(v string) string => '@KV(${v})'
            resource r 'Microsoft.X/y@2020-01-01' = [for (n, i) in items: {
              name: ref(n)
              properties: { role: roles.reader, other: typo, nested: { k: key } }
            }]
            output o string = r[0].properties.name
            """,
        )
    )
    assert file.errors == []
    refs = {name for name, _ in file.references()}
    assert "typo" in refs and "typo" not in file.declared
    assert "unused" not in refs
    assert {"item", "n", "i", "v", "name", "properties"}.isdisjoint(refs)
    assert file.param_is_secure("key") and not file.param_is_secure("used")
    assert file.param_has_default("key") and not file.param_has_default("used")


def test_module_params_are_read_through_if_and_for(tmp_path: Path) -> None:
    file = bicep.load(
        write(
            tmp_path,
            "main.bicep",
            """
            param on bool
            module a 'a.bicep' = if (on) {
              name: 'a'
              params: { one: 1, 'two': 2 }
            }
            module b 'br/public:avm/res/x/y:1.2.3' = [for i in range(0, 2): {
              name: 'b${i}'
              params: { three: 3 }
            }]
            """,
        )
    )
    modules = {m.name: m for m in file.modules}
    assert set(modules["a"].params) == {"one", "two"}
    assert modules["b"].source == "br/public:avm/res/x/y:1.2.3" and set(modules["b"].params) == {"three"}


def test_bicepparam_assignments(tmp_path: Path) -> None:
    values, using = bicep.load_bicepparam(
        write(tmp_path, "main.bicepparam", "using 'main.bicep'\nparam a = readEnvironmentVariable('A', 'x')\n")
    )
    assert using == "main.bicep" and values.errors == [] and set(values.declared) == {"a"}


def test_settings_scanner_finds_every_form(tmp_path: Path) -> None:
    write(tmp_path, "function_app.py", "from pkg import mod\nimport pkg.triggers\n")
    write(tmp_path, "pkg/__init__.py", "")
    write(
        tmp_path,
        "pkg/mod.py",
        """
        import os
        from collections.abc import Mapping
        KEY_ENV = "FROM_CONSTANT"
        TICK_SETTING = "NAMED_SETTING"
        LABEL = "NOT_A_SETTING_NAME_CONSTANT"

        def _float(env: Mapping[str, str], name: str, default: float) -> float:
            return float(env.get(name) or default)

        def read(env: Mapping[str, str]) -> None:
            os.environ["SUBSCRIPT"]
            os.environ.get("ENVIRON_GET")
            os.getenv("GETENV")
            env.get("ENV_GET")
            env[KEY_ENV]
            _float(env, "VIA_HELPER", 1.0)
            env.get("lowercase_is_not_a_setting")
        """,
    )
    write(
        tmp_path,
        "pkg/triggers.py",
        """
        @bp.service_bus_queue_trigger(arg_name="msg", queue_name="%QUEUE_NAME%", connection="BUS")
        @bp.timer_trigger(arg_name="timer", schedule="%TICK%")
        def f(msg): ...
        """,
    )
    write(tmp_path, "pkg/unused.py", 'import os\nos.environ["NOT_IMPORTED_BY_THE_APP"]\n')
    found = scan(tmp_path)
    assert found.names("env") == {
        "SUBSCRIPT", "ENVIRON_GET", "GETENV", "ENV_GET", "FROM_CONSTANT", "VIA_HELPER",
    }
    assert found.names("constant") == {"FROM_CONSTANT", "NAMED_SETTING"}
    assert found.names("connection") == {"BUS"}
    assert found.names("binding") == {"QUEUE_NAME", "TICK"}
    assert "pkg/unused.py" not in found.modules
    assert "FROM_CONSTANT" in found.report()
