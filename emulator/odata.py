"""The small `$filter` language of the image list calls: `key eq 'v'`, `ne`, `and`, `or`, parentheses."""

from __future__ import annotations

import re
from collections.abc import Callable

Predicate = Callable[[dict[str, str]], bool]
TOKEN = re.compile(r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z_][\w.\-]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"unexpected input at {pos}: {text[pos : pos + 10]!r}")
        pos = match.end()
        lparen, rparen, string, word = match.groups()
        if lparen:
            out.append(("(", "("))
        elif rparen:
            out.append((")", ")"))
        elif string is not None:
            out.append(("str", string.replace("''", "'")))
        else:
            lowered = word.lower()
            out.append((lowered, word) if lowered in ("eq", "ne", "and", "or") else ("id", word))
    return out


def parse(text: str) -> Predicate:
    """A predicate over image metadata; ValueError for anything outside the language."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str:
        return tokens[pos][0] if pos < len(tokens) else ""

    def take(kind: str) -> str:
        nonlocal pos
        if peek() != kind:
            raise ValueError(f"expected {kind}")
        pos += 1
        return tokens[pos - 1][1]

    def disjunction() -> Predicate:
        parts = [conjunction()]
        while peek() == "or":
            take("or")
            parts.append(conjunction())
        return lambda m: any(p(m) for p in parts)

    def conjunction() -> Predicate:
        parts = [atom()]
        while peek() == "and":
            take("and")
            parts.append(atom())
        return lambda m: all(p(m) for p in parts)

    def atom() -> Predicate:
        if peek() == "(":
            take("(")
            inner = disjunction()
            take(")")
            return inner
        key = take("id")
        op = peek()
        if op not in ("eq", "ne"):
            raise ValueError("expected eq or ne")
        take(op)
        value = take("str")
        if op == "eq":
            return lambda m: m.get(key) == value
        return lambda m: m.get(key) != value

    result = disjunction()
    if pos != len(tokens):
        raise ValueError("trailing input")
    return result
