"""Multiply-accumulate (MAC) counts of a built functional Keras model, per image.

Convolutions (plain, transposed, depthwise, separable), dense layers and attention
(Keras's MultiHeadAttention) are counted, and any layer that says its own count with a
`macs(input_shape)` method (flexseg's window attention, patch merging and expanding,
position embeddings).
Normalization, pooling, activations and other elementwise layers are not MACs and are
left out; any other layer that holds weights is reported as uncounted.

Example:
    >>> import keras
    >>> inputs = keras.Input((8, 8, 2))
    >>> model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    >>> count_macs(model).total  # 8*8 positions x 3*3*2 inputs x 4 filters
    4608
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
from keras import layers

from flexseg.errors import FlexsegError

_CONVS = (layers.Conv1D, layers.Conv2D, layers.Conv3D)
_TRANSPOSED = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
_DEPTHWISE = (layers.DepthwiseConv1D, layers.DepthwiseConv2D)
_SEPARABLE = (layers.SeparableConv1D, layers.SeparableConv2D)
_NOT_MACS = (
    layers.BatchNormalization,
    layers.LayerNormalization,
    layers.GroupNormalization,
    layers.UnitNormalization,
    layers.Normalization,
)


@dataclass
class MacCount:
    """Total MACs per image, per-layer MACs, and the layers whose MACs are not counted."""

    total: int = 0
    per_layer: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)


def count_macs(model: keras.Model) -> MacCount:
    """Count the MACs of one forward pass of one image through a functional model."""
    count = MacCount()
    _add_model(model, count, prefix="")
    return count


def _add_model(model: keras.Model, count: MacCount, prefix: str) -> None:
    nodes_by_depth = getattr(model, "_nodes_by_depth", None)
    if nodes_by_depth is None:
        raise FlexsegError(
            f"Counting MACs needs a functional model (built from keras.Input); "
            f"{model.name!r} is a {type(model).__name__} without a layer graph."
        )
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            layer = node.operation
            name = prefix + layer.name
            if not isinstance(layer, keras.layers.Layer):
                continue  # a bare keras.ops operation (slicing, casting): no weights, no MACs
            if isinstance(layer, keras.Model):
                _add_model(layer, count, prefix=f"{name}/")
                continue
            macs = _layer_macs(layer, node)
            if macs is None:
                if layer.weights and not isinstance(layer, _NOT_MACS):
                    count.uncounted.append(f"{name} ({type(layer).__name__})")
                continue
            count.per_layer[name] = count.per_layer.get(name, 0) + macs
            count.total += macs


def _layer_macs(layer: keras.layers.Layer, node) -> int | None:
    inputs = node.arguments.keras_tensors
    outputs = node.outputs
    if not inputs or not outputs:
        return None
    if isinstance(layer, _SEPARABLE):
        positions = _positions(outputs[0].shape, layer)
        return positions * (_size(layer.depthwise_kernel) + _size(layer.pointwise_kernel))
    if isinstance(layer, _CONVS + _DEPTHWISE):
        return _positions(outputs[0].shape, layer) * _size(layer.kernel)
    if isinstance(layer, _TRANSPOSED):
        return _positions(inputs[0].shape, layer) * _size(layer.kernel)
    if isinstance(layer, layers.Dense):
        return _known_product(outputs[0].shape[1:-1], layer) * _size(layer.kernel)
    if isinstance(layer, layers.MultiHeadAttention):
        return _attention_macs(layer, inputs)
    if hasattr(layer, "macs"):
        return layer.macs(tuple(inputs[0].shape))
    return None


def _attention_macs(layer: layers.MultiHeadAttention, inputs) -> int:
    """Query/key/value/output projections plus the two attention products."""
    query, value = inputs[0].shape, inputs[1].shape if len(inputs) > 1 else inputs[0].shape
    queries = _known_product(query[1:-1], layer)
    keys = _known_product(value[1:-1], layer)
    heads, key_dim = layer.num_heads, layer.key_dim
    value_dim = layer.value_dim or key_dim
    projections = queries * query[-1] * heads * key_dim
    projections += keys * value[-1] * heads * (key_dim + value_dim)
    projections += queries * heads * value_dim * query[-1]
    return projections + queries * keys * heads * (key_dim + value_dim)


def _positions(shape, layer) -> int:
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    spatial = shape[2:] if channels_first else shape[1:-1]
    return _known_product(spatial, layer)


def _known_product(dims, layer) -> int:
    if any(d is None for d in dims):
        raise FlexsegError(
            f"Cannot count MACs of layer {layer.name!r}: its shape has unknown dimensions "
            f"{tuple(dims)}. Build the model with a concrete input_shape, e.g. (256, 256, 3)."
        )
    return math.prod(dims)


def _size(variable) -> int:
    return math.prod(variable.shape)
