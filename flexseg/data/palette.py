"""Palettes: named classes, their ids and their mask colors.

A palette comes from a TOML file, a dataset preset in `registry/datasets/`, or the original
project's ini config (its `[mask]` `rgb_map` or `color_map` dict, read with `ast.literal_eval`).

Example:
    >>> palette = Palette.load("mvtec_screw")
    >>> palette.names[:2], palette.color_of("thread_side")
    (('background', 'manipulated_front'), (0, 255, 255))
"""

from __future__ import annotations

import ast
import configparser
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flexseg.errors import FlexsegError
from flexseg.resources import registry_dir
from flexseg.suggest import did_you_mean

IGNORE_LABEL = 255
"""Label of pixels left out of losses and metrics (off-palette pixels, off_palette="ignore")."""


@dataclass(frozen=True)
class PaletteClass:
    """One class: its id (the label value), its name and its mask color."""

    id: int
    name: str
    color: tuple[int, int, int]


class Palette:
    """Classes with explicit ids 0..K-1 and distinct RGB colors; class 0 is the background.

    Example:
        >>> palette = Palette([(0, "background", (0, 0, 0)), (1, "scratch", (255, 0, 0))])
        >>> palette.num_classes, palette.colors.tolist()
        (2, [[0, 0, 0], [255, 0, 0]])
    """

    def __init__(self, classes: Sequence[tuple[int, str, Sequence[int]]], source: str = "<code>"):
        self.source = source
        parsed = [_parse_class(entry, source) for entry in classes]
        if not parsed:
            raise FlexsegError(f"{source}: the palette has no classes.")
        by_id = sorted(parsed, key=lambda c: c.id)
        _no_duplicates([c.id for c in by_id], "class id", source)
        _no_duplicates([c.name for c in by_id], "class name", source)
        _no_duplicates([c.color for c in by_id], "color", source)
        ids = [c.id for c in by_id]
        if ids != list(range(len(ids))):
            missing = sorted(set(range(max(ids) + 1)) - set(ids))
            raise FlexsegError(
                f"{source}: class ids must run 0..{len(ids) - 1} without gaps; "
                f"received ids {ids}, missing {missing}. Renumber the classes."
            )
        self.classes: tuple[PaletteClass, ...] = tuple(by_id)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8 array; row i is the color of class i."""
        return np.array([c.color for c in self.classes], dtype=np.uint8)

    def color_of(self, name: str) -> tuple[int, int, int]:
        for c in self.classes:
            if c.name == name:
                return c.color
        raise FlexsegError(
            f"{self.source}: no class named {name!r}.{did_you_mean(name, self.names)}"
        )

    def check_num_classes(self, num_classes: int) -> None:
        """Raise when a model's class count disagrees with this palette."""
        if num_classes != self.num_classes:
            raise FlexsegError(
                f"The palette {self.source} has {self.num_classes} classes "
                f"({', '.join(self.names)}) but num_classes={num_classes}. Make them agree: "
                "num_classes counts the background."
            )

    def __repr__(self) -> str:
        return f"Palette({', '.join(self.names)}; from {self.source})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Palette) and self.classes == other.classes

    def __hash__(self) -> int:
        return hash(self.classes)

    @classmethod
    def load(cls, spec: str | Path) -> Palette:
        """A preset name (`mvtec_screw`), a TOML file, or the original's ini config file."""
        path = Path(spec)
        if path.suffix.lower() == ".toml" and path.is_file():
            return cls.from_toml(path)
        if path.suffix.lower() in (".config", ".ini", ".cfg") and path.is_file():
            return cls.from_ini(path)
        if path.suffix or path.exists() or "/" in str(spec):
            raise FlexsegError(
                f"Palette {str(spec)!r}: no such TOML (.toml) or ini (.config/.ini) file. "
                f"Dataset presets: {', '.join(list_palettes())}."
            )
        return cls.from_preset(str(spec))

    @classmethod
    def from_preset(cls, name: str) -> Palette:
        path = registry_dir() / "datasets" / f"{name}.toml"
        if not path.is_file():
            raise FlexsegError(
                f"No dataset palette named {name!r}.{did_you_mean(name, list_palettes())} "
                f"Known: {', '.join(list_palettes())}."
            )
        return cls.from_toml(path)

    @classmethod
    def from_toml(cls, path: str | Path) -> Palette:
        """TOML with `[[classes]]` tables holding `id`, `name` and `color = [r, g, b]`."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise FlexsegError(f"{path}: cannot read the palette: {error}") from error
        unknown_keys = set(data) - {"classes", "description", "reference"}
        if unknown_keys:
            key = sorted(unknown_keys)[0]
            raise FlexsegError(
                f"{path}: unknown key {key!r}."
                f"{did_you_mean(key, ['classes', 'description', 'reference'])} "
                "A palette file has [[classes]] and optionally description and reference."
            )
        entries = data.get("classes")
        if not isinstance(entries, list):
            raise FlexsegError(
                f"{path}: expected [[classes]] tables with id, name and color; found keys "
                f"{sorted(data)}."
            )
        classes = []
        for index, entry in enumerate(entries):
            unknown = set(entry) - {"id", "name", "color"}
            missing = {"id", "name", "color"} - set(entry)
            if unknown or missing:
                raise FlexsegError(
                    f"{path}: classes[{index}] must have exactly id, name and color; "
                    f"unknown {sorted(unknown)}, missing {sorted(missing)}."
                )
            classes.append((entry["id"], entry["name"], entry["color"]))
        return cls(classes, source=str(path))

    @classmethod
    def from_ini(cls, path: str | Path) -> Palette:
        """The original's `[mask]` dict `{(r, g, b): class_id, ...}` under rgb_map or color_map.

        The dict values are the class ids (the original ignored them and used dict order).
        Class names come from `[mask] classes = [...]` when present, else background for
        class 0 and `class_<id>` for the others.
        """
        path = Path(path)
        parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
        try:
            parser.read_string(path.read_text(encoding="utf-8"))
        except (OSError, configparser.Error) as error:
            raise FlexsegError(f"{path}: cannot read the ini config: {error}") from error
        if not parser.has_section("mask"):
            raise FlexsegError(f"{path}: no [mask] section, so no rgb_map or color_map palette.")
        keys = [key for key in ("rgb_map", "color_map") if parser.has_option("mask", key)]
        if len(keys) != 1:
            found = "both rgb_map and color_map" if keys else "neither rgb_map nor color_map"
            raise FlexsegError(f"{path}: [mask] must hold exactly one palette dict; found {found}.")
        mapping = _literal(parser.get("mask", keys[0]), f"{path} [mask] {keys[0]}")
        if not isinstance(mapping, dict):
            raise FlexsegError(f"{path}: [mask] {keys[0]} must be a dict {{(r, g, b): id}}.")
        names = {}
        if parser.has_option("mask", "classes"):
            listed = _literal(parser.get("mask", "classes"), f"{path} [mask] classes")
            names = dict(enumerate(listed))
        default_names = {0: "background"}
        classes = [
            (cid, names.get(cid, default_names.get(cid, f"class_{cid}")), color)
            for color, cid in mapping.items()
        ]
        return cls(classes, source=f"{path} [mask] {keys[0]}")

    def to_toml(self) -> str:
        """The palette as TOML text that `Palette.from_toml` reads back."""
        return "".join(
            f'[[classes]]\nid = {c.id}\nname = "{c.name}"\ncolor = {list(c.color)}\n\n'
            for c in self.classes
        )


def list_palettes() -> list[str]:
    """Names of the dataset palettes shipped in `registry/datasets/`."""
    return sorted(path.stem for path in (registry_dir() / "datasets").glob("*.toml"))


def _literal(text: str, where: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as error:
        raise FlexsegError(f"{where}: not a Python literal ({error}): {text!r}") from error


def _parse_class(entry, source: str) -> PaletteClass:
    try:
        class_id, name, color = entry
    except (TypeError, ValueError):
        raise FlexsegError(
            f"{source}: each class is (id, name, (r, g, b)); got {entry!r}."
        ) from None
    if isinstance(class_id, bool) or not isinstance(class_id, int) or not 0 <= class_id < 255:
        raise FlexsegError(f"{source}: class id must be an integer in 0..254; got {class_id!r}.")
    if not isinstance(name, str) or not name:
        raise FlexsegError(f"{source}: class {class_id} needs a non-empty name; got {name!r}.")
    if (
        not isinstance(color, Sequence)
        or len(color) != 3
        or any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255 for v in color)
    ):
        raise FlexsegError(
            f"{source}: class {name!r} color must be three integers 0..255; got {color!r}."
        )
    return PaletteClass(class_id, name, tuple(color))


def _no_duplicates(values: list, what: str, source: str) -> None:
    seen, repeated = set(), []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    if repeated:
        raise FlexsegError(f"{source}: duplicate {what}(s) {repeated}; each must be unique.")
