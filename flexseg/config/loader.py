"""Load, override and validate a flexseg TOML config; every mistake is an error naming the key.

Example:
    >>> config = config_from_dict({"data": {"root": "data", "palette": "mvtec_screw"}},
    ...                           overrides=["train.epochs=3"])
    >>> config.train["epochs"], config.model["name"]
    (3, 'flexunet')
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexseg.config.cross_checks import check_across_keys
from flexseg.config.schema import REQUIRED, SCHEMA, Key
from flexseg.config.search_section import check_search_section
from flexseg.data.palette import DATASET_FILE, Palette
from flexseg.errors import ConfigError, FlexsegError
from flexseg.models.catalogue import registry
from flexseg.suggest import did_you_mean


@dataclass
class Config:
    """Validated sections; [model] holds `name` and the architecture's settings.

    The palette is parsed once, when the config is checked; paths are relative to the
    config file's folder.
    """

    model: dict[str, Any]
    data: dict[str, Any]
    train: dict[str, Any]
    eval: dict[str, Any]
    infer: dict[str, Any]
    tune: dict[str, Any]
    source: str = "<dict>"
    warnings: list[str] = field(default_factory=list)
    _palette: Palette | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def folder(self) -> Path:
        """Relative paths in a config are relative to the config file's folder."""
        return Path(self.source).resolve().parent if self.source != "<dict>" else Path.cwd()

    def path(self, value: str | Path) -> Path:
        """`value` resolved against the config's folder (absolute paths stay as they are)."""
        return (self.folder / value) if not Path(value).is_absolute() else Path(value)

    @property
    def data_root(self) -> Path:
        """data.root as a path."""
        return self.path(self.data["root"])

    @property
    def run_dir(self) -> Path:
        """train.run_dir as a path."""
        return self.path(self.train["run_dir"])

    def palette(self) -> Palette:
        """data.palette (inline classes, a dataset preset, a TOML / ini file or a dataset
        folder; by default data.root's dataset.toml), parsed once."""
        if self._palette is None:
            self._palette = self._parse_palette()
        return self._palette

    def _parse_palette(self) -> Palette:
        spec = self.data["palette"]
        if isinstance(spec, list):
            try:
                classes = [(c["id"], c["name"], c["color"]) for c in spec]
            except (TypeError, KeyError) as error:
                raise ConfigError(
                    f"{self.source}: data.palette entries need id, name and color; {error!r}."
                ) from None
            return Palette(classes, source=f"{self.source} data.palette")
        path = self.path(spec)  # a file, or a dataset folder; else a preset's name
        return Palette.load(path if Path(spec).suffix or (path / DATASET_FILE).is_file() else spec)

    def model_settings(self) -> dict[str, Any]:
        """The [model] settings without `name`."""
        return {k: v for k, v in self.model.items() if k != "name"}

    def replaced(self, **sections: dict[str, Any]) -> Config:
        """A copy with some keys of some sections replaced, e.g. `replaced(train={"epochs": 2})`.

        The values are taken as they are (a search draws them from checked choices); the
        palette is not parsed again.
        """
        changed = {name: {**getattr(self, name), **values} for name, values in sections.items()}
        return dataclasses.replace(self, **copy.deepcopy(changed))

    def with_model(self, model: dict[str, Any]) -> Config:
        """A copy whose [model] is `model` (a `name` and its settings), checked like a
        config's own [model]."""
        return dataclasses.replace(self, model=_model_section(model, self.source))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {section: copy.deepcopy(getattr(self, section)) for section in SCHEMA}


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a TOML config (or the original's ini config, converted), apply --set overrides."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found.")
    if path.suffix.lower() in (".config", ".ini", ".cfg"):
        from flexseg.config.original import convert_original

        data, warnings = convert_original(path)
        config = config_from_dict(data, overrides, source=str(path))
        config.warnings = warnings
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    return config_from_dict(data, overrides, source=str(path))


def config_from_dict(
    data: dict[str, Any], overrides: list[str] | None = None, source: str = "<dict>"
) -> Config:
    data = copy.deepcopy(data)
    for override in overrides or []:
        apply_override(data, override)
    sections = {}
    for section in data:
        if section not in SCHEMA:
            raise ConfigError(
                f"{source}: unknown section [{section}].{did_you_mean(section, SCHEMA)} "
                f"Sections: {', '.join(f'[{s}]' for s in SCHEMA)}."
            )
        if not isinstance(data[section], dict):
            raise ConfigError(f"{source}: [{section}] must be a table of keys.")
    for section, keys in SCHEMA.items():
        given = data.get(section, {})
        if section == "model":
            sections[section] = _model_section(given, source)
            continue
        for key in given:
            if key not in keys:
                raise ConfigError(
                    f"{source}: unknown key {section}.{key}.{did_you_mean(key, keys)} "
                    f"[{section}] takes: {', '.join(keys)}."
                )
        values = {}
        for key, spec in keys.items():
            if key in given:
                values[key] = check_value(f"{section}.{key}", given[key], spec, source)
            elif spec.default is REQUIRED:
                raise ConfigError(f"{source}: missing {section}.{key} ({spec.help}).")
            else:
                values[key] = copy.deepcopy(spec.default)
        sections[section] = values
    config = Config(**sections, source=source)
    if config.data["palette"] is None:
        config.data["palette"] = _dataset_palette(config)
    try:
        palette = config.palette()
    except ConfigError:
        raise
    except FlexsegError as error:
        raise ConfigError(f"{source}: data.palette: {error}") from None
    if "num_classes" in config.model:
        try:
            palette.check_num_classes(config.model["num_classes"])
        except FlexsegError as error:
            raise ConfigError(f"{source}: model.num_classes: {error}") from None
    check_search_section(config.tune, config.model["name"], source)
    check_across_keys(sections, palette, source)
    return config


def _dataset_palette(config: Config) -> str:
    """The palette of a config without data.palette: data.root's dataset.toml, written as a
    path beside data.root so that the resolved config says which palette was used."""
    written = str(Path(config.data["root"]) / DATASET_FILE)
    if not config.path(written).is_file():
        raise ConfigError(
            f"{config.source}: data.palette is not set and {config.path(written)} does not "
            "exist. Set data.palette (a preset such as mvtec_screw, a palette TOML or ini "
            "file, or inline [[data.palette]] classes), or point data.root at a dataset "
            "written by flexseg data synthetic or flexseg data mvtec (they write dataset.toml)."
        )
    return written


def _model_section(given: dict[str, Any], source: str) -> dict[str, Any]:
    name = check_value("model.name", given.get("name", "flexunet"), SCHEMA["model"]["name"], source)
    settings = {k: v for k, v in given.items() if k != "name"}
    try:
        entry, _ = registry.architecture_of(name)
    except FlexsegError as error:
        raise ConfigError(f"{source}: model.name: {error}") from None
    accepted = entry.setting_names()
    for key in settings:
        if key not in accepted:
            raise ConfigError(
                f"{source}: unknown key model.{key} for {entry.name}.{did_you_mean(key, accepted)} "
                f"It takes: {', '.join(accepted)}."
            )
    return {
        "name": name,
        **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()},
    }


