"""Speed-ups for Keras's TensorFlow backend: Adam's update as TensorFlow's one fused kernel.
The one module where flexseg reaches into TensorFlow.

Keras 3.15 writes Adam's step on TensorFlow as a dozen element-wise ops per variable (the
gradient's square, two differences, two products, a square root, a sum, a quotient, three
assignments), each reading and writing a whole temporary tensor. For the original's
MVTec-screw FlexUNet (125M parameters, 256x256, batch 2, the 2-core CPU) they take 405 ms
of the executor threads' time in a 791 ms mixed-bfloat16 step; the fused kernel takes 112 ms
and the step 650 ms (benchmarks/results/profile_tensorflow_cpu.md). `fused_adam`
gives the optimizer the same update computed by TensorFlow's `ResourceApplyAdam` kernel,
which reads each variable, its two slots and the gradient once: m += (g - m)(1 - beta_1),
v += (g^2 - v)(1 - beta_2), var -= alpha m / (sqrt(v) + epsilon), with
alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), as Keras computes it. Results are equal to
float rounding (`tests/test_tensorflow_speedups.py`).

`speed_up(model)` applies it on the TensorFlow backend to an Adam or AdamW (not amsgrad,
whose extra slot the kernel does not keep); anywhere else it does nothing. Set
`FLEXSEG_TENSORFLOW_SPEEDUPS=0` to train with Keras's own update.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet_tiny")
    >>> model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    >>> model.optimizer.build(model.trainable_variables)
    >>> speed_up(model) == (["fused_adam"] if keras.backend.backend() == "tensorflow" else [])
    True
"""

from __future__ import annotations

import os

import keras

OPT_OUT = "FLEXSEG_TENSORFLOW_SPEEDUPS"


def enabled() -> bool:
    """The TensorFlow backend, and the opt-out not set."""
    return keras.backend.backend() == "tensorflow" and os.environ.get(OPT_OUT, "1").strip() != "0"


def speed_up(model: keras.Model) -> list[str]:
    """Apply this module's speed-up to `model`'s optimizer, once built; returns the names of
    those applied. Idempotent."""
    optimizer = getattr(model, "optimizer", None)
    if not enabled() or optimizer is None or not optimizer.built:
        return []
    return ["fused_adam"] if fused_adam(optimizer) else []


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
