"""Export: every format predicts what Keras predicts, on every backend; bad input is refused.

Each backend exports FlexUNet (the original's settings at 32x32, trained one step here) to
every format. The zoo models with attention (swin_unet) and a keras.applications backbone
(deeplabv3plus) are exported to every format wherever a different converter runs: all four by
TensorFlow on the tensorflow backend; ONNX (torch's exporter) and OpenVINO on torch. On JAX
every format is exported by TensorFlow from the .keras file, the conversion the tensorflow run
tests; the JAX run checks its own trained FlexUNet through it.
"""

import contextlib
import json
import shutil

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flexseg
from flexseg import cli
from flexseg.errors import FlexsegError
from flexseg.export import export_model, load_exported
from flexseg.export.formats import (
    FORMATS,
    check_modules,
    converter_modules,
    exporting_backend,
    get_format,
)
from flexseg.export.parity import PROBABILITY_TOLERANCE, TIE
from flexseg.export.sidecar import SIDECAR, read_sidecar
from flexseg.outputs import staged_folder

BACKEND = keras.backend.backend()
CLASSES = ["background", "scratch", "dent", "stain", "crack", "hole"]
COLORS = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]]


def skip_unless_installed(fmt: str, batch: int | None = None) -> None:
    """An explicit skip naming the missing package when a format cannot be installed here."""
    spec = get_format(fmt)
    try:
        by = exporting_backend(spec, BACKEND, batch)
        check_modules((*converter_modules(spec, by), spec.runtime), f"{fmt} export")
    except FlexsegError as error:
        pytest.skip(str(error))


