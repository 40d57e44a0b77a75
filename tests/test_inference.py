"""Inference: tiling matches whole-image prediction, outputs at original size, safe folders."""

import keras
import numpy as np
import pytest
from PIL import Image

import flexseg
from flexseg import cli
from flexseg.data import MaskDecoder, Palette
from flexseg.infer import Predictor, blend_window, predict_tiled
from tests.runs import tiny_trained_run


def fully_convolutional_model():
    keras.utils.set_random_seed(0)
    return flexseg.build("flexunet", num_classes=3, input_shape=(None, None, 3), base_filters=4,
                         num_layers=2)  # fmt: skip


def test_tiling_with_overlap_reproduces_the_whole_image_prediction():
    model = fully_convolutional_model()
    image = np.random.default_rng(0).uniform(0, 255, (96, 128, 3)).astype("float32")
    whole = keras.ops.convert_to_numpy(model.predict_on_batch(image[None]))[0]

    def predict(batch):
        return keras.ops.convert_to_numpy(model.predict_on_batch(batch))

    blended = np.abs(predict_tiled(predict, image, tile=64, overlap=32) - whole)
    seams = np.abs(predict_tiled(predict, image, tile=64, overlap=0) - whole)
    # Measured here: mean 0.0009-0.0014 with overlap vs 0.004-0.007 without, on all backends.
    assert blended.mean() < 0.003 and blended.mean() < seams.mean() / 3
    assert blended[8:-8, 8:-8].max() < 0.1
    tiled = predict_tiled(predict, image, tile=64, overlap=32)
    assert (tiled.argmax(-1) == whole.argmax(-1)).mean() > 0.99
    np.testing.assert_allclose(tiled.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "batch_size", "expected"),
    [
        ((100, 100), 8, [(7, 32, 32, 3)] * 4),  # 25 tiles: four calls of 7, 3 fillers
        ((60, 60), 8, [(5, 32, 32, 3)] * 2),  # 9 tiles: two of 5, 1 filler
        ((80, 80), 8, [(8, 32, 32, 3)] * 2),  # 16 tiles: two of 8
        ((32, 100), 8, [(5, 32, 32, 3)]),  # 5 tiles in one call
    ],
)
def test_tiles_go_to_the_model_in_calls_of_one_shape(shape, batch_size, expected):
    """Every call the same size, so a compiled model traces one shape; the filler tiles do
    not count in the blend."""
    shapes = []

    def predict(batch):
        shapes.append(batch.shape)
        return np.repeat(batch[..., :1] / 255.0, 2, axis=-1)

    image = np.random.default_rng(0).uniform(0, 255, (*shape, 3)).astype("float32")
    out = predict_tiled(predict, image, tile=32, overlap=15, batch_size=batch_size)
    assert shapes == expected
    np.testing.assert_allclose(out[..., 0], image[..., 0] / 255.0, rtol=1e-5)


def test_blend_window_is_smooth_and_positive():
    window = blend_window(32, 16)
    assert window.min() > 0 and window[16, 16] == 1.0
    assert np.abs(np.diff(window, axis=0)).max() <= 1 / 8 + 1e-9


def test_predictor_returns_the_original_size():
    fixed = flexseg.build("flexunet_tiny")  # 32x32 inputs
    assert Predictor(fixed)(np.zeros((45, 70, 3), np.float32)).shape == (45, 70, 3)
    free = fully_convolutional_model()  # pads to a multiple of 2, then crops
    assert Predictor(free)(np.zeros((33, 51, 3), np.float32)).shape == (33, 51, 3)
    tiled = Predictor(fixed, tile=32, overlap=8, flip_tta=True)
    assert tiled(np.zeros((80, 50, 3), np.float32)).shape == (80, 50, 3)
    with pytest.raises(flexseg.FlexsegError, match=r"infer\.tile_size = 32"):
        Predictor(fixed, tile=64)


def test_flip_tta_averages_the_prediction_with_its_flipped_predictions():
    model = flexseg.build("flexunet_tiny")  # random weights: not symmetric under flips
    image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)

    def predict(x):
        return keras.ops.convert_to_numpy(model.predict_on_batch(x[None]))[0]

    plain = predict(image)
    mirrored = predict(np.ascontiguousarray(image[:, ::-1]))[:, ::-1]
    upside_down = predict(np.ascontiguousarray(image[::-1]))[::-1]
    averaged = Predictor(model, flip_tta=True)(image)
    assert np.abs(mirrored - plain).max() > 1e-3  # so an average differs from the plain one
    np.testing.assert_allclose(averaged, (plain + mirrored + upside_down) / 3, atol=1e-5)
    assert np.abs(averaged - plain).max() > 1e-4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("infer")
    config, _ = tiny_trained_run(
        folder, seed=4, extra="[infer]\npanel = true\nprobabilities = true\n"
    )
    images = folder / "images" / "nested"
    images.mkdir(parents=True)
    Image.fromarray(np.full((40, 56), 90, np.uint8)).save(images / "big.jpg")
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(folder / "images" / "small.png")
    return config, folder


def test_infer_writes_masks_overlays_panels_and_probabilities(run):
    config, folder = run
    out = folder / "predictions"
    code = cli.main(["infer", str(config), "--input", str(folder / "images"), "--output", str(out)])
    assert code == 0
    decoder = MaskDecoder(Palette.load("mvtec_screw"))
    assert decoder.decode_file(out / "nested" / "big.png").labels.shape == (40, 56)
    assert decoder.decode_file(out / "small.png").labels.shape == (20, 24)
    assert Image.open(out / "overlays" / "nested" / "big.png").size == (56, 40)
    assert Image.open(out / "panels" / "small.png").size == (3 * 24, 20)
    saved = np.load(out / "probabilities" / "nested" / "big.npz")
    assert saved["probabilities"].shape == (40, 56, 6) and saved["classes"][0] == "background"
    np.testing.assert_allclose(saved["probabilities"].astype(np.float32).sum(-1), 1.0, atol=5e-3)


def test_infer_refuses_unsafe_outputs(run, capsys):
    config, folder = run
    inside = folder / "images" / "out"
    assert (
        cli.main(["infer", str(config), "--input", str(folder / "images"), "--output", str(inside)])
        == 2
    )
    assert "may not be inside the input" in capsys.readouterr().err
    taken = folder / "taken"
    taken.mkdir()
    (taken / "old.png").write_bytes(b"x")
    assert (
        cli.main(["infer", str(config), "--input", str(folder / "images"), "--output", str(taken)])
        == 2
    )
    assert "not empty" in capsys.readouterr().err
    empty = folder / "empty_input"
    empty.mkdir()
    assert (
        cli.main(["infer", str(config), "--input", str(empty), "--output", str(folder / "o")]) == 2
    )
    assert "no images" in capsys.readouterr().err
