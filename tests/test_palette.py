"""Palettes from TOML, dataset presets and the original's ini configs; malformed ones are named."""

import numpy as np
import pytest

from flexseg import FlexsegError
from flexseg.data import Palette, list_palettes

INI = """
[model]
num_classes = 6
[mask]
mask_datatype = "categorized"
;  a comment
{key} = {{(0,0,0):0, (0,255,0):1, (255,0,0):2, (255,255,0):3, (128,128,128):5, (0,255,255):4}}
"""


def test_mvtec_screw_preset_is_the_published_palette():
    palette = Palette.load("mvtec_screw")
    assert palette.names == (
        "background",
        "manipulated_front",
        "scratch_head",
        "scratch_neck",
        "thread_side",
        "thread_top",
    )
    assert palette.colors.tolist() == [
        [0, 0, 0],
        [0, 255, 0],
        [255, 0, 0],
        [0, 0, 255],
        [0, 255, 255],
        [255, 255, 0],
    ]


def test_every_mvtec_category_has_a_palette():
    names = list_palettes()
    assert len([n for n in names if n.startswith("mvtec_")]) == 15
    for name in names:
        palette = Palette.load(name)
        assert palette.names[0] == "background" and palette.color_of("background") == (0, 0, 0)
        assert len({c.color for c in palette.classes}) == palette.num_classes
    assert Palette.load("mvtec_cable").num_classes == 9


@pytest.mark.parametrize("key", ["rgb_map", "color_map"])
def test_original_ini_under_either_key_uses_the_dict_values_as_ids(tmp_path, key):
    path = tmp_path / "train_eval_infer.config"
    path.write_text(INI.format(key=key))
    palette = Palette.load(path)
    assert palette.num_classes == 6
    assert palette.classes[4].color == (0, 255, 255)  # id 4 per its dict value, not its position
    assert palette.classes[5].color == (128, 128, 128)
    assert palette.names[1] == "class_1" and key in palette.source


def test_ini_class_names_when_listed(tmp_path):
    path = tmp_path / "a.config"
    path.write_text("[mask]\nrgb_map = {(0,0,0):0, (9,9,9):1}\nclasses = ['bg', 'spot']\n")
    assert Palette.load(path).names == ("bg", "spot")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[mask]\nrgb_map = {(0,0,0):0}\ncolor_map = {(0,0,0):0}\n", "found both rgb_map and"),
        ("[mask]\nmask_datatype = 'x'\n", "found neither rgb_map nor color_map"),
        ("[model]\nx = 1\n", r"no \[mask\] section"),
        ("[mask]\nrgb_map = __import__('os').system('echo hacked')\n", "not a Python literal"),
        ("[mask]\nrgb_map = {(0,0,0):0, (1,1,1):2}\n", r"without gaps.*missing \[1\]"),
    ],
)
def test_bad_ini_palettes(tmp_path, body, message):
    path = tmp_path / "bad.config"
    path.write_text(body)
    with pytest.raises(FlexsegError, match=message):
        Palette.load(path)


def test_toml_round_trip(tmp_path):
    palette = Palette.load("mvtec_grid")
    path = tmp_path / "grid.toml"
    path.write_text(palette.to_toml())
    assert Palette.load(path) == palette


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (
            [(0, "bg", (0, 0, 0)), (1, "a", (0, 0, 0))],
            r"color \(0, 0, 0\) is given twice \(ids 0 and 1\)",
        ),
        (
            [(0, "bg", (0, 0, 0)), (0, "a", (1, 0, 0))],
            r"class id 0 is given twice \(names 'bg' and 'a'\)",
        ),
        (
            [(0, "bg", (0, 0, 0)), (1, "bg", (1, 0, 0))],
            r"class name 'bg' is given twice \(ids 0 and 1\)",
        ),
        ([(0, "bg", (0, 0, 0)), (2, "a", (1, 0, 0))], r"missing \[1\]"),
        ([(0, "bg", (0, 0, 300))], r"three integers 0\.\.255; got \(0, 0, 300\)"),
        ([(0, "", (0, 0, 0))], "non-empty name"),
        ([], "no classes"),
    ],
)
def test_invalid_palettes(classes, message):
    with pytest.raises(FlexsegError, match=message):
        Palette(classes)


def test_class_count_must_agree():
    palette = Palette.load("mvtec_screw")
    palette.check_num_classes(6)
    with pytest.raises(FlexsegError, match=r"has 6 classes .* num_classes=4"):
        palette.check_num_classes(4)


def test_unknown_sources_are_named(tmp_path):
    with pytest.raises(FlexsegError, match="Did you mean: mvtec_screw"):
        Palette.load("mvtec_scrw")
    with pytest.raises(FlexsegError, match="no such TOML"):
        Palette.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[classes]]\nid = 0\nname = "bg"\ncolour = [0, 0, 0]\n')
    with pytest.raises(FlexsegError, match=r"unknown \['colour'\], missing \['color'\]"):
        Palette.load(bad)
    bad.write_text("clases = 1\n")
    with pytest.raises(FlexsegError, match=r"unknown key 'clases'.*Did you mean: classes"):
        Palette.load(bad)


def test_colors_array_is_read_only_copy():
    palette = Palette.load("mvtec_screw")
    colors = palette.colors
    colors[0] = 7
    assert np.array_equal(palette.colors[0], [0, 0, 0])


def test_a_color_given_twice_in_the_original_ini_is_named(tmp_path):
    path = tmp_path / "train_eval_infer.config"
    path.write_text("[mask]\nrgb_map = {(0,0,0):0, (0,255,0):1, (0,255,0):2}\n")
    with pytest.raises(FlexsegError, match=r"color \(0, 255, 0\) is given twice \(ids 1 and 2\)"):
        Palette.from_ini(path)


def test_a_datasets_own_description_is_a_palette(tmp_path):
    from flexseg.data.synthetic import write_dataset

    root = write_dataset(tmp_path / "screws", size=32, count=3, seed=0).root
    screw = Palette.load("mvtec_screw")
    assert Palette.load(root / "dataset.toml") == screw  # beside its counts, seed, source
    assert Palette.load(root) == screw  # the dataset folder itself
    assert Palette.of_dataset(root) == Palette.of_dataset(root / "train") == screw
    assert Palette.of_dataset(root, "mvtec_bottle").names[1] == "broken_large"
    with pytest.raises(FlexsegError, match=r"no dataset\.toml in the dataset folder.*--palette"):
        Palette.of_dataset(tmp_path)
    with pytest.raises(FlexsegError, match=r"a folder, but it holds no dataset\.toml"):
        Palette.load(tmp_path)
    other = tmp_path / "palette.toml"  # a palette file keeps its strict keys
    other.write_text("count = 3\n" + screw.to_toml())
    with pytest.raises(FlexsegError, match=r"unknown key 'count'"):
        Palette.load(other)


def test_class_names_with_quotes_survive_the_toml_round_trip(tmp_path):
    palette = Palette([(0, "back\\ground", (0, 0, 0)), (1, 'a "crack"', (9, 9, 9))])
    path = tmp_path / "p.toml"
    path.write_text(palette.to_toml())
    assert Palette.load(path) == palette
