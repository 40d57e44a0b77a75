"""Run a flexseg command on a CPU split into N virtual devices, for tests of data-parallel
training: `python tests/distributed_launch.py N train CONFIG --set ...`.

JAX splits the host with XLA_FLAGS, TensorFlow with logical devices; both must be set before
the backend starts. With FLEXSEG_TEST_WEIGHTS=PATH.npz, the trained model's weights are also
saved there (every process, the chief's run folder aside), to compare processes.
"""

import os
import sys

count = int(sys.argv[1])
backend = os.environ.get("KERAS_BACKEND", "tensorflow")
if backend == "jax" and count > 1:
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}"
elif backend == "tensorflow" and count > 1:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count
    )

if os.environ.get("FLEXSEG_TEST_WEIGHTS"):
    import keras
    import numpy as np

    from flexseg.run.setup import RunSetup

    class SaveWeights(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            weights = [keras.ops.convert_to_numpy(w) for w in self.model.weights]
            np.savez(os.environ["FLEXSEG_TEST_WEIGHTS"], *weights)

    original = RunSetup.run_callbacks
    RunSetup.run_callbacks = lambda *a, **k: [*original(*a, **k), SaveWeights()]

from flexseg import cli  # noqa: E402

sys.exit(cli.main(sys.argv[2:]))
