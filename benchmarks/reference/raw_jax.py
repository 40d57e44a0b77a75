"""FlexUNet in plain JAX (`jax.jit` over `lax` convolutions, NHWC), with Adam written out.

Example:
    >>> import flexseg, numpy as np
    >>> keras_model = flexseg.build("flexunet_tiny")
    >>> model = JaxFlexUNet(spec_of(keras_model), weights_of(keras_model))
    >>> model.predict(np.zeros((1, 32, 32, 3), "float32")).shape
    (1, 32, 32, 3)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from benchmarks.reference.spec import FlexUNetSpec, spec_of, weights_of

__all__ = ["JaxFlexUNet", "spec_of", "weights_of"]

DIMENSIONS = ("NHWC", "HWIO", "NHWC")
ACTIVATIONS = {
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
}


def _split(weights: dict[str, list[np.ndarray]]):
    """Trainable parameters and batch-norm statistics, as two pytrees."""
    params, stats = {}, {}
    for name, arrays in weights.items():
        if "_bn" in name:
            gamma, beta, mean, variance = (jnp.asarray(a) for a in arrays)
            params[name] = {"gamma": gamma, "beta": beta}
            stats[name] = {"mean": mean, "variance": variance}
        else:
            params[name] = {"kernel": jnp.asarray(arrays[0]), "bias": jnp.asarray(arrays[1])}
    return params, stats


def _zeros(tree):
    return jax.tree_util.tree_map(jnp.zeros_like, tree)


def forward(spec: FlexUNetSpec, params, stats, images, key, training: bool, dtype):
    """Logits (float32) and the updated batch-norm statistics."""
    act = ACTIVATIONS[spec.activation]
    params = jax.tree_util.tree_map(lambda p: p.astype(dtype), params)
    x = images.astype(dtype) * (1.0 / 255 if spec.input_normalize else 1.0)
    new_stats = dict(stats)
    keys = iter(jax.random.split(key, 2 * spec.num_layers))

    def conv(x, name, level):
        p = params[name]
        y = lax.conv_general_dilated(
            x,
            p["kernel"],
            window_strides=(1, 1),
            padding="SAME",
            rhs_dilation=spec.dilation_at(level),
            dimension_numbers=DIMENSIONS,
        )
        return act(y + p["bias"])

    def norm(x, name):
        p, s = params[name], stats[name]
        if training:
            mean = jnp.mean(x.astype(jnp.float32), axis=(0, 1, 2))
            variance = jnp.var(x.astype(jnp.float32), axis=(0, 1, 2))
            new_stats[name] = {
                "mean": 0.99 * s["mean"] + 0.01 * mean,
                "variance": 0.99 * s["variance"] + 0.01 * variance,
            }
        else:
            mean, variance = s["mean"], s["variance"]
        scale = (p["gamma"] * lax.rsqrt(variance + 1e-3)).astype(dtype)
        return (x - mean.astype(dtype)) * scale + p["beta"]

    def dropout(x, rate):
        if not training or rate == 0:
            return x
        keep = jax.random.bernoulli(next(keys), 1.0 - rate, x.shape)
        return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)

    def block(x, level, prefix):
        x = conv(x, f"{prefix}_conv1", level)
        if spec.normalization:
            x = norm(x, f"{prefix}_bn1")
        x = dropout(x, spec.dropout_rate * level)
        x = conv(x, f"{prefix}_conv2", level)
        if spec.normalization:
            x = norm(x, f"{prefix}_bn2")
        return x

    skips = []
    for level in range(spec.num_layers):
        x = block(x, level, f"enc{level}")
        skips.append(x)
        if level < spec.num_layers - 1:
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    for level in range(spec.num_layers - 2, -1, -1):
        p = params[f"dec{level}_up"]  # 2x2 stride-2 transposed convolution: no overlaps
        n, h, w, _ = x.shape
        up = jnp.einsum("nhwi,abOi->nhawbO", x, p["kernel"])
        up = up.reshape(n, 2 * h, 2 * w, -1) + p["bias"]
        x = block(jnp.concatenate([up, skips[level]], axis=-1), level, f"dec{level}")
    head = params["head"]
    logits = lax.conv_general_dilated(
        x, head["kernel"], (1, 1), "SAME", dimension_numbers=DIMENSIONS
    )
    return (logits + head["bias"]).astype(jnp.float32), new_stats


class JaxFlexUNet:
    """Parameters, batch-norm statistics and Adam state, with jitted train and predict steps."""

    def __init__(self, spec: FlexUNetSpec, weights, precision="float32", learning_rate=1e-3):
        self.spec = spec
        self.dtype = jnp.dtype(precision)
        self.params, self.stats = _split(weights)
        self.adam = {
            "m": _zeros(self.params),
            "v": _zeros(self.params),
            "step": jnp.zeros((), "int32"),
        }
        self.key = jax.random.PRNGKey(0)
        self.learning_rate = learning_rate
        self._train = jax.jit(self._train_step, donate_argnums=(0, 1, 2))
        self._predict = jax.jit(self._predict_step)

    def _loss(self, params, stats, images, labels, key):
        logits, new_stats = forward(self.spec, params, stats, images, key, True, self.dtype)
        log_p = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(log_p, labels[..., None], axis=-1)
        return -jnp.mean(picked), new_stats

    def _train_step(self, params, stats, adam, images, labels, key):
        (loss, stats), grads = jax.value_and_grad(self._loss, has_aux=True)(
            params, stats, images, labels, key
        )
        step = adam["step"] + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, adam["m"], grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, adam["v"], grads)
        rate = self.learning_rate * jnp.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - rate * m / (jnp.sqrt(v) + 1e-7), params, m, v
        )
        return params, stats, {"m": m, "v": v, "step": step}, loss

    def _predict_step(self, params, stats, images):
        logits, _ = forward(self.spec, params, stats, images, self.key, False, self.dtype)
        return jax.nn.softmax(logits, axis=-1)

    def train_step(self, images, labels) -> float:
        self.key, key = jax.random.split(self.key)
        self.params, self.stats, self.adam, loss = self._train(
            self.params, self.stats, self.adam, images, labels, key
        )
        return float(loss)  # waits for the device, as Keras's train_on_batch does

    def predict(self, images) -> np.ndarray:
        return np.asarray(self._predict(self.params, self.stats, images))
