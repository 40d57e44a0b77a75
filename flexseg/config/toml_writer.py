"""Write config dicts as TOML (sections of scalars, arrays and inline tables).

Example:
    >>> print(dumps({"train": {"epochs": 3, "loss": "cce"}}))
    [train]
    epochs = 3
    loss = "cce"
    <BLANKLINE>
"""

from __future__ import annotations

import json
from typing import Any


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # TOML basic strings share JSON's escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {value_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def dumps(sections: dict[str, dict[str, Any]], comments: dict[str, str] | None = None) -> str:
    """Sections in order; None values are left out (TOML has no null)."""
    lines = []
    for section, values in sections.items():
        if comments and section in comments:
            lines.append(f"# {comments[section]}")
        lines.append(f"[{section}]")
        lines += [f"{key} = {value_text(v)}" for key, v in values.items() if v is not None]
        lines.append("")
    return "\n".join(lines)
