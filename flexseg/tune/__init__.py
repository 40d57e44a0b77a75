"""Search: KerasTuner over architectures, their settings, learning rate, loss and batch size,
every trial trained by the same run setup as `flexseg train` and held to its cost budgets;
the Pareto front of accuracy against cost, and a best.toml that trains
(`python -m flexseg.tune CONFIG`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"tune": "flexseg.tune.search"})

if TYPE_CHECKING:
    from flexseg.tune.search import tune

__all__ = ["tune"]
