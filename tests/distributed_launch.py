"""Run a flexseg command on a CPU split into N virtual devices, for tests of data-parallel
training: `python tests/distributed_launch.py N train CONFIG --set ...`.

JAX splits the host with XLA_FLAGS, TensorFlow with logical devices; both must be set before
the backend starts. With FLEXSEG_TEST_WEIGHTS=PATH.npz, the trained model's weights are also
saved there (every process, the chief's run folder aside), to compare processes.
"""

import os
import sys


def split_the_cpu(count: int, backend: str) -> None:
    if backend == "jax" and count > 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}"
    elif backend == "tensorflow" and count > 1:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )


def save_weights_after_training(path: str) -> None:
    import keras
    import numpy as np

    from flexseg.run.setup import RunSetup

    class SaveWeights(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            np.savez(path, *[keras.ops.convert_to_numpy(w) for w in self.model.weights])

    original = RunSetup.run_callbacks
    RunSetup.run_callbacks = lambda *a, **k: [*original(*a, **k), SaveWeights()]


def main(argv: list[str]) -> int:
    split_the_cpu(int(argv[0]), os.environ.get("KERAS_BACKEND", "tensorflow"))
    if os.environ.get("FLEXSEG_TEST_WEIGHTS"):
        save_weights_after_training(os.environ["FLEXSEG_TEST_WEIGHTS"])
    from flexseg import cli

    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
