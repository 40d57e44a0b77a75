"""Training: fit the model of a config into its run folder, resuming an interrupted run
(`python -m flexseg.train CONFIG`, `flexseg train CONFIG`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"train": "flexseg.train.fit"})

if TYPE_CHECKING:
    from flexseg.train.fit import train

__all__ = ["train"]
