"""Data-parallel training through the frameworks' own engines: the one place where training
depends on the backend (model, loss and metric code never does).

`train.distribution = "data_parallel"` keeps one copy of the model on every device and splits
each batch of `train.batch_size` images (the global batch) among them:

- JAX: `keras.distribution.DataParallel` over the chosen devices. Several processes (machines)
  join through `keras.distribution.initialize`, from `train.coordinator`, `num_processes` and
  `process_id` or Keras's `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `..._NUM_PROCESSES` and
  `..._PROCESS_ID` environment variables.
- TensorFlow: the model is built and compiled in a `tf.distribute.MirroredStrategy` scope, or,
  when `TF_CONFIG` describes a cluster, a `MultiWorkerMirroredStrategy` one. Batch norm then
  takes its statistics over the global batch, as on JAX and on one device.
- torch: Keras 3.15 ships no distribution for the torch backend; asking for it is an error.

Each process reads its own part of every global batch (`flexseg.data.pipeline.sharding`).
Process 0, the chief, writes the run folder; the others write nothing.

Example (one device: what `train.distribution = "none"` gives):
    >>> plan = start({"distribution": "none", "batch_size": 4})
    >>> plan.is_chief, plan.num_devices, plan.describe()["distribution"]
    (True, 1, 'none')
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from flexseg.config import ConfigError
from flexseg.data.pipeline.sharding import Padding, Shard
from flexseg.errors import FlexsegError
from flexseg.models.parts.base import layers_within

# The first Keras release whose torch backend trains data-parallel (None: no release yet;
# DDP inside fit is on Keras's main branch only, PRs #23052 and #23316).
TORCH_DATA_PARALLEL_SINCE: str | None = None
JAX_PROCESS_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES")


@dataclass
class Distribution:
    """How a run trains: on which devices, in how many processes, which one this is."""

    kind: str = "none"
    backend: str = field(default_factory=keras.backend.backend)
    num_devices: int = 1  # in all processes
    num_processes: int = 1
    process_id: int = 0
    strategy: Any = None  # TensorFlow's tf.distribute strategy

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run folder (process 0)."""
        return self.process_id == 0

    def shard(self, padding: Padding) -> Shard:
        """This process's part of every global batch, padded to divide among the devices."""
        return Shard(self.process_id, self.num_processes, self.num_devices, padding)

    def scope(self) -> contextlib.AbstractContextManager:
        """Where models and optimizers are made (TensorFlow's strategy scope)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def prepare(self, model: keras.Model) -> keras.Model:
        """On TensorFlow, batch norm layers take their statistics over all replicas (the
        global batch), as they do on JAX and on one device."""
        if self.strategy is not None:
            for layer in layers_within(model):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.synchronized = True
        return model

    def fit_arguments(self, training, validation) -> dict[str, Any]:
        """`model.fit`'s data arguments for the two datasets. TensorFlow's several workers get
        distributed datasets of this worker's parts (Keras would split a dataset's batches
        among the workers again), repeated, with the steps of an epoch.

        Keras does not reorder the batches: the datasets shuffle themselves, seeded by their
        epoch, so a resumed training sees the order an uninterrupted one would (Keras's own
        shuffle draws on Python's random state, which starts afresh in a resumed process)."""
        if self.backend != "tensorflow" or self.num_processes == 1:
            return {"x": training, "validation_data": validation, "shuffle": False}
        return {
            "x": _tensorflow_worker_dataset(self.strategy, training),
            "validation_data": _tensorflow_worker_dataset(self.strategy, validation),
            "steps_per_epoch": len(training),
            "validation_steps": len(validation),
            "shuffle": False,
        }

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Around saving or loading a model: with several JAX processes, Keras's global
        distribution is unset meanwhile, so the reference objects Keras makes while saving
        are local to the process and need no other process to take part."""
        if self.backend != "jax" or self.num_processes == 1:
            yield
            return
        current = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            yield
        finally:
            keras.distribution.set_distribution(current)

    def any_process(self, flag: bool) -> bool:
        """Whether `flag` holds in any process (all processes must ask together)."""
        return bool(self._gather(int(flag)).max())

    def same_in_every_process(self, value: int) -> bool:
        """Whether every process passes the same `value` (all processes must ask together)."""
        return len(set(self._gather(value).ravel().tolist())) == 1

    def _gather(self, value: int) -> np.ndarray:
        """`value` of every process (of every replica on TensorFlow)."""
        if self.num_processes == 1:
            return np.array([value])
        if self.backend == "jax":
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(np.array([value])))
        import tensorflow as tf

        per_replica = self.strategy.experimental_distribute_values_from_function(
            lambda _: tf.constant([value])
        )
        return self.strategy.gather(per_replica, axis=0).numpy()

    def describe(self) -> dict[str, Any]:
        """What history.json records of the run's set-up."""
        return {
            "backend": self.backend,
            "distribution": self.kind,
            "devices": self.num_devices,
            "processes": self.num_processes,
        }

    def stop(self) -> None:
        """Unset what `start` set in this process (Keras's global distribution)."""
        if self.backend == "jax" and self.kind != "none":
            keras.distribution.set_distribution(None)


def start(train: Mapping[str, Any]) -> Distribution:
    """The distribution of a config's [train] section, started: call it before anything
    else touches the backend (several JAX processes must join first)."""
    if train["distribution"] == "none":
        return Distribution()
    backend = keras.backend.backend()
    if backend == "torch" and not torch_data_parallel_released(keras.__version__):
        raise FlexsegError(
            f"train.distribution = 'data_parallel' is not available on the torch backend: "
            f"Keras {keras.__version__} ships no distribution support for torch. Train with "
            "KERAS_BACKEND=jax (keras.distribution) or KERAS_BACKEND=tensorflow "
            "(tf.distribute), or set train.distribution = 'none'."
        )
    plan = _start_tensorflow(train) if backend == "tensorflow" else _start_keras(train)
    batch, devices = train["batch_size"], plan.num_devices
    if batch % devices:
        plan.stop()
        raise ConfigError(
            f"train.batch_size={batch} is the global batch and must divide among the "
            f"{devices} devices of data-parallel training; use a multiple of {devices} "
            f"(e.g. {devices * max(1, round(batch / devices))}) or choose fewer devices "
            "with train.devices."
        )
    return plan


def torch_data_parallel_released(version: str, since: str | None = None) -> bool:
    """Whether Keras `version` trains data-parallel on torch through keras.distribution
    (from `since`, by default TORCH_DATA_PARALLEL_SINCE).

    >>> torch_data_parallel_released("3.15.1"), torch_data_parallel_released("3.17.0", "3.16")
    (False, True)
    """
    since = since or TORCH_DATA_PARALLEL_SINCE
    if since is None:
        return False
    return _release(version) >= _release(since)


def _release(version: str) -> tuple[int, ...]:
    """(major, minor, patch) of a version such as "3.16.0rc1" or "3.17.0.dev2026"."""
    match = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    return tuple(int(part) for part in match.groups() if part is not None) if match else ()


def _chosen(devices: list, wanted: int | list[int] | None, where: str) -> list:
    """The local devices `train.devices` names: all, the first N, or those indices."""
    if wanted is None:
        return devices
    indices = list(range(wanted)) if isinstance(wanted, int) else wanted
    if max(indices) >= len(devices):
        raise ConfigError(
            f"train.devices={wanted!r} asks for more than the {len(devices)} local {where} "
            f"device(s) (indices 0-{len(devices) - 1}); choose fewer."
        )
    return [devices[i] for i in indices]


def _start_keras(train: Mapping[str, Any]) -> Distribution:
    """keras.distribution's DataParallel on JAX. A Keras release with torch data parallelism
    would route torch here too (TORCH_DATA_PARALLEL_SINCE); the process and device listing
    below is JAX's and would follow that release's API for torch."""
    import jax

    several = train["coordinator"] is not None or any(map(os.environ.get, JAX_PROCESS_VARIABLES))
    if several and not jax.distributed.is_initialized():
        keras.distribution.initialize(
            train["coordinator"], train["num_processes"], train["process_id"]
        )
    local = sorted(jax.local_devices(), key=lambda d: d.id)
    positions = [local.index(d) for d in _chosen(local, train["devices"], local[0].platform)]
    by_process: dict[int, list] = {}
    for device in sorted(jax.devices(), key=lambda d: d.id):
        by_process.setdefault(device.process_index, []).append(device)
    used = [group[i] for _, group in sorted(by_process.items()) for i in positions]
    names = [f"{d.platform}:{d.id}" for d in used]
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=names, auto_shard_dataset=False)
    )
    return Distribution(
        kind="data_parallel",
        num_devices=len(used),
        num_processes=jax.process_count(),
        process_id=jax.process_index(),
    )


