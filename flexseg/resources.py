"""Where flexseg's data files (the TOML registry) live, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# In a wheel, pyproject.toml maps the repository's registry/ to flexseg/registry_files/.
_INSTALLED_REGISTRY = _PACKAGE_DIR / "registry_files"
# In a source checkout (editable install, or running from the repository), it sits beside flexseg/.
_SOURCE_REGISTRY = _PACKAGE_DIR.parent / "registry"


def registry_dir() -> Path:
    """Return the folder that holds the TOML presets and dataset palettes.

    Example:
        >>> (registry_dir() / "models").is_dir()
        True
    """
    for candidate in (_INSTALLED_REGISTRY, _SOURCE_REGISTRY):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "flexseg's registry folder is missing: looked in "
        f"{_INSTALLED_REGISTRY} (installed wheel) and {_SOURCE_REGISTRY} (source checkout). "
        "Reinstall flexseg, or run it from a complete checkout."
    )
