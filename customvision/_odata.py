"""`$filter` expressions on image metadata (GetImages, GetImageCount), built from values, never from raw text.

The spec: "The expression supports eq (Equal), ne (Not equal), and (Logical and), or (Logical or) operators",
e.g. `key1 eq 'value1' and key2 ne 'value2'`. Values are OData string literals: single-quoted, a quote inside
doubled (OData ABNF `SQUOTE-in-string = SQUOTE SQUOTE`), so no value can end its literal early and add a
clause. Keys are left bare, so they are restricted to identifiers that cannot be read as anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FILTER_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")  # fullmatch: an OData identifier, at most 100 characters
RESERVED = frozenset({"eq", "ne", "and", "or", "not", "true", "false", "null", "gt", "ge", "lt", "le"})


def odata_string(value: str) -> str:
    """`value` as an OData string literal: `'O''Brien'` for O'Brien."""
    return "'" + value.replace("'", "''") + "'"


def is_filter_key(key: str) -> bool:
    """A metadata key usable in `$filter`: an identifier (letters, digits, '_'; not first a digit), no keyword."""
    return FILTER_KEY.fullmatch(key) is not None and key.lower() not in RESERVED


def odata_filter(metadata: Mapping[str, str]) -> str:
    """`k1 eq 'v1' and k2 eq 'v2'` (keys sorted): images whose metadata holds every pair; ValueError for a key
    that is not a plain identifier or a value that is not text."""
    if not metadata:
        raise ValueError("a metadata filter needs at least one key/value pair")
    clauses = []
    for key in sorted(metadata):
        value = metadata[key]
        if not is_filter_key(key):
            raise ValueError(f"metadata key {key!r} is not usable in $filter (letters, digits and '_' only)")
        if not isinstance(value, str):
            raise ValueError(f"metadata value of {key!r} must be a string")
        clauses.append(f"{key} eq {odata_string(value)}")
    return " and ".join(clauses)
