"""FlexUNet in plain PyTorch (`torch.nn`, NCHW), with its training and inference steps.

Example:
    >>> import flexseg, numpy as np, torch
    >>> keras_model = flexseg.build("flexunet_tiny")
    >>> model = TorchFlexUNet(spec_of(keras_model), weights_of(keras_model))
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.reference.spec import FlexUNetSpec, spec_of, weights_of

__all__ = ["TorchFlexUNet", "TorchTrainer", "spec_of", "weights_of"]


def _activation(name: str) -> nn.Module:
    return {
        "relu": nn.ReLU(),
        "elu": nn.ELU(),
        "gelu": nn.GELU(),
        "silu": nn.SiLU(),
        "swish": nn.SiLU(),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
    }[name]


def _conv(weights, kernel, dilation) -> nn.Conv2d:
    kernel_hwio, bias = weights
    _, _, inputs, outputs = kernel_hwio.shape
    conv = nn.Conv2d(inputs, outputs, kernel, padding="same", dilation=dilation)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(kernel_hwio.transpose(3, 2, 0, 1).copy()))
        conv.bias.copy_(torch.from_numpy(bias))
    return conv


def _batch_norm(weights) -> nn.BatchNorm2d:
    gamma, beta, mean, variance = weights
    norm = nn.BatchNorm2d(len(gamma), eps=1e-3, momentum=0.01)  # Keras: epsilon 1e-3, 0.99
    with torch.no_grad():
        for tensor, value in zip(
            (norm.weight, norm.bias, norm.running_mean, norm.running_var),
            (gamma, beta, mean, variance),
            strict=True,
        ):
            tensor.copy_(torch.from_numpy(value))
    return norm


class _Block(nn.Sequential):
    """conv (+BN) -> dropout -> conv (+BN), as FlexUNet's conv_block."""

    def __init__(self, spec: FlexUNetSpec, weights, level: int, prefix: str):
        kernel, dilation = spec.kernel(level), spec.dilation_at(level)
        parts = [_conv(weights[f"{prefix}_conv1"], kernel, dilation), _activation(spec.activation)]
        if spec.normalization:
            parts.append(_batch_norm(weights[f"{prefix}_bn1"]))
        parts.append(nn.Dropout(spec.dropout_rate * level))
        parts += [_conv(weights[f"{prefix}_conv2"], kernel, dilation), _activation(spec.activation)]
        if spec.normalization:
            parts.append(_batch_norm(weights[f"{prefix}_bn2"]))
        super().__init__(*parts)


class TorchFlexUNet(nn.Module):
    """FlexUNet on NCHW tensors; returns logits (softmax is part of the loss)."""

    def __init__(self, spec: FlexUNetSpec, weights: dict[str, list[np.ndarray]]):
        super().__init__()
        self.spec = spec
        levels = range(spec.num_layers)
        self.encoders = nn.ModuleList(_Block(spec, weights, n, f"enc{n}") for n in levels)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in range(spec.num_layers - 2, -1, -1):
            kernel, bias = weights[f"dec{level}_up"]  # Keras: (kh, kw, out, in)
            up = nn.ConvTranspose2d(kernel.shape[3], kernel.shape[2], 2, stride=2)
            with torch.no_grad():
                up.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
                up.bias.copy_(torch.from_numpy(bias))
            self.ups.append(up)
            self.decoders.append(_Block(spec, weights, level, f"dec{level}"))
        kernel, bias = weights["head"]
        self.head = _conv((kernel, bias), 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spec.input_normalize:
            x = x * (1.0 / 255)
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            skips.append(x)
            if level < self.spec.num_layers - 1:
                x = F.max_pool2d(x, 2)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips[:-1]), strict=True):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class TorchTrainer:
    """Adam (Keras's defaults) on pixel-wise cross-entropy; optional autocast and compile."""

    def __init__(self, model, device, precision="float32", compile=False, learning_rate=1e-3):
        self.model = model.to(device)
        self.device = torch.device(device)
        self.dtype = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            precision
        ]
        self.optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, eps=1e-7)
        self.scaler = torch.amp.GradScaler(enabled=precision == "float16")
        self.forward = torch.compile(model) if compile else model

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss = F.cross_entropy(self.forward(images).float(), labels)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach().item()  # waits for the device, as Keras's train_on_batch does

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> np.ndarray:
        self.model.eval()
        with self._autocast():
            probabilities = torch.softmax(self.forward(images).float(), dim=1)
        return probabilities.cpu().numpy()
