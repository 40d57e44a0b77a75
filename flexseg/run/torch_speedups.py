"""Speed-ups for Keras's torch backend: convolution inputs and kernels handed to PyTorch in
the memory order its convolutions read, and an Adam step that updates in place. The one
module where flexseg reaches into torch tensors and Keras's torch backend.

Keras keeps a `Conv2D` kernel as (height, width, in, out). On torch, Keras 3.15 permutes it
to torch's (out, in, height, width) at every call and copies it into channels-last memory;
the backward pass copies its gradient back. For the original's MVTec-screw FlexUNet (125M
parameters, 256x256, batch 2, the 2-core CPU) the copies, these and the inputs' below, are
42% of a float32 training step on Keras's own path (benchmarks/results/profile_torch_cpu.md).
`channels_last_kernels` stores each kernel, and the optimizer's slots beside it, in the
memory order that Keras's permuted view reads as channels-last: shapes, values, checkpoints
and the model's code stay as they are; the copies go.

`channels_last_inputs` does the same for convolution inputs: Keras copies each
(batch, height, width, channels) input into channels-first memory and then back into
channels-last; the speed-up hands PyTorch the channels-first view of the input's own memory.
Results are equal to float rounding; dropout draws its random masks in memory order, so the
masks (not their statistics) differ from Keras's own path.

Keras's torch Adam makes five temporary tensors per variable per step (`g * g`,
`m * alpha`, `sqrt(v)`, `+ epsilon`, the quotient); `in_place_adam` swaps in the same
update written with torch's in-place multi-tensor ops (one temporary). PyTorch's fused CPU
Adam kernel was tried too and took about twice as long on the 125M-parameter model (a
one-off measurement), so it is not used.

`speed_up(model)` applies them on the torch backend (`flexseg train`, `tune`, `evaluate`,
`infer` and the benchmarks call it); anywhere else it does nothing. Set
`FLEXSEG_TORCH_SPEEDUPS=0` to train with Keras's own code paths.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet_tiny")
    >>> applied = speed_up(model)
    >>> applied == (["channels_last_inputs", "channels_last_kernels"]
    ...             if keras.backend.backend() == "torch" else [])
    True
"""

from __future__ import annotations

import os

import keras

from flexseg.models.parts.base import layers_within
from flexseg.models.parts.layers import PixelConv2DTranspose
from flexseg.run.conv_wrapper import KerasConvWrapper

OPT_OUT = "FLEXSEG_TORCH_SPEEDUPS"


def enabled() -> bool:
    """The torch backend, and the opt-out not set."""
    return keras.backend.backend() == "torch" and os.environ.get(OPT_OUT, "1").strip() != "0"


def speed_up(model: keras.Model) -> list[str]:
    """Apply this module's speed-ups to `model` (and its optimizer, once built); returns the
    names of those applied. Call it again after compiling: it is idempotent."""
    if not enabled():
        return []
    applied = ["channels_last_inputs"] if channels_last_inputs() else []
    optimizer = getattr(model, "optimizer", None)
    built = optimizer is not None and optimizer.built
    if channels_last_kernels(model, optimizer if built else None):
        applied.append("channels_last_kernels")
    if built and in_place_adam(optimizer):
        applied.append("in_place_adam")
    return applied


def channels_last_inputs() -> bool:
    """Keras's torch convolution, for channels-last 4D inputs, without its two copies of the
    input (into channels-first memory, then back into channels-last): the input goes in as
    the channels-first view of its own memory, which is already what PyTorch's channels-last
    convolutions read. Process-wide, idempotent; returns whether it is in place (only for the
    Keras versions it was checked with)."""
    return _ChannelsLastConv.install("keras.src.backend.torch.nn")


class _ChannelsLastConv(KerasConvWrapper):
    """Keras's torch `conv` with channels-last 4D inputs passed as channels-first views."""

    def __call__(self, inputs, kernel, strides=1, padding="valid", data_format=None,
                 dilation_rate=1):  # fmt: skip
        data_format = data_format or keras.config.image_data_format()
        inputs = keras.ops.convert_to_tensor(inputs)
        if data_format != "channels_last" or inputs.ndim != 4:
            return self.keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)
        outputs = self.keras_conv(
            inputs.permute(0, 3, 1, 2), kernel, strides, padding, "channels_first", dilation_rate
        )
        return outputs.permute(0, 2, 3, 1)