def _start_tensorflow(train: Mapping[str, Any]) -> Distribution:
    import tensorflow as tf

    if train["coordinator"] is not None:
        raise ConfigError(
            "train.coordinator, num_processes and process_id configure JAX processes; on "
            "TensorFlow, several workers are described by the TF_CONFIG environment variable."
        )
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if cluster.get("cluster"):
        if train["devices"] is not None:
            raise ConfigError(
                "train.devices cannot choose devices under TF_CONFIG (several workers): "
                "every worker uses all its devices; hide some with CUDA_VISIBLE_DEVICES."
            )
        strategy = _multi_worker_strategy()
        task = cluster.get("task", {})
        order = [name for name in ("chief", "worker") if name in cluster["cluster"]]
        offsets = {"chief": 0, "worker": len(cluster["cluster"].get("chief", []))}
        workers = sum(len(cluster["cluster"][name]) for name in order)
        return Distribution(
            kind="data_parallel",
            num_devices=strategy.num_replicas_in_sync,
            num_processes=workers,
            process_id=offsets.get(task.get("type"), 0) + int(task.get("index", 0)),
            strategy=strategy,
        )
    local = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    used = _chosen(local, train["devices"], local[0].device_type.lower())
    strategy = tf.distribute.MirroredStrategy([d.name for d in used])
    return Distribution(
        kind="data_parallel",
        num_devices=len(used),
        strategy=strategy,
    )


