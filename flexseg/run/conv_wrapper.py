"""Keras's backend `conv` wrapped once per process: the mechanism the backends' speed-ups
share (`flexseg.run.torch_speedups`, and `flexseg.run.small_map_conv`, which
`flexseg.run.jax_speedups` and `flexseg.run.tensorflow_speedups` install). A subclass writes
`__call__` and hands what it leaves alone to `self.keras_conv`, Keras's own function.

Example:
    >>> import sys, types
    >>> class Doubled(KerasConvWrapper):
    ...     def __call__(self, inputs, kernel):
    ...         return 2 * self.keras_conv(inputs, kernel)
    >>> sys.modules["toy_nn"] = types.SimpleNamespace(conv=lambda inputs, kernel: inputs * kernel)
    >>> Doubled.install("toy_nn"), Doubled.install("toy_nn"), sys.modules["toy_nn"].conv(3, 4)
    (True, True, 24)
    >>> del sys.modules["toy_nn"]
"""

from __future__ import annotations

import importlib

import keras

KERAS_CONV_CHECKED = "3.15."  # the Keras versions whose backend `conv` functions were checked


class KerasConvWrapper:
    """A Keras backend's `conv` with one of flexseg's speed-ups."""

    def __init__(self, keras_conv):
        self.keras_conv = keras_conv

    @classmethod
    def install(cls, backend_nn: str) -> bool:
        """Wrap `conv` of the module named `backend_nn` (e.g. "keras.src.backend.jax.nn") in
        this class, once: idempotent, process-wide. Returns whether it is in place; on Keras
        versions other than those checked nothing is imported or changed."""
        if not keras.__version__.startswith(KERAS_CONV_CHECKED):
            return False
        module = importlib.import_module(backend_nn)
        if not isinstance(module.conv, cls):
            module.conv = cls(module.conv)
        return True
