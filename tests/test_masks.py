"""Mask decoding: exact colors, interpolated blends, off-palette policies, every file kind."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from flexseg import FlexsegError
from flexseg.data import IGNORE_LABEL, MaskDecoder, Palette, colorize, overlay

SCREW = Palette.load("mvtec_screw")


def shapes(size=96):
    labels = np.zeros((size, size), np.uint8)
    labels[10:40, 10:50] = 4  # cyan on black
    labels[50:80, 20:30] = 2  # red
    labels[60:90, 60:90] = 5  # yellow
    labels[65:75, 65:75] = 3  # blue inside yellow
    return labels


def test_colorize_then_decode_is_the_identity():
    labels = shapes()
    decoded = MaskDecoder(SCREW).decode(colorize(labels, SCREW))
    assert np.array_equal(decoded.labels, labels)
    assert decoded.blended_pixels == 0 and decoded.off_palette_pixels == 0


def test_bilinear_rotation_decodes_like_rotating_the_index_mask_except_on_a_thin_border():
    labels = shapes()
    rgb = Image.fromarray(colorize(labels, SCREW)).rotate(17, resample=Image.BILINEAR)
    expected = np.asarray(Image.fromarray(labels).rotate(17, resample=Image.NEAREST))
    decoded = MaskDecoder(SCREW).decode(np.asarray(rgb))
    assert decoded.blended_pixels > 50, "bilinear rotation should create blended edge pixels"
    assert decoded.off_palette_pixels == 0
    edges = np.zeros_like(expected, dtype=bool)
    for axis in (0, 1):
        edges |= np.diff(expected.astype(int), axis=axis, prepend=expected.take([0], axis)) != 0
    border = ndimage.binary_dilation(edges, iterations=2)
    disagree = decoded.labels != expected
    assert not disagree[~border].any()
    assert disagree[border].mean() < 0.2


def test_blend_goes_to_the_closer_class():
    decoder = MaskDecoder(SCREW)
    mask = np.array(
        [[[0, 143, 143], [0, 100, 100], [140, 0, 0], [100, 0, 0], [250, 3, 0]]], np.uint8
    )
    decoded = decoder.decode(mask)
    assert decoded.labels.tolist() == [[4, 0, 2, 0, 2]]
    assert decoded.blended_pixels == 5 and decoded.off_palette_pixels == 0


def test_off_palette_error_names_file_color_count_and_nearest_class(tmp_path):
    mask = colorize(shapes(), SCREW)
    mask[0, :7] = (200, 40, 180)
    path = tmp_path / "017.png"
    Image.fromarray(mask).save(path)
    with pytest.raises(FlexsegError) as error:
        MaskDecoder(SCREW).decode_file(path)
    message = str(error.value)
    assert str(path) in message and "(200, 40, 180)" in message
    assert "7 pixels" in message and "nearest class 'scratch_head'" in message


def test_off_palette_nearest_and_ignore():
    mask = colorize(shapes(), SCREW)
    mask[0, :7] = (200, 40, 180)
    nearest = MaskDecoder(SCREW, off_palette="nearest").decode(mask)
    assert nearest.labels[0, :7].tolist() == [2] * 7
    assert nearest.off_palette_pixels == 7 and nearest.off_palette_by_class == {"scratch_head": 7}
    ignored = MaskDecoder(SCREW, off_palette="ignore").decode(mask)
    assert ignored.labels[0, :7].tolist() == [IGNORE_LABEL] * 7
    assert ignored.off_palette_pixels == 7
    assert np.array_equal(ignored.labels[1:], shapes()[1:])


def test_file_kinds(tmp_path):
    labels = shapes(32)
    colors = colorize(labels, SCREW)
    decoder = MaskDecoder(SCREW)
    Image.fromarray(colors).convert("P", palette=Image.ADAPTIVE, colors=8).save(tmp_path / "p.png")
    rgba = np.concatenate([colors, np.full((32, 32, 1), 90, np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    for name in ("p.png", "rgba.png"):
        assert np.array_equal(decoder.decode_file(tmp_path / name).labels, labels), name

    binary = Palette([(0, "good", (0, 0, 0)), (1, "defect", (255, 255, 255))])
    gray16 = (labels > 0).astype(np.uint16) * 65535
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    assert Image.open(tmp_path / "gray16.png").mode.startswith("I")
    decoded = MaskDecoder(binary).decode_file(tmp_path / "gray16.png")
    assert np.array_equal(decoded.labels, (labels > 0).astype(np.uint8))

    Image.fromarray(labels).save(tmp_path / "index8.png")
    Image.fromarray(labels.astype(np.uint16)).save(tmp_path / "index16.png")
    index = MaskDecoder(SCREW, mask_format="index")
    for name in ("index8.png", "index16.png"):
        assert np.array_equal(index.decode_file(tmp_path / name).labels, labels), name


def test_index_mask_errors(tmp_path):
    index = MaskDecoder(SCREW, mask_format="index")
    with pytest.raises(FlexsegError, match=r"values \[9\] \(1 pixels\) are not class ids 0\.\.5"):
        index.decode(np.array([[0, 9]], np.uint8), source="m.png")
    Image.fromarray(colorize(shapes(8), SCREW)).save(tmp_path / "rgb.png")
    with pytest.raises(FlexsegError, match=r"mode 'RGB'.*mask_format='color'"):
        index.decode_file(tmp_path / "rgb.png")


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(FlexsegError, match=r"broken\.png: cannot read the mask"):
        MaskDecoder(SCREW).decode_file(path)


def test_bad_options_are_named():
    with pytest.raises(FlexsegError, match="off_palette must be"):
        MaskDecoder(SCREW, off_palette="skip")
    with pytest.raises(FlexsegError, match="mask_format must be"):
        MaskDecoder(SCREW, mask_format="rgb")


def test_overlay_paints_only_foreground_and_shows_a_legend():
    image = np.full((64, 64), 100, np.uint8)
    labels = np.zeros((64, 64), np.uint8)
    labels[40:60, 40:60] = 4
    picture = np.asarray(overlay(image, labels, SCREW, alpha=0.5))
    assert picture[50, 50].tolist() == [50, 177, 177]
    assert picture[30, 60].tolist() == [100, 100, 100]
    assert picture[5, 5].tolist() == list(SCREW.color_of("thread_side"))  # legend swatch
    plain = np.asarray(overlay(image, labels, SCREW, legend=False))
    assert plain[5, 5].tolist() == [100, 100, 100]