def write_run(folder, model, scale="raw", data="", train=""):
    """A run folder: model.keras and a config.toml naming its classes (with `data` and
    `train` lines added to their sections)."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = "".join(
        f'[[data.palette]]\nid = {i}\nname = "{CLASSES[i]}"\ncolor = {COLORS[i]}\n'
        for i in range(model.num_classes)
    )
    (folder / "config.toml").write_text(
        f'[model]\nname = "{model.architecture}"\n[data]\nroot = "."\nscale = "{scale}"\n'
        f"{data}{classes}[train]\n{train}"
    )
    model.save(folder / "model.keras")
    return folder / "model.keras"


def original_flexunet():
    """FlexUNet with the original's MVTec-screw settings (9x9 kernels, raw input, no batch
    norm, dropout) at 32x32 and three levels, trained one step on the current backend."""
    keras.utils.set_random_seed(0)
    model = flexseg.build(
        "flexunet_mvtec_screw", input_shape=(32, 32, 3), base_filters=4, num_layers=3
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    labels = np.eye(6, dtype="float32")[np.random.default_rng(1).integers(0, 6, (4, 32, 32))]
    model.fit(images, labels, epochs=1, batch_size=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def flexunet_run(tmp_path_factory):
    model = original_flexunet()
    return model, write_run(tmp_path_factory.mktemp("flexunet"), model)


@pytest.fixture(scope="module")
def flexunet_export(flexunet_run, tmp_path_factory):
    """The FlexUNet exported to a format, once per format in this module."""
    exports = {}

    def export(fmt):
        if fmt not in exports:
            skip_unless_installed(fmt)
            out = tmp_path_factory.mktemp(f"export_{fmt}") / "out"
            exports[fmt] = export_model(flexunet_run[1], fmt, out)
        return exports[fmt]

    return export


def assert_same_predictions(model, folder, scale="raw"):
    """The exported model against the trained Keras model, on images the export's own
    check did not see: probabilities within 1e-4, labels equal except near-ties."""
    exported = load_exported(folder)
    images = np.random.default_rng(42).uniform(0, 255, (3, *model.input_shape[1:]))
    images = (images / 255.0 if scale == "unit" else images).astype("float32")
    expected = keras.ops.convert_to_numpy(model.predict_on_batch(images))
    outputs = exported.outputs(images)
    if exported.sidecar["output"] == "labels":
        assert outputs.shape == expected.shape[:-1] and outputs.dtype == np.uint8
        top_two = np.sort(expected, axis=-1)[..., -2:]
        decided = top_two[..., 1] - top_two[..., 0] > TIE
        assert (outputs == expected.argmax(-1))[decided].all()
    else:
        assert outputs.shape == expected.shape
        assert np.abs(outputs - expected).max() <= PROBABILITY_TOLERANCE


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_flexunet_exports_to_every_format_and_predicts_what_keras_predicts(
    flexunet_run, flexunet_export, fmt
):
    model = flexunet_run[0]
    result = flexunet_export(fmt)
    assert result.parity["passed"] and result.parity["max_probability_difference"] <= 1e-4
    assert result.exported_by == exporting_backend(get_format(fmt), BACKEND, None)
    assert_same_predictions(model, result.folder)
    sidecar = json.loads((result.folder / SIDECAR).read_text())
    assert sidecar["input_shape"] == [None, 32, 32, 3] and sidecar["scale"] == "raw"
    assert [c["name"] for c in sidecar["classes"]] == CLASSES
    assert sidecar["model"]["base_kernels"] == [9, 9] and sidecar["output"] == "probabilities"
    names = {p.name for p in result.folder.iterdir()}  # OpenVINO adds model.bin
    assert {SIDECAR, FORMATS[fmt].file} <= names and not any(n.startswith(".") for n in names)
    if fmt == "onnx":
        import onnx

        metadata = {p.key: p.value for p in onnx.load(str(result.file)).metadata_props}
        assert json.loads(metadata["flexseg.classes"]) == sidecar["classes"]
        assert json.loads(metadata["flexseg.scale"]) == "raw"


# Both zoo models to every format where the backend's own converters run: on TensorFlow all
# four; on torch, ONNX by torch's exporter and OpenVINO from the torch model (its other formats
# are TensorFlow's conversions of the .keras file, which the tensorflow run tests).
ZOO_MODELS = ("swin_unet_tiny", "deeplabv3plus_tiny")
ZOO_CASES = [
    (preset, fmt)
    for preset in ZOO_MODELS
    for fmt in (["onnx", "openvino"] if BACKEND == "torch" else list(FORMATS))
]
skip_on_jax = pytest.mark.skipif(
    BACKEND == "jax", reason="JAX models are exported by TensorFlow: the tensorflow run tests it"
)


@skip_on_jax
@pytest.mark.parametrize(("preset", "fmt"), ZOO_CASES)
def test_zoo_models_with_attention_and_an_applications_backbone_export(tmp_path, preset, fmt):
    # torch exports ONNX itself with a static batch; the other backends with any batch.
    batch = 1 if BACKEND == "torch" else None
    skip_unless_installed(fmt, batch)
    keras.utils.set_random_seed(0)
    model = flexseg.build(preset)
    checkpoint = write_run(tmp_path / "run", model)
    result = export_model(checkpoint, fmt, tmp_path / "out", batch=batch)
    assert result.parity["passed"]
    assert_same_predictions(model, result.folder)


@skip_on_jax
@pytest.mark.parametrize("correction", [0.0, 0.5])
def test_the_export_divides_by_the_class_weights_as_the_config_says(
    flexunet_run, tmp_path, correction
):
    skip_unless_installed("onnx")
    weights = [1.0, 8.0, 8.0, 8.0, 8.0, 4.0]
    model = flexunet_run[0]
    trained_with = model.with_inference_factors([1 / w for w in weights])  # t = 1 in training
    checkpoint = write_run(
        tmp_path / "run", trained_with, data=f"class_weights = {weights}\n",
        train=f"class_weight_correction = {correction}\n",
    )  # fmt: skip
    export_model(checkpoint, "onnx", tmp_path / "out")
    factors = [w**-correction for w in weights] if correction else None
    expected = model.with_inference_factors(factors)
    assert_same_predictions(expected, tmp_path / "out")
    with pytest.raises(AssertionError):  # the config's correction replaces the checkpoint's
        assert_same_predictions(trained_with, tmp_path / "out")


def test_a_static_batch_with_the_argmax_returns_uint8_labels(flexunet_run, tmp_path):
    skip_unless_installed("onnx", batch=2)
    model, checkpoint = flexunet_run
    result = export_model(checkpoint, "onnx", tmp_path / "out", batch=2, include_argmax=True)
    assert result.exported_by == exporting_backend(get_format("onnx"), BACKEND, 2)
    exported = load_exported(result.folder)
    assert exported.input_shape == (2, 32, 32, 3) and exported.sidecar["output"] == "labels"
    assert_same_predictions(model, result.folder)  # 3 images: two batches, the last padded
    assert exported.predict_on_batch(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 32, 32, 6)


def test_infer_on_the_onnx_export_writes_the_masks_of_the_keras_run(
    flexunet_run, flexunet_export, tmp_path
):
    _, checkpoint = flexunet_run
    run = checkpoint.parent
    exported = flexunet_export("onnx").folder
    images = tmp_path / "images"
    images.mkdir()
    random = np.random.default_rng(3)
    for i, size in enumerate([(32, 32), (40, 56)]):
        pixels = random.integers(0, 256, (*size, 3), dtype=np.uint8)
        keras.utils.save_img(images / f"{i}.png", pixels, scale=False)
    keras_run = [run / "config.toml", "--checkpoint", checkpoint]
    for source, out in [(keras_run, "keras"), ([exported], "onnx")]:
        arguments = [*source, "--input", images, "--output", tmp_path / out]
        assert cli.main(["infer", *map(str, arguments), "--set", "infer.panel=true"]) == 0
    written = sorted(p.relative_to(tmp_path / "keras") for p in (tmp_path / "keras").rglob("*.png"))
    assert len(written) == 6  # masks, overlays and panels of two images
    for relative in written:
        keras_png = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "keras" / relative))
        onnx_png = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "onnx" / relative))
        np.testing.assert_array_equal(keras_png, onnx_png)


# === Bad input: one line, exit status 2, nothing written ===


def run_export(capsys, *arguments):
    code = cli.main(["export", *map(str, arguments)])
    error = capsys.readouterr().err.strip()
    return code, error


def test_bad_input_is_one_line_with_exit_status_2(flexunet_run, tmp_path, capsys):
    _, checkpoint = flexunet_run
    out = tmp_path / "out"
    code, error = run_export(capsys, checkpoint, "--format", "tflite", "--out", out)
    assert code == 2 and "unknown export format 'tflite'. Did you mean: litert?" in error
    code, error = run_export(capsys, checkpoint, "--format", "onnx", "--out", out,
                             "--input-size", 31, 32)  # fmt: skip
    assert code == 2 and "Nearest valid sizes: 28 or 32" in error and len(error.splitlines()) == 1
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    code, error = run_export(capsys, not_a_model, "--config", checkpoint.parent / "config.toml",
                             "--format", "onnx", "--out", out)  # fmt: skip
    assert code == 2 and "not a Keras model file" in error
    plain = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(plain)
    code, error = run_export(capsys, plain, "--config", checkpoint.parent / "config.toml",
                             "--format", "onnx", "--out", out)  # fmt: skip
    assert code == 2 and "not a flexseg model" in error
    code, error = run_export(capsys, tmp_path / "weights.h5", "--format", "onnx", "--out", out)
    assert code == 2 and "not found" in error
    assert not out.exists() and list(tmp_path.glob(".out*")) == []


def test_an_existing_output_is_kept_unless_overwrite(flexunet_run, tmp_path, capsys):
    _, checkpoint = flexunet_run
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier export")
    code, error = run_export(capsys, checkpoint, "--format", "onnx", "--out", out)
    assert code == 2 and "already exists" in error and "--overwrite" in error
    assert (out / "keep.txt").read_text() == "earlier export"


def test_a_missing_converter_names_the_package(flexunet_run, tmp_path, capsys, monkeypatch):
    import importlib.util

    _, checkpoint = flexunet_run
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "openvino" else find_spec(name, *a),
    )
    code, error = run_export(capsys, checkpoint, "--format", "openvino", "--out", tmp_path / "o")
    assert code == 2 and "openvino, which is not installed" in error
    assert "pip install 'flexseg[export]'" in error and not (tmp_path / "o").exists()


def test_a_failed_conversion_leaves_nothing_behind(flexunet_run, tmp_path, monkeypatch):
    from flexseg.export import folder

    def half_written(model, fmt, path, batch, opset):
        path.write_bytes(b"half")
        raise FlexsegError("converter crashed")

    monkeypatch.setattr(folder, "export_file", half_written)
    monkeypatch.setattr(folder, "exporting_backend", lambda *a: BACKEND)
    out = tmp_path / "out"
    with pytest.raises(FlexsegError, match="converter crashed"):
        export_model(flexunet_run[1], "onnx", out)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_parity_check_writes_nothing(flexunet_run, flexunet_export, tmp_path, monkeypatch):
    from flexseg.export import folder

    done = flexunet_export("onnx")  # the conversion itself is not what this test is about

    def converted(*arguments):
        staging = next(tmp_path.glob(".out.partial-*"))
        shutil.copy(done.file, staging / done.file.name)

    real = folder.check_parity

    def against_shifted_weights(reference, staging, sidecar, tolerance):
        bias = reference.weights[-1]  # the class head's: other probabilities than exported
        bias.assign(bias + keras.ops.convert_to_tensor(np.linspace(0, 0.1, bias.shape[0])))
        return real(reference, staging, sidecar, tolerance)

    monkeypatch.setattr(folder, "export_file", converted)
    monkeypatch.setattr(folder, "export_in_subprocess", converted)
    monkeypatch.setattr(folder, "check_parity", against_shifted_weights)
    with pytest.raises(FlexsegError, match="does not predict what Keras predicts"):
        export_model(flexunet_run[1], "onnx", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_the_tolerance_decides_on_probabilities_but_never_on_changed_classes():
    from flexseg.export.parity import compare

    keras_probabilities = np.array([[[[0.6, 0.4], [0.2, 0.8]]]])
    close = keras_probabilities + np.array([3e-4, -3e-4])
    assert not compare(keras_probabilities, close)["passed"]
    assert compare(keras_probabilities, close, tolerance=1e-3)["passed"]
    flipped = np.array([[[1, 1]]])  # a runtime's labels: the first pixel changed class
    assert compare(keras_probabilities, flipped, tolerance=0.5)["label_mismatches"] == 1


def test_overwrite_replaces_an_earlier_export_only_once_the_new_one_is_complete(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_folder(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
        raise RuntimeError("conversion failed")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with staged_folder(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# === model.json, read back by flexseg infer ===

VALID_SIDECAR = {
    "format": "onnx",
    "file": "model.onnx",
    "input_name": "image",
    "input_shape": [None, 32, 32, 3],
    "scale": "raw",
    "output": "probabilities",
    "classes": [{"id": 0, "name": "background", "color": [0, 0, 0]}],
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(sorted(VALID_SIDECAR)), value=JSON_VALUES, drop=st.booleans())
def test_a_damaged_sidecar_loads_or_names_the_problem(tmp_path_factory, key, value, drop):
    path = tmp_path_factory.mktemp("sidecar") / SIDECAR
    data = {k: v for k, v in VALID_SIDECAR.items() if not (drop and k == key)}
    if not drop:
        data[key] = value
    path.write_text(json.dumps(data))
    try:
        read_sidecar(path)
    except FlexsegError as error:
        assert str(path) in str(error) and (key in str(error) or "classes" in str(error))


@settings(max_examples=100, deadline=None)
@given(text=st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_any_file_as_a_sidecar_loads_or_raises_a_flexseg_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("sidecar") / SIDECAR
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(FlexsegError):
        read_sidecar(path)


def test_a_mixed_precision_model_is_exported_in_float32():
    from flexseg.export.convert import deployable_model

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = flexseg.build("flexunet_tiny")
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.layers[1].compute_dtype == "bfloat16"
    rebuilt = deployable_model(model, (64, 64))
    assert {layer.dtype_policy.name for layer in rebuilt.layers} == {"float32"}
    assert rebuilt.input_shape == (None, 64, 64, 3)
    for mine, theirs in zip(rebuilt.weights, model.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine),
                                      keras.ops.convert_to_numpy(theirs))  # fmt: skip


def test_a_file_its_runtime_refuses_is_a_one_line_error(flexunet_run, tmp_path, monkeypatch):
    skip_unless_installed("onnx")
    from flexseg.export import folder

    def unreadable(*arguments):
        staging = next(tmp_path.glob(".out.partial-*"))
        (staging / "model.onnx").write_bytes(b"not an onnx graph")

    monkeypatch.setattr(folder, "export_file", unreadable)
    monkeypatch.setattr(folder, "export_in_subprocess", unreadable)
    monkeypatch.setattr(folder, "write_onnx_metadata", lambda *arguments: None)
    with pytest.raises(FlexsegError, match="does not run in its runtime") as raised:
        export_model(flexunet_run[1], "onnx", tmp_path / "out")
    assert "\n" not in str(raised.value) and list(tmp_path.iterdir()) == []
