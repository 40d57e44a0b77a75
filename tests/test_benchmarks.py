"""The benchmark scripts' logic: raw references match flexseg's FlexUNet, variants, ratios."""

import keras
import numpy as np
import pytest

import flexseg
from benchmarks import backends
from benchmarks.markdown import backends_table
from benchmarks.reference.spec import spec_of, weights_of

# The only check that the raw references match flexseg: a missing torch is a skip with its
# reason in the summary (pyproject: addopts = "-ra"), not a silent pass.
torch = pytest.importorskip("torch", reason="the raw PyTorch reference needs torch (make install)")
from benchmarks.reference.raw_jax import JaxFlexUNet  # noqa: E402
from benchmarks.reference.raw_torch import TorchFlexUNet, TorchTrainer  # noqa: E402

CONFIGS = {
    "batch norm, dilation 2": {"name": "flexunet_tiny"},
    "raw pixels, elu, 4 levels": {
        "name": "flexunet",
        "num_classes": 4,
        "input_shape": (32, 32, 3),
        "base_filters": 3,
        "base_kernels": (7, 7),
        "num_layers": 4,
        "activation": "elu",
        "input_normalize": False,
    },
}


def built(settings, seed=0):
    settings = dict(settings)
    model = flexseg.build(settings.pop("name"), **settings)
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # statistics far from the initial ones, so they matter
        if "_bn" in layer.name:
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    gamma + rng.normal(0, 0.3, gamma.shape),
                    beta + rng.normal(0, 0.3, beta.shape),
                    rng.normal(0, 0.3, mean.shape),
                    0.5 + rng.random(variance.shape),
                ]
            )
    return model


def images(model, seed=1):
    shape = (2, *model.input_shape[1:])
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


