""" "Did you mean" helpers shared by every error that names an unknown key or name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to `limit` choices that look like `name`, best first.

    Example:
        >>> closest("unet_pp", ["flexunet", "unet", "unetpp", "u2net"])
        ['unetpp', 'unet', 'u2net']
    """
    return difflib.get_close_matches(name, list(choices), n=limit, cutoff=0.6)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean: a, b?' or '' when nothing is close.

    Example:
        >>> did_you_mean("base_filter", ["base_filters", "num_layers"])
        ' Did you mean: base_filters?'
    """
    matches = closest(name, choices)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
