"""Model cards: what a model costs and where it comes from, for one input size.

Example:
    >>> import flexseg
    >>> card = flexseg.describe("flexunet_tiny")
    >>> card.architecture, card.input_shape, card.output_shape
    ('flexunet', (32, 32, 3), (32, 32, 3))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras

from flexseg.errors import FlexsegError
from flexseg.models.catalogue import registry
from flexseg.models.catalogue.macs import count_macs


@dataclass(frozen=True)
class ModelCard:
    """Parameters, multiply-accumulates per image, reference and settings of a built model."""

    name: str
    architecture: str
    reference: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    macs_uncounted: tuple[str, ...]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        lines = [
            f"{self.name} ({self.architecture})",
            f"  input {self.input_shape} -> output {self.output_shape}",
            f"  parameters: {self.params:,} ({self.trainable_params:,} trainable)",
            f"  multiply-accumulates per image: {self.macs:,} ({self.macs / 1e9:.2f} GMAC)",
        ]
        if self.macs_uncounted:
            lines.append(f"  MACs not counted for: {', '.join(self.macs_uncounted)}")
        lines.append(f"  reference: {self.reference}")
        lines.append("  settings:")
        lines += [f"    {key} = {value!r}" for key, value in self.settings.items()]
        return "\n".join(lines)


def describe(name: str, *, input_shape: Sequence[int] | None = None, **kwargs: Any) -> ModelCard:
    """Build a model or preset and return its card for one concrete input size.

    Args:
        name: an architecture or preset name, as for `flexseg.build`.
        input_shape: the size to count MACs for; defaults to the preset's.
        **kwargs: settings, as for `flexseg.build`.

    Example:
        >>> import flexseg
        >>> card = flexseg.describe("flexunet", num_classes=2, input_shape=(64, 64, 1),
        ...                         num_layers=2)
        >>> card.params, card.macs
        (25410, 54722560)
    """
    settings = dict(kwargs)
    if input_shape is not None:
        settings["input_shape"] = tuple(input_shape)
    entry, settings = registry.resolve(name, settings)
    resolved = entry.resolve_settings(settings)
    shape = resolved.get("input_shape")
    if shape is None or any(dim is None for dim in shape):
        raise FlexsegError(
            f"describe({name!r}) counts multiply-accumulates for one input size: pass a "
            f"concrete input_shape such as (256, 256, 3). Received: input_shape={shape!r}"
        )
    model = entry.builder(**settings)
    return _card(model, name, entry, _class_settings(model, entry) or resolved)


def model_card(model: keras.Model, name: str | None = None) -> ModelCard:
    """The card of a model already built from a registered model class (nothing is rebuilt).

    Example:
        >>> import flexseg
        >>> model = flexseg.build("flexunet_tiny")
        >>> model_card(model, "flexunet_tiny").params == model.count_params()
        True
    """
    entry = registry.entry_for_class(type(model))
    if entry is None:
        raise FlexsegError(
            f"{type(model).__name__} is not a registered model class; describe models built "
            "by a builder function with flexseg.describe(name, ...)."
        )
    return _card(model, name or model.name, entry, _class_settings(model, entry))


def _card(model, name: str, entry: registry.ModelEntry, settings: dict[str, Any]) -> ModelCard:
    macs = count_macs(model)
    return ModelCard(
        name=name,
        architecture=entry.name,
        reference=entry.reference,
        input_shape=tuple(model.input_shape[1:]),
        output_shape=tuple(model.output_shape[1:]),
        params=model.count_params(),
        trainable_params=sum(math.prod(w.shape) for w in model.trainable_weights),
        macs=macs.total,
        macs_uncounted=tuple(macs.uncounted),
        settings=settings,
    )


def _class_settings(model, entry: registry.ModelEntry) -> dict[str, Any] | None:
    """A flexseg model class's config is exactly its settings; other builders have none."""
    if isinstance(entry.builder, type) and isinstance(model, entry.builder):
        config = model.get_config()
        return {k: v for k, v in config.items() if k not in ("name", "trainable")}
    return None
