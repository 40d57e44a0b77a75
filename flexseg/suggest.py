""" "Did you mean" helpers shared by every error that names an unknown key or name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from flexseg.errors import SettingsError


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


def known_settings(
    model: str, given: Iterable[str], accepted: Sequence[str], context: str | None = None
) -> None:
    """Raise naming every key of `given` that `model` does not take, with the closest names.

    Example:
        >>> known_settings("unet", ["filters"], ["base_filters"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        flexseg.errors.SettingsError: unet ... 'filters' (did you mean base_filters?)...
    """
    unknown = [key for key in given if key not in accepted]
    if not unknown:
        return
    details = ", ".join(_with_suggestion(key, accepted) for key in unknown)
    where = f" (from {context})" if context else ""
    raise SettingsError(
        f"{model} does not take the setting(s) {details}{where}. It takes: {', '.join(accepted)}."
    )


def _with_suggestion(key: str, accepted: Sequence[str]) -> str:
    matches = closest(key, accepted)
    return f"{key!r} (did you mean {' or '.join(matches)}?)" if matches else repr(key)