def _multi_worker_strategy():
    """A MultiWorkerMirroredStrategy that Keras 3.15's TensorFlow trainer can use.

    That trainer reduces a whole (images, labels, weights) batch with one `strategy.reduce`
    call, and reduces scalar logs along axis 0; MultiWorkerMirroredStrategy refuses both
    (keras #20585). This strategy reduces tensor by tensor, and scalars without an axis.
    """
    import tensorflow as tf

    class KerasMultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            def one(tensor):
                rank = self.experimental_local_results(tensor)[0].shape.rank
                return super(KerasMultiWorkerStrategy, self).reduce(
                    reduce_op, tensor, None if rank == 0 else axis
                )

            return tf.nest.map_structure(one, value)

    return KerasMultiWorkerStrategy()


def _tensorflow_worker_dataset(strategy, dataset):
    """This worker's part of every global batch, epoch after epoch, as a distributed dataset
    (each local replica takes its slice of the part)."""
    import tensorflow as tf

    local_replicas = len(strategy.extended.worker_devices)
    first = dataset[0]
    signature = tuple(
        tf.TensorSpec((None, *np.shape(part)[1:]), tf.as_dtype(np.asarray(part).dtype))
        for part in first
    )

    def batches():
        while True:
            for index in range(len(dataset)):
                pieces = [np.array_split(part, local_replicas) for part in dataset[index]]
                yield from zip(*pieces, strict=True)
            dataset.on_epoch_end()

    return strategy.distribute_datasets_from_function(
        lambda _: tf.data.Dataset.from_generator(batches, output_signature=signature)
    )
