"""Write config dicts as TOML (sections of scalars, arrays and inline tables).

Example:
    >>> print(dumps({"train": {"epochs": 3, "loss": "cce"}}))
    [train]
    epochs = 3
    loss = "cce"
    <BLANKLINE>
"""

from __future__ import annotations

from typing import Any

from flexseg.toml_text import toml_value


def dumps(sections: dict[str, dict[str, Any]], comments: dict[str, str] | None = None) -> str:
    """Sections in order; None values are left out (TOML has no null)."""
    lines = []
    for section, values in sections.items():
        if comments and section in comments:
            lines.append(f"# {comments[section]}")
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(v)}" for key, v in values.items() if v is not None]
        lines.append("")
    return "\n".join(lines)
