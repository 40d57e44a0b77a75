"""Speed-ups for Keras's JAX backend: convolutions on small maps computed as one matrix
product (`flexseg.run.small_map_conv`, which says why). The one module where flexseg reaches
into JAX.

XLA's CPU convolution is pathologically slow on maps smaller than the kernel's reach: 537.92
ms forward for a 3x3 convolution of 2048 channels on a 2x2 map, against 5.27 written out
(benchmarks/results/small_maps_cpu.md). Zero-padding the map first does not help: XLA folds
the padding back into the convolution.

`speed_up(model)` applies it on the JAX backend on a CPU (through `flexseg.run.speedups`,
which `flexseg train`, `tune`, `evaluate`, `infer` and the benchmarks call); anywhere else,
GPUs included (not measured there), it does nothing. Set `FLEXSEG_JAX_SPEEDUPS=0` to run
Keras's own code paths.

Example:
    >>> import flexseg
    >>> applied = speed_up(flexseg.build("flexunet_tiny"))
    >>> applied == (["small_map_convolutions"] if enabled() else [])
    True
"""

from __future__ import annotations

import os

import keras

from flexseg.run.small_map_conv import SmallMapConv

OPT_OUT = "FLEXSEG_JAX_SPEEDUPS"


def enabled() -> bool:
    """The JAX backend on a CPU (the speed-up was measured there only), and the opt-out not
    set."""
    if keras.backend.backend() != "jax" or os.environ.get(OPT_OUT, "1").strip() == "0":
        return False
    import jax

    return jax.default_backend() == "cpu"


def speed_up(model: keras.Model | None = None) -> list[str]:
    """Apply this module's speed-ups (process-wide: `model` is not changed); returns the
    names of those applied. Idempotent."""
    if not enabled():
        return []
    return ["small_map_convolutions"] if small_map_convolutions() else []


def small_map_convolutions() -> bool:
    """Keras's JAX convolution, with small-map 2D convolutions written as one matrix product.
    Process-wide, idempotent; returns whether it is in place (only for the Keras versions it
    was checked with)."""
    return SmallMapConv.install("keras.src.backend.jax.nn")