def _convolution_kernels(model: keras.Model) -> list[keras.Variable]:
    return [
        layer.kernel
        for layer in layers_within(model)
        if isinstance(layer, keras.layers.Conv2D | PixelConv2DTranspose)
        and len(layer.kernel.shape) == 4
    ]


def channels_last_kernels(model: keras.Model, optimizer=None) -> int:
    """Re-lay every Conv2D kernel of `model` (and the optimizer variables made from it) in
    out-height-width-in memory order; returns how many kernels. Values do not change.

    `PixelConv2DTranspose` kernels, (height, width, out, in), get the same treatment: stored
    in-height-width-out, the matrix its einsum multiplies by is then a view, not a copy."""
    kernels = _convolution_kernels(model)
    prefixes = tuple(f"{kernel.path.replace('/', '_')}_" for kernel in kernels)
    slots = []
    if optimizer is not None:  # named "{path, / as _}_{slot}" by add_variable_from_reference
        slots = [v for v in optimizer.variables if v.name.startswith(prefixes) and v.ndim == 4]
    for variable in [*kernels, *slots]:
        _relayout(variable.value)
    return len(kernels)


def _relayout(tensor) -> None:
    """A 4D tensor's values kept, its memory reordered to (axis 3, 0, 1, 2). For a Conv2D
    kernel (h, w, in, out) the (out, in, h, w) view Keras's torch convolution takes is then
    channels-last contiguous; for a PixelConv2DTranspose kernel (h, w, out, in) its einsum's
    (in, h * w * out) matrix is a view."""
    if tensor.permute(3, 0, 1, 2).is_contiguous():
        return
    tensor.data = tensor.detach().permute(3, 0, 1, 2).contiguous().permute(1, 2, 3, 0)


def in_place_adam(optimizer) -> bool:
    """Give a Keras torch Adam or AdamW (not amsgrad) the in-place update step; returns
    whether it did. The update is Keras's: m, v, then var -= alpha * m / (sqrt(v) + eps)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
    if not isinstance(inner, keras.optimizers.Adam) or inner.amsgrad:
        return False
    if not hasattr(inner, "_parallel_update_step"):  # Keras's torch optimizers have it
        return False
    inner._parallel_update_step = _InPlaceAdamStep(inner)
    return True


class _InPlaceAdamStep:
    """Keras's torch Adam step (keras/src/backend/torch/optimizers/torch_adam.py, 3.15) with
    torch's in-place multi-tensor ops: one temporary per variable instead of five."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def __call__(self, grads, variables, learning_rate):
        import torch

        adam = self.optimizer
        values = [variable.value for variable in variables]
        dtype = values[0].dtype
        step = keras.ops.cast(adam.iterations + 1, dtype)
        beta_1_power = keras.ops.power(keras.ops.cast(adam.beta_1, dtype), step)
        beta_2_power = keras.ops.power(keras.ops.cast(adam.beta_2, dtype), step)
        alpha = keras.ops.cast(learning_rate, dtype) * keras.ops.sqrt(1 - beta_2_power)
        alpha = alpha / (1 - beta_1_power)
        index = adam._get_variable_index
        momentums = [adam._momentums[index(variable)].value for variable in variables]
        velocities = [adam._velocities[index(variable)].value for variable in variables]
        with torch.no_grad():
            torch._foreach_lerp_(momentums, grads, 1 - adam.beta_1)
            torch._foreach_mul_(velocities, adam.beta_2)
            torch._foreach_addcmul_(velocities, grads, grads, value=1 - adam.beta_2)
            denominators = torch._foreach_sqrt(velocities)
            torch._foreach_add_(denominators, adam.epsilon)
            torch._foreach_div_(denominators, alpha)
            torch._foreach_addcdiv_(values, momentums, denominators, value=-1.0)
