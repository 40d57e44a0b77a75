"""Helpers for the tests of the written-out small-map convolution (flexseg.run.small_map_conv)
and the backends' speed-ups that install it."""

import importlib

import keras

from flexseg.run import small_map_conv


def keras_own_conv():
    """The current backend's `conv` as Keras wrote it, unwrapped from any flexseg speed-up
    installed earlier in the process."""
    conv = importlib.import_module(f"keras.src.backend.{keras.backend.backend()}.nn").conv
    while hasattr(conv, "keras_conv"):
        conv = conv.keras_conv
    return conv


def count_written_out_maps(monkeypatch) -> list[tuple[int, int]]:
    """The (height, width) of every map written out as a matrix product from now on in the
    test (traced once per compiled shape)."""
    routed: list[tuple[int, int]] = []
    windows = small_map_conv.windows_times_kernel

    def counted(inputs, *args):
        routed.append(tuple(inputs.shape[1:3]))
        return windows(inputs, *args)

    monkeypatch.setattr(small_map_conv, "windows_times_kernel", counted)
    return routed
