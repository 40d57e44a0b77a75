"""Measurements in one process: `python -m benchmarks.worker --tasks JSON --out FILE`.

`benchmarks.backends` starts one worker per backend, implementation and variant, with
KERAS_BACKEND set, so that each peak-memory figure belongs to one measurement alone (the
smoke run puts a backend's tasks in one worker, to start fewer processes). A task
names the model, input size, batch, steps, implementation (`keras`, or `raw` for the
framework's own FlexUNet), whether to compile (jit/XLA) and the precision.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def _timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def summary(times: list[float]) -> dict:
    """Median and spread of step times in milliseconds."""
    ms = sorted(t * 1000 for t in times)
    return {
        "median_ms": statistics.median(ms),
        "min_ms": ms[0],
        "max_ms": ms[-1],
        "p90_ms": ms[min(len(ms) - 1, int(0.9 * len(ms)))],
        "count": len(ms),
    }


def batch(task: dict, num_classes: int):
    rng = np.random.default_rng(0)
    size, count = task["size"], task["batch"]
    images = rng.uniform(0, 255, (count, size, size, 3)).astype("float32")
    labels = rng.integers(0, num_classes, (count, size, size)).astype("int32")
    return images, labels


def device_kind(backend: str) -> str:
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return jax.default_backend().replace("gpu", "cuda")
    import tensorflow as tf

    return "cuda" if tf.config.list_physical_devices("GPU") else "cpu"


def matmul_peak(backend: str, device: str, dtype: str, size: int, repeats: int = 5) -> float:
    """FLOP/s of the framework's fastest square matrix product (2 n^3 per product)."""
    if backend == "torch":
        import torch

        a = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))
        b = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))

        def run():
            (a @ b).sum().item()

    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        precision = jax.lax.Precision.HIGHEST if dtype == "float32" else None
        product = jax.jit(lambda a, b: jnp.sum(jnp.matmul(a, b, precision=precision)))
        key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
        a = jax.random.normal(key_a, (size, size), dtype)
        b = jax.random.normal(key_b, (size, size), dtype)

        def run():
            product(a, b).block_until_ready()

    else:  # TensorFlow has two matrix products: XLA's and its own (oneDNN on the CPU)
        import tensorflow as tf

        a = tf.random.normal((size, size), dtype=dtype)
        b = tf.random.normal((size, size), dtype=dtype)
        products = [
            tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)), jit_compile=jit)
            for jit in (True, False)
        ]
        return max(_flops_per_second(lambda p=p: p(a, b).numpy(), size, repeats) for p in products)

    return _flops_per_second(run, size, repeats)


def _flops_per_second(run, size: int, repeats: int) -> float:
    run()
    run()
    return 2 * size**3 / statistics.median(_timed(run, repeats))


def gpu_peak_bytes(backend: str) -> int | None:
    if backend == "torch":
        import torch

        return torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        return stats.get("peak_bytes_in_use")
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"]


def run_keras(task: dict) -> dict:
    """Keras's training step and prediction, with flexseg's backend speed-ups as `flexseg
    train` applies them (impl "keras-plain": without them); with task["distribution"] =
    "data_parallel", data-parallel over every local device, as `flexseg train` sets it up."""
    import keras

    import flexseg
    from flexseg.models.catalogue.macs import count_macs
    from flexseg.run import distribution, speedups

    if task["precision"] != "float32":
        keras.mixed_precision.set_global_policy(f"mixed_{task['precision']}")
    size = task["size"]
    plan = distribution.start({
        "distribution": task.get("distribution", "none"), "batch_size": task["batch"],
        "devices": None, "coordinator": None, "num_processes": None, "process_id": None,
    })  # fmt: skip
    keras.utils.set_random_seed(0)
    with plan.scope():
        model = plan.prepare(flexseg.build(task["model"], input_shape=(size, size, 3)))
        num_classes = model.output_shape[-1]
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            # One-hot labels, as flexseg's training feeds them (Keras 3.15's sparse
            # cross-entropy fails in the backward pass on torch: "grad_input must be
            # contiguous").
            loss=keras.losses.CategoricalCrossentropy(),
            jit_compile={"auto": "auto", "on": True, "off": False}[task["jit"]],
        )
        model.optimizer.build(model.trainable_variables)
        applied = speedups.speed_up(model) if task.get("impl") != "keras-plain" else []
    images, labels = batch(task, num_classes)
    one_hot = np.eye(num_classes, dtype="float32")[labels]
    if plan.kind == "none":  # (a distribution places numpy batches itself)
        images, one_hot = (keras.ops.convert_to_tensor(a) for a in (images, one_hot))
    try:
        measured = measure(
            task,
            train=lambda: model.train_on_batch(images, one_hot),
            predict=lambda: model.predict_on_batch(images),
            macs=count_macs(model).total,
        )
    finally:
        plan.stop()
    return {**measured, "devices": plan.num_devices, "speedups": applied}


