"""Speed-ups for Keras's TensorFlow backend: Adam's update as TensorFlow's one fused kernel,
and, on a CPU, convolutions on small maps as one matrix product. The one module where
flexseg reaches into TensorFlow.

Keras 3.15 writes Adam's step on TensorFlow as a dozen element-wise ops per variable (the
gradient's square, two differences, two products, a square root, a sum, a quotient, three
assignments), each reading and writing a whole temporary tensor. For the original's
MVTec-screw FlexUNet (125M parameters, 256x256, batch 2, the 2-core CPU) they take 405 ms
of the executor threads' time in a 791 ms mixed-bfloat16 step; the fused kernel takes 112 ms
and the step 650 ms (benchmarks/results/profile_tensorflow_fused_adam_cpu.md). `fused_adam`
gives the optimizer the same update computed by TensorFlow's `ResourceApplyAdam` kernel,
which reads each variable, its two slots and the gradient once: m += (g - m)(1 - beta_1),
v += (g^2 - v)(1 - beta_2), var -= alpha m / (sqrt(v) + epsilon), with
alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), as Keras computes it.

oneDNN's convolutions, its kernel gradient above all, are slow on the same model's 2x2 to
8x8 maps of up to 2048 channels; `small_map_convolutions` routes those through
`flexseg.run.small_map_conv` (im2col and one matrix product), as on JAX. With both, the
mixed-bfloat16 step takes 416.8 ms against 786.5 on Keras's own code
(benchmarks/results/backends_tensorflow_cpu.md). Both change results by float rounding only
(`tests/test_tensorflow_speedups.py`).

`speed_up(model)` applies them on the TensorFlow backend: the fused step to an Adam or AdamW
(not amsgrad, whose extra slot the kernel does not keep), once the optimizer is built; the
small-map convolutions on a machine without a GPU (they were measured on a CPU only).
Anywhere else it does nothing. Set `FLEXSEG_TENSORFLOW_SPEEDUPS=0` to run Keras's own code.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet_tiny")
    >>> model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    >>> model.optimizer.build(model.trainable_variables)
    >>> applied = speed_up(model)
    >>> applied == (["small_map_convolutions", "fused_adam"] if enabled() else [])
    True
"""

from __future__ import annotations

import os

import keras

from flexseg.run.small_map_conv import SmallMapConv

OPT_OUT = "FLEXSEG_TENSORFLOW_SPEEDUPS"


def enabled() -> bool:
    """The TensorFlow backend, and the opt-out not set."""
    return keras.backend.backend() == "tensorflow" and os.environ.get(OPT_OUT, "1").strip() != "0"


def speed_up(model: keras.Model) -> list[str]:
    """Apply this module's speed-ups: the small-map convolutions (process-wide) and the fused
    Adam step (to `model`'s optimizer, once built); returns the names of those applied.
    Idempotent: call it again after compiling."""
    if not enabled():
        return []
    applied = ["small_map_convolutions"] if small_map_convolutions() else []
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and optimizer.built and fused_adam(optimizer):
        applied.append("fused_adam")
    return applied


def small_map_convolutions() -> bool:
    """Keras's TensorFlow convolution, with small-map 2D convolutions written as one matrix
    product, on a machine without a GPU. Process-wide, idempotent; returns whether it is in
    place (only for the Keras versions it was checked with)."""
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return False
    return SmallMapConv.install("keras.src.backend.tensorflow.nn")


def fused_adam(optimizer) -> bool:
    """Give a Keras TensorFlow Adam or AdamW (not amsgrad) the fused update step; returns
    whether it has it. AdamW's weight decay stays Keras's own, applied before the step."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
    if not isinstance(inner, keras.optimizers.Adam) or inner.amsgrad:
        return False
    if not isinstance(inner.update_step, _FusedAdamStep):
        inner.update_step = _FusedAdamStep(inner)
    return True


class _FusedAdamStep:
    """Keras's `Adam.update_step` (keras/src/optimizers/adam.py, 3.15) as one
    `ResourceApplyAdam` op; a sparse gradient goes to Keras's own step."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.keras_step = optimizer.update_step

    def __call__(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices):
            return self.keras_step(gradient, variable, learning_rate)
        adam = self.optimizer
        dtype = variable.dtype
        step = tf.cast(adam.iterations + 1, dtype)
        index = adam._get_variable_index(variable)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=adam._momentums[index].handle,
            v=adam._velocities[index].handle,
            beta1_power=tf.pow(tf.cast(adam.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(adam.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(adam.beta_1, dtype),
            beta2=tf.cast(adam.beta_2, dtype),
            epsilon=tf.cast(adam.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )
