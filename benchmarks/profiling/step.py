"""The training step every profile measures: a model compiled as `benchmarks.backends` does,
random data, warmed up."""

from __future__ import annotations

import statistics
import time


def warmed_up_step(model: str, size: int, batch: int, precision: str, speedups: bool):
    """`(train_step, applied speed-ups, median ms of 3 unprofiled steps)`, after 3 warm-up
    steps; `train_step()` runs one more `train_on_batch`."""
    import keras
    import numpy as np

    import flexseg
    from flexseg.run.speedups import speed_up
    from flexseg.runtime import speed_up_process

    speed_up_process()
    if precision != "float32":
        keras.mixed_precision.set_global_policy(f"mixed_{precision}")
    keras.utils.set_random_seed(0)
    built = flexseg.build(model, input_shape=(size, size, 3))
    built.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    built.optimizer.build(built.trainable_variables)
    applied = speed_up(built) if speedups else []
    rng = np.random.default_rng(0)
    images = keras.ops.convert_to_tensor(rng.uniform(0, 255, (batch, size, size, 3)), "float32")
    classes = built.output_shape[-1]
    labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, (batch, size, size))]
    labels = keras.ops.convert_to_tensor(labels)

    def train_step() -> None:
        built.train_on_batch(images, labels)

    for _ in range(3):
        train_step()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        train_step()
        times.append(1000 * (time.perf_counter() - start))
    return train_step, applied, statistics.median(times)


def summary(op_ms: dict[str, float], group_ms: dict[str, float], applied, wall_ms) -> dict:
    """One case's result: op and group times (ms), the ten most expensive ops."""
    top = sorted(op_ms.items(), key=lambda item: -item[1])[:10]
    return {"speedups": applied, "wall_ms": wall_ms, "total_ms": sum(group_ms.values()),
            "groups_ms": group_ms, "top_ops_ms": dict(top)}  # fmt: skip