def run_raw(task: dict, backend: str, device: str) -> dict:
    import keras

    import flexseg
    from benchmarks.reference.spec import spec_of, weights_of
    from flexseg.models.catalogue.macs import count_macs

    size = task["size"]
    keras.utils.set_random_seed(0)
    keras_model = flexseg.build(task["model"], input_shape=(size, size, 3))
    spec, weights = spec_of(keras_model), weights_of(keras_model)
    macs = count_macs(keras_model).total
    images, labels = batch(task, spec.num_classes)
    if backend == "torch":
        import torch

        from benchmarks.reference.raw_torch import TorchFlexUNet, TorchTrainer

        trainer = TorchTrainer(
            TorchFlexUNet(spec, weights),
            device,
            precision=task["precision"],
            compile=task["jit"] == "on",
        )
        x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).to(device)
        y = torch.from_numpy(labels.astype("int64")).to(device)
        return measure(
            task,
            train=lambda: trainer.train_step(x, y),
            predict=lambda: trainer.predict(x),
            macs=macs,
        )
    if backend == "jax":
        import jax.numpy as jnp

        from benchmarks.reference.raw_jax import JaxFlexUNet

        if task["jit"] == "off":
            raise ValueError("the raw JAX reference is always jitted; use jit auto or on.")
        model = JaxFlexUNet(spec, weights, precision=task["precision"])
        x, y = jnp.asarray(images), jnp.asarray(labels)
        return measure(
            task, train=lambda: model.train_step(x, y), predict=lambda: model.predict(x), macs=macs
        )
    raise ValueError(f"no raw reference for backend {backend!r}; raw references: jax, torch.")


def measure(task: dict, train, predict, macs: int) -> dict:
    started = time.perf_counter()
    train()
    first_train = time.perf_counter() - started
    for _ in range(task["warmup"]):
        train()
    train_times = _timed(train, task["steps"])
    started = time.perf_counter()
    predict()
    first_predict = time.perf_counter() - started
    predict()
    predict_times = _timed(predict, task["steps"])
    train_stats, predict_stats = summary(train_times), summary(predict_times)
    step_seconds = train_stats["median_ms"] / 1000
    train_flops = 3 * 2 * macs * task["batch"]  # forward, and backward at twice its cost
    return {
        "train": train_stats,
        "compile_s": first_train - step_seconds,
        "predict": predict_stats,
        "predict_compile_s": first_predict - predict_stats["median_ms"] / 1000,
        "predict_ms_per_image": predict_stats["median_ms"] / task["batch"],
        "images_per_second": 1000 * task["batch"] / predict_stats["median_ms"],
        "macs_per_image": macs,
        "train_flop_per_step": train_flops,
        "train_flops_per_second": train_flops / step_seconds,
    }


def run(task: dict, backend: str, device: str) -> dict:
    from flexseg.runtime import speed_up_process

    # flexseg's process settings, for the raw references too: the ratio is Keras's overhead.
    result = {"task": task, "backend": backend, "device": device}
    result["process_settings"] = speed_up_process()
    if task.get("peak"):  # before the model: the model's memory peak dwarfs the matrices'
        size = task.get("peak_size") or (8192 if device == "cuda" else 2048)
        result["matmul_flops_per_second"] = {
            dtype: matmul_peak(backend, device, dtype, size) for dtype in task["peak"]
        }
        if backend == "torch" and device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
    if task["impl"] in ("keras", "keras-plain"):
        result.update(run_keras(task))
    else:
        result.update(run_raw(task, backend, device))
    result["host_peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["gpu_peak_bytes"] = gpu_peak_bytes(backend) if device == "cuda" else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    parser.add_argument("--tasks", required=True, help="a JSON list of measurements")
    parser.add_argument("--out", required=True, type=Path, help="write the results JSON here")
    args = parser.parse_args(argv)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    device = device_kind(backend)
    results = [run(task, backend, device) for task in json.loads(args.tasks)]
    temporary = args.out.with_name(args.out.name + ".tmp")
    temporary.write_text(json.dumps(results, indent=2))
    temporary.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
