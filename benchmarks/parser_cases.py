"""Generated input for flexseg's readers of user files, and the readers as one call each.

Every reader must either load a case or raise flexseg's own error (`FlexsegError`); any
other exception, or a hang, is a bug. `tests/test_parsers.py` runs a few hundred cases of
each in `make test`; `python -m benchmarks.parsers` runs ten thousand and records the result.

Cases start from a valid file and change a few keys to generated values (so they reach the
checks deep inside a reader), or are generated text throughout.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from flexseg.config.schema import SCHEMA
from flexseg.toml_text import toml_value

# === Values ===

_names = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
_scalars = (
    st.integers(-(2**40), 2**40)
    | st.integers(-3, 300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=12)
    | st.sampled_from(["flexunet", "unet", "cce+dice", "mvtec_screw", "adamw", "cosine", "."])
)
# TOML values: scalars, arrays and inline tables, nested.
toml_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=8,
)
# Python literals as the original's ini holds them: also tuples, None and non-string keys.
_hashable = st.recursive(
    _scalars | st.none(), lambda inner: st.tuples(inner, inner, inner), max_leaves=4
)
python_literals = st.recursive(
    _scalars | st.none(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner, inner)
        | st.dictionaries(_hashable, inner, max_size=3)
    ),
    max_leaves=8,
)
_colors = st.tuples(st.integers(-1, 256), st.integers(0, 255), st.integers(0, 255)) | st.tuples(
    st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)
)

# === TOML configs ===

VALID_CONFIG = {
    "model": {"name": "flexunet", "num_layers": 3, "base_filters": 8},
    "data": {"root": "data", "palette": "mvtec_screw"},
    "train": {"epochs": 2, "batch_size": 2},
    "infer": {"tile_size": 64, "tile_overlap": 16},
    "tune": {"architectures": ["flexunet", "unet"], "constraints": ["params<=2e6"]},
}
_schema_keys = [(section, key) for section, keys in SCHEMA.items() for key in keys]
_model_keys = [("model", k) for k in ("num_layers", "base_filters", "dropout_rate", "kernel")]


@st.composite
def toml_config_texts(draw) -> str:
    """A config's TOML text: the valid one with a few keys changed or added, or garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    sections = {name: dict(values) for name, values in VALID_CONFIG.items()}
    keys = st.sampled_from(_schema_keys + _model_keys) | st.tuples(
        st.sampled_from([*SCHEMA, "extra"]), _names
    )
    for section, key in draw(st.lists(keys, max_size=4)):
        value = draw(toml_values) if draw(st.integers(0, 4)) else _palette_tables(draw)
        sections.setdefault(section, {})[key] = value
    text = "".join(
        f"[{section}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())
        for section, values in sections.items()
    )
    return text


def _palette_tables(draw) -> list[dict]:
    """Inline palette classes, mostly well formed."""
    count = draw(st.integers(0, 4))
    return [
        {
            "id": draw(st.integers(-1, 5) | st.just(i)),
            "name": draw(st.text(max_size=6) | st.just(f"c{i}")),
            "color": list(draw(_colors)),
        }
        for i in range(count)
    ]


# === The original's ini configs ===

VALID_INI = {
    "model": {"model": "'TensorFlowFlexUNet'", "num_classes": "2", "base_filters": "8",
              "num_layers": "3", "image_height": "64", "image_width": "64",
              "image_channels": "3", "loss": "'categorical_crossentropy'",
              "metrics": "['dice_coef_multiclass']", "generator": "True"},
    "train": {"epochs": "2", "batch_size": "2", "images_dir": "'./data/train/images'",
              "learning_rate_reducer": "True", "epoch_change_infer": "False"},
    "mask": {"rgb_map": "{(0, 0, 0): 0, (0, 255, 0): 1}"},
    "tiledinfer": {"overlapping": "32"},
    "augmentor": {"rotation": "True", "angles": "[90, 180]", "hflip": "True"},
}  # fmt: skip
_ini_keys = (
    [(section, key) for section, keys in VALID_INI.items() for key in keys]
    + [("model", k) for k in ("optimizer", "learning_rate", "clipvalue", "dropout_rate")]
    + [
        ("infer", "images_dir"),
        ("mask", "classes"),
        ("mask", "color_map"),
        ("image", "color_order"),
    ]
)


@st.composite
def ini_config_texts(draw) -> str:
    """The original's ini config: the valid one with a few values changed, or garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    sections = {name: dict(values) for name, values in VALID_INI.items()}
    keys = st.sampled_from(_ini_keys) | st.tuples(st.sampled_from([*VALID_INI, "x"]), _names)
    for section, key in draw(st.lists(keys, max_size=4)):
        value = draw(python_literals.map(repr) | st.text(max_size=20))
        sections.setdefault(section, {})[key] = value.replace("\n", " ").replace("\r", " ")
    return "".join(
        f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
        for section, values in sections.items()
    )


# === Palette files ===


@st.composite
def palette_toml_texts(draw) -> tuple[str, str]:
    """(file name, text): a palette file or a dataset's dataset.toml."""
    name = draw(st.sampled_from(["palette.toml", "dataset.toml"]))
    if draw(st.integers(0, 9)) == 0:
        return name, draw(st.text(max_size=200))
    lines = []
    if draw(st.booleans()):
        lines.append(f"{draw(_names)} = {toml_value(draw(toml_values))}")
    for entry in _palette_tables(draw):
        if draw(st.integers(0, 4)) == 0:
            entry[draw(_names)] = draw(toml_values)
        lines.append("[[classes]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    if draw(st.integers(0, 9)) == 0:
        lines.append(f"classes = {toml_value(draw(toml_values))}")
    return name, "\n".join(lines) + "\n"


@st.composite
def palette_ini_texts(draw) -> str:
    """An ini [mask] section with an rgb_map or color_map dict (repeated colors included)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    entries = draw(st.lists(st.tuples(_colors, st.integers(-1, 5)), max_size=5))
    mapping = "{" + ", ".join(f"{color!r}: {cid}" for color, cid in entries) + "}"
    body = draw(st.sampled_from([mapping, mapping, mapping]) | python_literals.map(repr))
    lines = ["[mask]", f"{draw(st.sampled_from(['rgb_map', 'color_map', 'other']))} = {body}"]
    if draw(st.booleans()):
        lines.append(f"classes = {draw(python_literals.map(repr))}")
    return "\n".join(line.replace("\r", " ") for line in lines) + "\n"


# === The readers ===


def _in_file(name: str, text: str, read: Callable[[Path], object]) -> object:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return read(path)


def read_toml_config(text: str) -> object:
    from flexseg.config import load_config

    return _in_file("run.toml", text, load_config)


def read_ini_config(text: str) -> object:
    from flexseg.config import load_config

    return _in_file("train_eval_infer.config", text, load_config)


def read_palette_toml(case: tuple[str, str]) -> object:
    from flexseg.data.palette import Palette

    return _in_file(case[0], case[1], Palette.load)


def read_palette_ini(text: str) -> object:
    from flexseg.data.palette import Palette

    return _in_file("palette.config", text, Palette.from_ini)


# Reader -> (what it reads, its cases, the call).
READERS = {
    "toml_config": ("load_config of a TOML config", toml_config_texts(), read_toml_config),
    "ini_config": ("load_config of the original's ini config", ini_config_texts(), read_ini_config),
    "palette_toml": ("Palette.load of a palette TOML or dataset.toml", palette_toml_texts(),
                     read_palette_toml),
    "palette_ini": ("Palette.from_ini of an rgb_map / color_map", palette_ini_texts(),
                    read_palette_ini),
}  # fmt: skip
