"""What `flexseg export SOURCE` exports: SOURCE is a run's config, a run folder, or a `.keras`
file; each gives the config (palette, scaling, channels) and the checkpoint.

Example:
    >>> import tempfile
    >>> resolve_source(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    flexseg.errors.FlexsegError: ...: not a run folder (no config.toml or best.toml in it); ...
"""

from __future__ import annotations

from pathlib import Path

from flexseg.config import Config, load_config
from flexseg.errors import FlexsegError

CONFIG_NAMES = ("config.toml", "best.toml")  # what a run folder (train) or a search (tune) holds
CONFIG_SUFFIXES = (".toml", ".config", ".ini", ".cfg")  # flexseg's and the original's configs


def resolve_source(
    source: str | Path,
    config: str | Path | None = None,
    checkpoint: str | Path | None = None,
    overrides: list[str] | None = None,
) -> tuple[Config, Path]:
    """(config, checkpoint) for SOURCE; `config` and `checkpoint` override what is found."""
    source = Path(source)
    if not source.exists():
        raise FlexsegError(f"{source}: not found; give a run's config, run folder or .keras file.")
    if source.is_dir():
        found = config or next((source / n for n in CONFIG_NAMES if (source / n).is_file()), None)
        if found is None:
            raise FlexsegError(
                f"{source}: not a run folder (no {' or '.join(CONFIG_NAMES)} in it); give the "
                "run's config, or a .keras file with --config."
            )
        loaded = load_config(found, overrides)
        return loaded, Path(checkpoint) if checkpoint else source / "best.keras"
    if source.suffix == ".keras":
        found = config or next(
            (source.parent / n for n in CONFIG_NAMES if (source.parent / n).is_file()), None
        )
        if found is None:
            raise FlexsegError(
                f"{source}: no config beside it ({' or '.join(CONFIG_NAMES)}); pass the run's "
                "config with --config (it names the palette and the input scaling)."
            )
        return load_config(found, overrides), source
    if config is None and source.suffix.lower() not in CONFIG_SUFFIXES:
        raise FlexsegError(
            f"{source}: not a flexseg model or run config; give a run's config "
            f"({', '.join(CONFIG_SUFFIXES)}), its run folder or its .keras file."
        )
    loaded = load_config(config or source, overrides)
    return loaded, Path(checkpoint) if checkpoint else loaded.run_dir / "best.keras"
