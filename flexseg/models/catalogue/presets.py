"""Presets: named architecture settings kept as TOML data in `registry/models/`.

A preset file `registry/models/<name>.toml` reads:

    architecture = "flexunet"
    description = "What it is for"
    reference = "Where the settings come from"
    [settings]
    num_classes = 6
    input_shape = [512, 512, 3]

Example:
    >>> from flexseg.models.catalogue.presets import get_preset
    >>> get_preset("flexunet_mvtec_screw").settings["num_layers"]
    8
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexseg.errors import FlexsegError
from flexseg.resources import registry_dir
from flexseg.suggest import did_you_mean

_TEXT_KEYS = ("architecture", "description", "reference")
_KEYS = (*_TEXT_KEYS, "settings")


@dataclass(frozen=True)
class Preset:
    """An architecture name plus the settings that make a named, documented model."""

    name: str
    architecture: str
    description: str
    reference: str
    settings: Mapping[str, Any]
    path: Path


def list_presets(pattern: str = "*") -> list[str]:
    """Return the preset names matching a shell-style pattern, sorted.

    Example:
        >>> "flexunet_mvtec_screw" in list_presets()
        True
    """
    return sorted(fnmatch.filter(_all_presets(), pattern))


def get_preset(name: str) -> Preset:
    """Return a preset by name, or raise naming the closest preset names."""
    preset = find_preset(name)
    if preset is None:
        raise FlexsegError(f"No preset named {name!r}.{did_you_mean(name, _all_presets())}")
    return preset


def find_preset(name: str) -> Preset | None:
    """Return the preset called `name`, or None when there is none."""
    return _all_presets().get(name)


@functools.cache
def _all_presets() -> dict[str, Preset]:
    folder = registry_dir() / "models"
    return {path.stem: read_preset(path) for path in sorted(folder.glob("*.toml"))}


def read_preset(path: Path) -> Preset:
    """Parse and check one preset file; errors name the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise FlexsegError(f"{path}: not valid TOML: {error}") from error
    for key in data:
        if key not in _KEYS:
            raise FlexsegError(
                f"{path}: unknown key {key!r}.{did_you_mean(key, _KEYS)} "
                f"A preset has exactly: {', '.join(_KEYS)}."
            )
    for key in _KEYS:
        if key not in data:
            raise FlexsegError(f"{path}: missing key {key!r}. A preset has: {', '.join(_KEYS)}.")
    for key in _TEXT_KEYS:
        if not isinstance(data[key], str) or not data[key].strip():
            raise FlexsegError(f"{path}: {key!r} must be a non-empty string, got {data[key]!r}.")
    if not isinstance(data["settings"], dict):
        raise FlexsegError(f"{path}: [settings] must be a table, got {data['settings']!r}.")
    settings = {key: _freeze(value) for key, value in data["settings"].items()}
    return Preset(
        name=path.stem,
        architecture=data["architecture"],
        description=data["description"].strip(),
        reference=data["reference"].strip(),
        settings=settings,
        path=path,
    )


def _freeze(value: Any) -> Any:
    """TOML arrays become tuples: settings such as kernel sizes and shapes are tuples."""
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value