@pytest.mark.parametrize("case", CONFIGS)
def test_raw_references_predict_what_flexseg_predicts(case):
    model = built(CONFIGS[case])
    x = images(model)
    expected = np.asarray(model.predict_on_batch(x))
    assert expected.std() > 0.01, "a near-uniform output would not test the weight mapping"
    trainer = TorchTrainer(TorchFlexUNet(spec_of(model), weights_of(model)), "cpu")
    from_torch = trainer.predict(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    from_jax = JaxFlexUNet(spec_of(model), weights_of(model)).predict(x)
    np.testing.assert_allclose(from_torch.transpose(0, 2, 3, 1), expected, atol=1e-4)
    np.testing.assert_allclose(from_jax, expected, atol=1e-4)


def test_a_changed_weight_changes_the_raw_predictions():
    model = built(CONFIGS["raw pixels, elu, 4 levels"])
    weights = weights_of(model)
    weights["dec0_up"][0] = weights["dec0_up"][0][::-1, ::-1].copy()  # a flipped up-sampling
    x = images(model)
    changed = JaxFlexUNet(spec_of(model), weights).predict(x)
    assert np.abs(changed - np.asarray(model.predict_on_batch(x))).max() > 1e-3


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_raw_training_steps_lower_the_loss(precision):
    model = built(CONFIGS["batch norm, dilation 2"])
    x = images(model)
    labels = (x[..., 0] > 128).astype("int64")  # a learnable target
    trainer = TorchTrainer(
        TorchFlexUNet(spec_of(model), weights_of(model)), "cpu", precision=precision
    )
    jax_model = JaxFlexUNet(spec_of(model), weights_of(model), precision=precision)
    nchw = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    torch_losses = [trainer.train_step(nchw, torch.from_numpy(labels)) for _ in range(8)]
    jax_losses = [jax_model.train_step(x, labels.astype("int32")) for _ in range(8)]
    assert torch_losses[-1] < torch_losses[0]
    assert jax_losses[-1] < jax_losses[0]


def test_raw_references_refuse_other_architectures():
    model = flexseg.build(
        "flexunet", num_classes=3, input_shape=(3, 32, 32), num_layers=2,
        data_format="channels_first",
    )  # fmt: skip
    with pytest.raises(ValueError, match="channels_last FlexUNet only"):
        spec_of(model)


def test_variants_parse_and_bad_ones_name_the_fix():
    assert backends.parse_variants("auto:float32, torch/on:bfloat16") == [
        (None, "auto", "float32"),
        ("torch", "on", "bfloat16"),
    ]
    for bad in ("fast:float32", "on:float64", "mxnet/on:float32", " , "):
        with pytest.raises(ValueError, match="auto:float32"):
            backends.parse_variants(bad)


def arguments(**changes):
    defaults = dict(
        backends=["tensorflow", "jax", "torch"], models=["m"], size=32, batch=1, steps=1,
        warmup=0, variants=backends.parse_variants("auto:float32,off:float32"), raw=True,
        peak_size=None, data_parallel=False,
    )  # fmt: skip
    return type("Args", (), {**defaults, **changes})()


def test_plan_pairs_each_keras_run_with_its_raw_reference():
    tasks = backends.plan(arguments())
    summary = [(t["backend"], t["impl"], t["jit"]) for t in tasks]
    assert summary == [
        ("tensorflow", "keras", "auto"),
        ("tensorflow", "keras-plain", "auto"),  # without flexseg.run.tensorflow_speedups
        ("tensorflow", "keras", "off"),
        ("tensorflow", "keras-plain", "off"),  # no raw TensorFlow reference
        ("jax", "keras", "auto"),
        ("jax", "keras-plain", "auto"),  # without flexseg.run.jax_speedups
        ("jax", "raw", "auto"),
        ("jax", "keras", "off"),
        ("jax", "keras-plain", "off"),  # raw JAX is always jitted: no eager reference
        ("torch", "keras", "auto"),
        ("torch", "keras-plain", "auto"),  # without flexseg.run.torch_speedups
        ("torch", "raw", "off"),  # Keras's auto is eager on torch
        ("torch", "keras", "off"),
        ("torch", "keras-plain", "off"),  # its eager reference is already planned
    ]
    assert [t["backend"] for t in tasks if "peak" in t] == ["tensorflow", "jax", "torch"]
    only_torch = backends.plan(arguments(variants=backends.parse_variants("torch/on:float32")))
    assert {t["backend"] for t in only_torch} == {"torch"}


def result(backend, impl, train_ms, predict_ms, flops, peak=None):
    task = {"backend": backend, "impl": impl, "model": "m", "jit": "on", "precision": "float32"}
    row = {
        "task": task, "backend": backend, "train": {"median_ms": train_ms, "min_ms": train_ms,
        "max_ms": train_ms}, "predict": {"median_ms": predict_ms}, "compile_s": 1.0,
        "predict_ms_per_image": predict_ms, "images_per_second": 1000 / predict_ms,
        "host_peak_bytes": 2**30, "gpu_peak_bytes": None, "train_flops_per_second": flops,
    }  # fmt: skip
    if peak:
        row["matmul_flops_per_second"] = {"float32": peak, "bfloat16": 2 * peak}
    return row


def test_ratios_use_the_best_fp32_peak_and_the_same_backends_raw_run():
    rows = [
        result("jax", "keras", 120.0, 10.0, 50e9, peak=100e9),
        result("jax", "raw", 100.0, 8.0, 60e9),
        result("torch", "keras", 90.0, 9.0, 40e9, peak=80e9),
        {"task": {**result("tensorflow", "keras", 1, 1, 1)["task"]}, "backend": "tensorflow",
         "error": "timed out after 5 s"},
    ]  # fmt: skip
    backends.add_ratios(rows)
    assert rows[0]["fp32_peak_fraction"] == pytest.approx(0.5)
    assert rows[0]["vs_raw_train"] == pytest.approx(1.2)
    assert rows[0]["vs_raw_predict"] == pytest.approx(1.25)
    assert "vs_raw_train" not in rows[2]  # no torch reference in this report
    report = {
        "machine": {"cpu": "cpu", "cores": 2, "gpus": []},
        "settings": {"size": 32, "batch": 1, "steps": 1, "warmup": 0},
        "results": rows,
    }
    table = backends_table(report)
    assert "| m | jax | keras | on | float32 | 120.0 (120.0-120.0) |" in table
    assert "| 50% | 1.20x | 1.25x |" in table
    assert "failed: timed out after 5 s" in table
    assert "jax float32 0.10, bfloat16 0.20" in table


def test_rounds_take_each_ratio_within_its_own_round_and_report_the_spread():
    tasks = backends.plan(arguments(backends=["torch"]))
    first, second, third = backends.rounds_of([[t] for t in tasks], 3)
    assert [g[0] for g in first] == tasks  # the peak is measured in the first round only
    assert second == third and not any("peak" in g[0] for g in second)
    assert [g[0]["impl"] for g in second] == [t["impl"] for t in tasks]
    rows = []
    for round_, (keras_ms, raw_ms) in enumerate([(120, 100), (90, 75), (110, 100)], start=1):
        keras_row = result("torch", "keras", keras_ms, keras_ms / 10, 50e9, peak=100e9)
        raw_row = result("torch", "raw", raw_ms, 8.0, 60e9)
        keras_row["round"] = raw_row["round"] = round_
        rows += [keras_row, raw_row]
    backends.add_ratios(rows)
    assert [r["vs_raw_train"] for r in rows[::2]] == pytest.approx([1.2, 1.2, 1.1])
    settings = {"size": 32, "batch": 1, "steps": 1, "warmup": 0, "rounds": 3}
    machine = {"cpu": "c", "cores": 2, "gpus": []}
    table = backends_table({"machine": machine, "results": rows, "settings": settings})
    assert "3 rounds" in table and "| m | torch | keras | on | float32 | 2 | 90.0" in table
    assert "| 1.20x, 1.20x, 1.10x | 1.20x (1.10x-1.20x) |" in table
    assert "| 1.50x, 1.12x, 1.38x | 1.38x (1.12x-1.50x) |" in table


def test_rounds_below_one_are_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_:
        backends.main(["--rounds=0", "--backends=torch"])
    assert exit_.value.code == 2
    assert "--rounds must be 1 or more; got 0." in capsys.readouterr().err


def test_data_parallel_rows_run_beside_one_device_and_count_every_devices_peak():
    tasks = backends.plan(arguments(data_parallel=True, raw=False))
    spread = [(t["backend"], t["jit"]) for t in tasks if t.get("distribution") == "data_parallel"]
    assert spread == [("tensorflow", "auto"), ("tensorflow", "off"), ("jax", "auto"),
                      ("jax", "off")]  # fmt: skip
    one, two = (
        result("jax", "keras", 100.0, 10.0, 50e9, peak=100e9),
        result("jax", "keras", 60.0, 6.0, 80e9),
    )
    two["task"] = {**two["task"], "distribution": "data_parallel"}
    two["devices"] = 2
    rows = [one, result("jax", "raw", 100.0, 8.0, 50e9), two]
    backends.add_ratios(rows)
    assert two["fp32_peak_fraction"] == pytest.approx(0.4)  # 80 of 2 x 100 GFLOP/s
    assert "vs_raw_train" not in two and one["vs_raw_train"] == pytest.approx(1.0)
    settings = {"size": 32, "batch": 1, "steps": 1, "warmup": 0}
    machine = {"cpu": "c", "cores": 2, "gpus": []}
    table = backends_table({"machine": machine, "results": rows, "settings": settings})
    assert "| m | jax | keras, data-parallel x2 | on | float32 | 60.0" in table


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="no distribution on torch")
def test_the_worker_trains_data_parallel_as_flexseg_train_sets_it_up():
    from benchmarks import worker

    task = {"model": "flexunet_tiny", "size": 32, "batch": 2, "steps": 1, "warmup": 0,
            "jit": "auto", "precision": "float32", "distribution": "data_parallel"}  # fmt: skip
    measured = worker.run_keras(task)
    assert measured["devices"] == 1  # this process sees one CPU device
    assert measured["train"]["count"] == 1 and measured["train_flops_per_second"] > 0
    assert keras.distribution.distribution() is None  # stopped: the process is as before
