"""Argument checks shared by the model builders: each error echoes the value and says how to fix it.

Example:
    >>> positive_int("base_filters", 16, model="flexunet")
    16
    >>> int_pair("base_kernels", 9, model="flexunet")
    (9, 9)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from flexseg.errors import SettingsError
from flexseg.suggest import did_you_mean


def positive_int(name: str, value: Any, *, model: str, minimum: int = 1) -> int:
    """Return `value` if it is an int >= minimum, else raise naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError(
            f"{model}: {name} must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return value


def int_pair(name: str, value: Any, *, model: str, minimum: int = 1) -> tuple[int, int]:
    """Accept an int or a pair of ints (height, width) >= minimum; return the pair."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(pair, Sequence)
        or isinstance(pair, str)
        or len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in pair)
    ):
        raise SettingsError(
            f"{model}: {name} must be an integer or a pair of integers >= {minimum}, "
            f"e.g. ({minimum + 2}, {minimum + 2}). Received: {name}={value!r}"
        )
    return (pair[0], pair[1])


def fraction(name: str, value: Any, *, model: str, upper: float = 1.0) -> float:
    """Return `value` as a float in [0, upper), else raise naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < upper:
        raise SettingsError(
            f"{model}: {name} must be a number in [0, {upper:g}). Received: {name}={value!r}"
        )
    return float(value)


def activation_name(name: str, value: Any, *, model: str) -> str:
    """Return `value` if Keras knows it as an activation function name."""
    known = sorted(
        n
        for n in dir(keras.activations)
        if not n.startswith("_") and n not in {"get", "serialize", "deserialize"}
    )
    if not isinstance(value, str) or value not in known:
        raise SettingsError(
            f"{model}: {name} must be the name of a Keras activation, such as "
            f"relu, gelu, silu, elu, mish or leaky_relu. Received: {name}={value!r}."
            f"{did_you_mean(str(value), known)} "
            f"All names: {', '.join(known)}."
        )
    return value


def data_format(value: Any, *, model: str) -> str:
    """Resolve None to Keras's configured image data format and check the value."""
    resolved = keras.config.image_data_format() if value is None else value
    if resolved not in ("channels_last", "channels_first"):
        raise SettingsError(
            f"{model}: data_format must be 'channels_last', 'channels_first' or None "
            f"(Keras's default). Received: data_format={value!r}"
        )
    return resolved


def image_shape(value: Any, *, model: str, data_format: str) -> tuple[int | None, int | None, int]:
    """Check an input shape of three entries with a known channel count; return it as a tuple."""
    example = "(512, 512, 3)" if data_format == "channels_last" else "(3, 512, 512)"
    channel_index = -1 if data_format == "channels_last" else 0
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 3
        or any(
            v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1)
            for v in value
        )
        or value[channel_index] is None
    ):
        raise SettingsError(
            f"{model}: input_shape must be three positive integers "
            f"({data_format}, e.g. {example}); "
            f"height and width may be None, channels may not. Received: input_shape={value!r}"
        )
    return tuple(value)


def divisible_size(
    height: int | None, width: int | None, multiple: int, *, model: str, reason: str
) -> None:
    """Raise if a known height or width is not a multiple of `multiple`; name the nearest sizes."""
    for axis, size in (("height", height), ("width", width)):
        if size is None or size % multiple == 0:
            continue
        below = (size // multiple) * multiple
        above = below + multiple
        nearest = f"{below} or {above}" if below > 0 else f"{above}"
        raise SettingsError(
            f"{model}: input {axis} must be a multiple of {multiple} ({reason}). "
            f"Received: {axis}={size}. Nearest valid sizes: {nearest}. "
            "Resize or pad the images to such a size, or lower the model's depth."
        )
