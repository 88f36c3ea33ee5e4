"""A small Bicep reader for tests: parses with the tree-sitter Bicep grammar and lists declarations and references.

No Bicep compiler installs from the registries this project can reach (the CLI ships as a .NET tool / NuGet
package and a GitHub download), so the checks here stand in for `bicep build`: the grammar proves the files
parse, and the declarations give what `bicep lint` would catch first (undeclared names, unused parameters,
wrong module parameters, missing module files). Types, resource API schemas and ARM evaluation are not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tree_sitter import Language, Node, Parser

DECLARATIONS = {
    "parameter_declaration": "param",
    "variable_declaration": "var",
    "resource_declaration": "resource",
    "module_declaration": "module",
    "output_declaration": "output",
    "user_defined_function": "func",
    "type_declaration": "type",
}

# Bicep's built-in functions and namespaces that appear as plain identifiers in expressions.
BUILTIN_NAMESPACES = frozenset({"az", "sys"})


@cache
def parser() -> Parser:
    import tree_sitter_bicep

    return Parser(Language(tree_sitter_bicep.language()))


@dataclass
class Module:
    """A `module` statement: its symbolic name, source path, and the keys of its `params` object."""

    name: str
    source: str
    params: dict[str, Node]
    line: int


@dataclass
class BicepFile:
    path: Path
    text: str
    root: Node
    declared: dict[str, str] = field(default_factory=dict)  # name -> kind
    params: dict[str, Node] = field(default_factory=dict)  # param name -> declaration node
    modules: list[Module] = field(default_factory=list)
    imports: list[tuple[str, list[str]]] = field(default_factory=list)  # (source, names bound)

    @property
    def errors(self) -> list[str]:
        """Syntax errors as 'line:col: text'."""
        out = []

        def walk(node: Node) -> None:
            if node.type == "ERROR" or node.is_missing:
                row, col = node.start_point
                snippet = self.text.encode()[node.start_byte : node.end_byte][:60].decode(errors="replace")
                out.append(f"{self.path.name}:{row + 1}:{col + 1}: {node.type} {snippet!r}")
                return
            for child in node.children:
                walk(child)

        walk(self.root)
        return out

    def param_has_default(self, name: str) -> bool:
        node = self.params[name]
        return any(child.type == "=" for child in node.children)

    def param_is_secure(self, name: str) -> bool:
        return "secure" in _decorator_names(self.params[name])

    def references(self) -> list[tuple[str, int]]:
        """Every identifier used as a value (not a declaration, property key, member name or function name)."""
        out: list[tuple[str, int]] = []
        bound = _locally_bound(self.root)

        def walk(node: Node) -> None:
            if node.type == "identifier" and _is_reference(node) and node.text.decode() not in bound:
                out.append((node.text.decode(), node.start_point[0] + 1))
            for child in node.children:
                walk(child)

        walk(self.root)
        return out

    def object_keys(self, declaration: str) -> dict[str, int]:
        """Keys of the object literal a `var NAME = {...}` is set to, with their lines."""
        for node in self.root.named_children:
            if node.type == "variable_declaration" and node.named_children[0].text.decode() == declaration:
                value = node.named_children[-1]
                if value.type == "object":
                    return {_key(p): p.start_point[0] + 1 for p in value.named_children if p.type == "object_property"}
        raise KeyError(declaration)


def load(path: Path) -> BicepFile:
    text = path.read_text("utf-8")
    tree = parser().parse(text.encode())
    result = BicepFile(path, text, tree.root_node)
    for node in tree.root_node.named_children:
        kind = DECLARATIONS.get(node.type)
        if kind:
            name = node.named_children[0].text.decode()
            if kind != "output":  # outputs are not referable inside the file
                result.declared[name] = kind
            if kind == "param":
                result.params[name] = node
            if kind == "module":
                result.modules.append(_module(node))
        elif node.type == "import_functionality":
            source = _first_string(node)
            names = [c.text.decode() for c in node.named_children if c.type == "identifier"]
            # `import * as ns` binds ns; `import {a, b as c}` binds a and c (the alias wins): approximate by all.
            result.imports.append((source, names))
            for name in names:
                result.declared[name] = "import"
    return result


def load_bicepparam(path: Path) -> tuple[BicepFile, str]:
    """A .bicepparam file read through the Bicep grammar: `param x = e` is checked as `var x = e`.

    Returns the file (with its assignments as `var` declarations) and the template named by `using`.
    """
    text = path.read_text("utf-8")
    using = re.search(r"^using\s+'([^']+)'", text, re.MULTILINE)
    if not using:
        raise ValueError(f"{path}: no `using '<template>'` line")
    body = text[: using.start()] + " " * (using.end() - using.start()) + text[using.end() :]
    body = re.sub(r"^param(\s+\w+\s*=)", r"var  \1", body, flags=re.MULTILINE)  # same length: positions hold
    tree = parser().parse(body.encode())
    result = BicepFile(path, body, tree.root_node)
    for node in tree.root_node.named_children:
        if node.type == "variable_declaration":
            name = node.named_children[0].text.decode()
            result.declared[name] = "param-value"
    return result, using.group(1)


def _module(node: Node) -> Module:
    name = node.named_children[0].text.decode()
    source = _first_string(node)
    params: dict[str, Node] = {}
    body = _module_body(node)
    if body is not None:
        for prop in body.named_children:
            if prop.type == "object_property" and _key(prop) == "params":
                value = prop.named_children[-1]
                if value.type == "object":
                    params = {_key(p): p for p in value.named_children if p.type == "object_property"}
    return Module(name, source, params, node.start_point[0] + 1)


def _module_body(node: Node) -> Node | None:
    """The object of a module: direct, under `if (...)`, or the body of a `[for ...: {...}]`."""
    for child in node.named_children:
        if child.type == "object":
            return child
        if child.type in ("if_statement", "for_statement"):
            found = _module_body(child)
            if found is not None:
                return found
    return None


def _first_string(node: Node) -> str:
    for child in node.named_children:
        if child.type == "string":
            return "".join(c.text.decode() for c in child.named_children if c.type == "string_content")
    return ""


def _key(prop: Node) -> str:
    key = prop.named_children[0]
    if key.type == "string":
        return "".join(c.text.decode() for c in key.named_children if c.type == "string_content")
    return key.text.decode()


def _decorator_names(declaration: Node) -> set[str]:
    names = set()
    sibling = declaration.prev_named_sibling
    while sibling is not None and sibling.type == "decorators":
        for decorator in sibling.named_children:
            call = decorator.named_children[0] if decorator.named_children else None
            if call is not None and call.type == "call_expression":
                names.add(call.named_children[0].text.decode())
            elif call is not None:
                names.add(call.text.decode())
        sibling = sibling.prev_named_sibling
    # tree-sitter-bicep nests decorators as a sibling just before the declaration
    return names


def _is_reference(node: Node) -> bool:
    parent = node.parent
    if parent is None:
        return False
    if parent.type in DECLARATIONS and parent.named_children[0] == node:
        return False  # the declared name
    if parent.type in ("object_property",) and parent.named_children[0] == node:
        return False  # a property key
    if parent.type == "call_expression" and parent.child_by_field_name("function") == node:
        return False  # function name (built-in or user-defined; calls to unknown functions fail at build)
    if parent.type in ("import_functionality", "parameter", "type", "lambda_expression", "for_loop_parameters"):
        return False
    if parent.type == "member_expression" and parent.child_by_field_name("property") == node:
        return False
    return node.text.decode() not in BUILTIN_NAMESPACES


def _locally_bound(root: Node) -> set[str]:
    """Names bound by lambdas, loops and function parameters anywhere (scoping is approximated file-wide)."""
    out: set[str] = set()

    def walk(node: Node) -> None:
        if node.type in ("loop_variable", "loop_enumerator"):
            out.add(node.text.decode())
        elif node.type == "lambda_expression":
            for child in node.named_children[:-1]:
                if child.type == "identifier":
                    out.add(child.text.decode())
        elif node.type == "for_statement":
            first = node.named_children[0] if node.named_children else None
            if first is not None and first.type == "identifier":
                out.add(first.text.decode())
        elif node.type == "parameter":
            out.add(node.named_children[0].text.decode())
        for child in node.children:
            walk(child)

    walk(root)
    return out
