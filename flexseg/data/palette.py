"""Palettes: named classes, their ids and their mask colors.

A palette comes from a TOML file, a dataset preset in `registry/datasets/`, a dataset's own
`dataset.toml` (written by `flexseg data synthetic` and `flexseg data mvtec`; the dataset's folder
may be given instead), or the original project's ini config (its `[mask]` `rgb_map` or
`color_map` dict, read as a Python literal).

Example:
    >>> palette = Palette.load("mvtec_screw")
    >>> palette.names[:2], palette.color_of("thread_side")
    (('background', 'manipulated_front'), (0, 255, 255))
"""

from __future__ import annotations

import ast
import configparser
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flexseg.data.splits import SPLITS
from flexseg.errors import FlexsegError
from flexseg.resources import registry_dir
from flexseg.suggest import did_you_mean
from flexseg.toml_text import toml_value

DATASET_FILE = "dataset.toml"
"""A dataset's description: its [[classes]] beside keys of its own (source, counts, seed)."""
PALETTE_KEYS = ("classes", "description", "reference")

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
        _no_duplicates([(c.id, c.name) for c in parsed], "class id", "names", source)
        _no_duplicates([(c.name, c.id) for c in by_id], "class name", "ids", source)
        _no_duplicates([(c.color, c.id) for c in by_id], "color", "ids", source)
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

    def weights(self, weights: Sequence[float] | Mapping[str, float]) -> list[float]:
        """Per-class weights in class order, from a list (one per class) or {name: weight}
        (classes not named weigh 1).

        Example:
            >>> Palette.load("mvtec_screw").weights({"thread_top": 30})
            [1.0, 1.0, 1.0, 1.0, 1.0, 30.0]
        """
        if isinstance(weights, Mapping):
            unknown = [name for name in weights if name not in self.names]
            if unknown:
                raise FlexsegError(
                    f"names unknown classes {unknown}.{did_you_mean(str(unknown[0]), self.names)} "
                    f"Classes: {', '.join(self.names)}."
                )
            values = [weights.get(name, 1.0) for name in self.names]
        elif isinstance(weights, Sequence) and not isinstance(weights, str):
            values = list(weights)
            if len(values) != self.num_classes:
                raise FlexsegError(
                    f"has {len(values)} values but the palette has {self.num_classes} classes "
                    f"({', '.join(self.names)}): give one weight per class, or a table "
                    "{name = weight}."
                )
        else:
            raise FlexsegError(f"must be a list or a table of numbers; got {weights!r}.")
        if any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0 for v in values):
            raise FlexsegError(f"must be numbers >= 0; got {values}.")
        return [float(v) for v in values]

    def __repr__(self) -> str:
        return f"Palette({', '.join(self.names)}; from {self.source})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Palette) and self.classes == other.classes

    def __hash__(self) -> int:
        return hash(self.classes)

    @classmethod
    def load(cls, spec: str | Path) -> Palette:
        """A preset name (`mvtec_screw`), a TOML file, a dataset folder holding `dataset.toml`,
        or the original's ini config file."""
        path = Path(spec)
        if path.is_dir():
            if not (path / DATASET_FILE).is_file():
                raise FlexsegError(
                    f"Palette {str(spec)!r}: a folder, but it holds no {DATASET_FILE}. Give a "
                    f"palette file, a preset ({', '.join(list_palettes())}) or a dataset folder "
                    f"written by flexseg data synthetic or flexseg data mvtec."
                )
            return cls.from_toml(path / DATASET_FILE)
        if path.suffix.lower() == ".toml" and path.is_file():
            return cls.from_toml(path)
        if path.suffix.lower() in (".config", ".ini", ".cfg") and path.is_file():
            return cls.from_ini(path)
        if path.suffix or path.exists() or "/" in str(spec):
            raise FlexsegError(
                f"Palette {str(spec)!r}: no such TOML (.toml) or ini (.config/.ini) file or "
                f"dataset folder. Dataset presets: {', '.join(list_palettes())}."
            )
        return cls.from_preset(str(spec))

    @classmethod
    def of_dataset(cls, root: str | Path, spec: str | Path | None = None) -> Palette:
        """`spec` when given, else the palette in the dataset's `dataset.toml` (in `root`, or
        above it when `root` is one split's folder).

        Example:
            >>> Palette.of_dataset("data", "mvtec_screw").num_classes
            6
        """
        if spec is not None:
            return cls.load(spec)
        root = Path(root)
        for folder in (root, root.parent) if root.name in SPLITS else (root,):
            if (folder / DATASET_FILE).is_file():
                return cls.from_toml(folder / DATASET_FILE)
        raise FlexsegError(
            f"{root}: no {DATASET_FILE} in the dataset folder, so no palette: give one with "
            "--palette (a preset such as mvtec_screw, a palette TOML or ini file)."
        )

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
        """TOML with `[[classes]]` tables holding `id`, `name` and `color = [r, g, b]`.

        A dataset's `dataset.toml` may hold other keys beside (its description); a palette
        file may not, so a misspelt key is an error."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise FlexsegError(f"{path}: cannot read the palette: {error}") from error
        return cls.from_toml_text(text, path)

    @classmethod
    def from_toml_text(cls, text: str, path: str | Path) -> Palette:
        """`from_toml` of a file's text; `path` names it in errors (and a name of
        dataset.toml allows a dataset's own keys)."""
        path = Path(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise FlexsegError(f"{path}: cannot read the palette: {error}") from error
        unknown_keys = set(data) - set(PALETTE_KEYS)
        if unknown_keys and path.name != DATASET_FILE:
            key = sorted(unknown_keys)[0]
            raise FlexsegError(
                f"{path}: unknown key {key!r}.{did_you_mean(key, PALETTE_KEYS)} A palette file "
                f"has [[classes]] and optionally description and reference (a dataset's "
                f"{DATASET_FILE} may hold more)."
            )
        entries = data.get("classes")
        if not isinstance(entries, list):
            raise FlexsegError(
                f"{path}: expected [[classes]] tables with id, name and color; found keys "
                f"{sorted(data)}."
            )
        classes = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise FlexsegError(
                    f"{path}: classes[{index}] must be a table with id, name and color; "
                    f"got {entry!r}."
                )
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
            values = dict(parser.items("mask")) if parser.has_section("mask") else {}
        except (OSError, UnicodeDecodeError, configparser.Error) as error:
            raise FlexsegError(f"{path}: cannot read the ini config: {error}") from error
        if not parser.has_section("mask"):
            raise FlexsegError(f"{path}: no [mask] section, so no rgb_map or color_map palette.")
        keys = [key for key in ("rgb_map", "color_map") if parser.has_option("mask", key)]
        if len(keys) != 1:
            found = "both rgb_map and color_map" if keys else "neither rgb_map nor color_map"
            raise FlexsegError(f"{path}: [mask] must hold exactly one palette dict; found {found}.")
        where = f"{path} [mask] {keys[0]}"
        text = values[keys[0]]
        mapping = _literal(text, where)
        if not isinstance(mapping, dict):
            raise FlexsegError(f"{where} must be a dict {{(r, g, b): id}}; got {text!r}.")
        _no_repeated_colors(text, where)
        names = {}
        if parser.has_option("mask", "classes"):
            listed = _literal(values["classes"], f"{path} [mask] classes")
            if not isinstance(listed, list | tuple):
                raise FlexsegError(
                    f"{path} [mask] classes must be a list of class names; got {listed!r}."
                )
            names = dict(enumerate(listed))
        default_names = {0: "background"}
        classes = [
            (cid, names.get(cid, default_names.get(cid, f"class_{cid}")), color)
            if isinstance(cid, int)
            else (cid, "?", color)  # not an id: the palette's checks say so
            for color, cid in mapping.items()
        ]
        return cls(classes, source=f"{path} [mask] {keys[0]}")

    def to_toml(self) -> str:
        """The palette as TOML text that `Palette.from_toml` reads back."""
        return "".join(
            f"[[classes]]\nid = {c.id}\nname = {toml_value(c.name)}\ncolor = {list(c.color)}\n\n"
            for c in self.classes
        )

    def describe_dataset(self, written_by: str, fields: dict, counts: dict) -> str:
        """A dataset's `dataset.toml`: what wrote it, its `fields`, its image `counts` per
        split and kind, and these classes; `Palette.load` reads it back.

        Example:
            >>> palette = Palette([(0, "background", (0, 0, 0)), (1, "scratch", (255, 0, 0))])
            >>> text = palette.describe_dataset("a test", {"seed": 0}, {"train": {"good": 3}})
            >>> Palette.from_toml_text(text, DATASET_FILE) == palette
            True
        """
        lines = [f"# Written by {written_by}"]
        lines += [f"{key} = {toml_value(value)}" for key, value in fields.items()]
        lines.append("")
        for part, kinds in counts.items():
            lines.append(f"[counts.{part}]")
            lines += [f"{kind} = {n}" for kind, n in sorted(kinds.items())]
            lines.append("")
        return "\n".join(lines) + "\n" + self.to_toml()


def list_palettes() -> list[str]:
    """Names of the dataset palettes shipped in `registry/datasets/`."""
    return sorted(path.stem for path in (registry_dir() / "datasets").glob("*.toml"))


def _literal(text: str, where: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
        raise FlexsegError(f"{where}: not a Python literal ({error}): {text!r}") from error


def _no_repeated_colors(text: str, where: str) -> None:
    """A dict literal keeps the last of repeated keys; name a color given twice instead."""
    literal = ast.parse(text.strip(), mode="eval").body
    seen: dict = {}
    for key, value in zip(literal.keys, literal.values, strict=True):
        color, class_id = ast.literal_eval(key), ast.literal_eval(value)
        if color in seen:
            raise FlexsegError(
                f"{where}: color {color!r} is given twice (ids {seen[color]!r} and "
                f"{class_id!r}); each color maps to one class."
            )
        seen[color] = class_id


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


def _no_duplicates(pairs: list[tuple], what: str, owners: str, source: str) -> None:
    """Raise naming the first value given twice, and whose it is (`owners`: ids or names)."""
    seen: dict = {}
    for value, owner in pairs:
        if value in seen:
            raise FlexsegError(
                f"{source}: {what} {value!r} is given twice ({owners} {seen[value]!r} and "
                f"{owner!r}); each must be unique."
            )
        seen[value] = owner
