"""The optimizer of a run: Adam or AdamW with the config's learning rate, schedule and clipping.

Example:
    >>> from flexseg.config import config_from_dict
    >>> config = config_from_dict({"data": {"root": "d", "palette": "mvtec_screw"}})
    >>> type(make_optimizer(config.train)).__name__
    'Adam'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras


def learning_rate(settings: Mapping[str, Any], steps_per_epoch: int):
    """A float, or a cosine decay to 1% over train.epochs (the config refuses it with
    reduce-on-plateau: flexseg.config.cross_checks)."""
    if settings["lr_schedule"] == "constant":
        return settings["learning_rate"]
    return keras.optimizers.schedules.CosineDecay(
        settings["learning_rate"], decay_steps=settings["epochs"] * steps_per_epoch, alpha=0.01
    )


def make_optimizer(
    settings: Mapping[str, Any], steps_per_epoch: int = 1
) -> keras.optimizers.Optimizer:
    """The optimizer that the [train] settings describe."""
    clipping = {k: settings[k] for k in ("clipvalue", "clipnorm") if settings[k] is not None}
    decay = settings["weight_decay"]
    rate = learning_rate(settings, steps_per_epoch)
    if settings["optimizer"] == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=rate,
            weight_decay=0.004 if decay is None else decay,
            **clipping,
        )
    return keras.optimizers.Adam(learning_rate=rate, **clipping)
