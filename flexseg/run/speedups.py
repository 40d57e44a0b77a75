"""The backend-specific speed-ups, each in its own module, applied with one call.

`flexseg.run.torch_speedups` (convolution memory layout, Adam in place) acts on the torch
backend, `flexseg.run.jax_speedups` (small-map convolutions as one matrix product) on JAX,
`flexseg.run.tensorflow_speedups` (Adam as one fused kernel) on TensorFlow.

Example:
    >>> import flexseg
    >>> isinstance(speed_up(flexseg.build("flexunet_tiny")), list)
    True
"""

from __future__ import annotations

import keras

from flexseg.run import jax_speedups, tensorflow_speedups, torch_speedups


def speed_up(model: keras.Model) -> list[str]:
    """Apply the current backend's speed-ups to `model` (and its optimizer, once built);
    returns the names of those applied. Idempotent: call it again after compiling."""
    return (
        torch_speedups.speed_up(model)
        + jax_speedups.speed_up(model)
        + tensorflow_speedups.speed_up(model)
    )