def check_value(where: str, value: Any, spec: Key, source: str) -> Any:
    if value is None and spec.nullable:
        return None
    accepted = spec.types
    wrong_type = isinstance(value, bool) and bool not in accepted
    if wrong_type or not isinstance(value, accepted):
        names = " or ".join(t.__name__ for t in accepted)
        raise ConfigError(f"{source}: {where} must be {names}; got {value!r}.")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(
            f"{source}: {where} must be one of {', '.join(map(repr, spec.choices))}; got {value!r}."
            f"{did_you_mean(str(value), [str(c) for c in spec.choices])}"
        )
    if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
        raise ConfigError(f"{source}: {where} must be >= {spec.minimum}; got {value!r}.")
    if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
        raise ConfigError(f"{source}: {where} must be <= {spec.maximum}; got {value!r}.")
    if spec.length is not None and isinstance(value, list) and len(value) != spec.length:
        raise ConfigError(f"{source}: {where} must have {spec.length} items; got {value!r}.")
    return value


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one `section.key=value` override; the value is read as TOML, else as text."""
    target, separator, text = override.partition("=")
    section, dot, key = target.strip().partition(".")
    if not separator or not dot or not key:
        raise ConfigError(
            f"--set {override!r}: expected section.key=value, e.g. --set train.epochs=3."
        )
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = text.strip()  # bare words such as data.palette=mvtec_screw are text
    data.setdefault(section, {})
    if not isinstance(data[section], dict):
        raise ConfigError(f"--set {override!r}: [{section}] is not a table.")
    data[section][key] = value
