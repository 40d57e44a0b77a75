"""Search: KerasTuner varies an architecture's settings and the learning rate, each trial
trained by the same run setup as `flexseg train` (`python -m flexseg.tune CONFIG`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"tune": "flexseg.tune.search"})

if TYPE_CHECKING:
    from flexseg.tune.search import tune

__all__ = ["tune"]
