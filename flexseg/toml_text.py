"""TOML text for one value (a scalar, an array or an inline table).

Example:
    >>> toml_value({"name": 'a "quoted" name', "color": [0, 255, 0], "ignore": False})
    '{name = "a \\\\"quoted\\\\" name", color = [0, 255, 0], ignore = false}'
"""

from __future__ import annotations

import json
from typing import Any


def toml_value(value: Any) -> str:
    """`value` as TOML; strings get TOML's (and JSON's) escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # TOML basic strings share JSON's escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")
