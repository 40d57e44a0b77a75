"""Per-class inference factors (train.class_weight_correction) on a model's probabilities:
as a layer after the softmax, or folded into the class head's bias, which costs nothing.

softmax(z + log f) is p * f / sum(p * f), so adding log f to the biases of the 1x1
convolution that feeds the softmax gives the layer's probabilities with the graph of the
model without factors. A folded model is for inference only: training it would train the
shifted bias. Heads that do anything between that convolution and the model's output (deep
supervision's averaged heads, classification guidance) keep the layer.

Example:
    >>> import flexseg, numpy as np
    >>> settings = dict(num_classes=2, input_shape=(16, 16, 1), base_filters=4, num_layers=3)
    >>> layered = flexseg.build("unet", inference_class_factors=[1.0, 0.5], **settings)
    >>> folded = layered.with_inference_factors([1.0, 0.5], fold=True)
    >>> "inference_factors" in [layer.name for layer in folded.layers]
    False
    >>> images = np.random.default_rng(0).uniform(0, 1, (1, 16, 16, 1)).astype("float32")
    >>> bool(np.allclose(folded.predict(images, verbose=0), layered.predict(images, verbose=0),
    ...                  atol=1e-6))
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from flexseg.errors import SettingsError

# The name of the 1x1 convolution a folded model's factors live in (see `classifier`).
HEAD = "head"


def checked_factors(factors: Sequence[float], num_classes: int, model: str) -> list[float]:
    """`factors` as floats: one positive, finite number per class of a softmax head."""
    try:
        values = [float(f) for f in factors]
    except (TypeError, ValueError):
        values = []
    if (
        num_classes == 1
        or len(values) != num_classes
        or not all(np.isfinite(f) and f > 0 for f in values)
    ):
        raise SettingsError(
            f"{model}: inference_class_factors needs one positive factor per class of a "
            f"softmax head ({num_classes} classes); got {factors!r}."
        )
    return values


def foldable_head(probabilities) -> keras.layers.Conv2D | None:
    """The convolution whose bias can carry the factors: the one `probabilities` (a model's
    output tensor, under construction) is the softmax of, with nothing between; else None."""
    softmax = probabilities._keras_history.operation
    if not isinstance(softmax, keras.layers.Softmax) or len(softmax._inbound_nodes) != 1:
        return None
    (scores,) = softmax._inbound_nodes[0].input_tensors
    head = scores._keras_history.operation
    if not isinstance(head, keras.layers.Conv2D) or head.name != HEAD or not head.use_bias:
        return None
    return head if len(head._inbound_nodes) == 1 else None


def with_factors(probabilities, factors: list[float], channel_axis: int, fold: bool):
    """`probabilities` with `factors` applied at inference; returns (the output, the name of
    the head whose bias is to carry log(factors), or None when a layer applies them)."""
    head = foldable_head(probabilities) if fold else None
    if head is not None:
        return probabilities, head.name
    from flexseg.models.parts.layers import InferenceClassFactors

    layer = InferenceClassFactors(factors, axis=channel_axis, name="inference_factors")
    return layer(probabilities), None


def shift_head_bias(model: keras.Model, head: str, shift: Sequence[float]) -> None:
    """Add `shift` (per class) to the bias of `model`'s layer `head`."""
    bias = model.get_layer(head).bias
    values = keras.ops.convert_to_numpy(bias.value) + np.asarray(shift, "float64")
    bias.assign(values.astype(bias.dtype))


def log_factors(factors: Sequence[float]) -> np.ndarray:
    """log(factors): what a folded head's bias carries."""
    return np.log(np.asarray(factors, "float64"))
