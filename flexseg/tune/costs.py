"""What a trial's model costs (parameters, multiply-accumulates, inference latency) and the
budgets a search holds them to (`--constraint params<=2e6`, `tune.constraints`).

Example:
    >>> budget = Constraint.parse("params<=2e6")
    >>> budget.measure, budget.limit, budget.violated_by({"params": 3_000_000})
    ('params', 2000000.0, 'params 3,000,000 > 2,000,000 (constraint params<=2e6)')
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from flexseg.errors import FlexsegError

# What a budget can be on; the first two are counted, the last timed (both before training).
MEASURES = ("params", "macs", "latency_ms")
COUNTED = ("params", "macs")


@dataclass(frozen=True)
class Constraint:
    """An upper bound on one measure of a trial's model."""

    measure: str
    limit: float
    text: str

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """`MEASURE<=NUMBER`, with MEASURE one of params, macs, latency_ms."""
        measure, separator, number = str(text).replace(" ", "").partition("<=")
        try:
            limit = float(number)
        except ValueError:
            limit = float("nan")
        if not separator or measure not in MEASURES or not limit > 0:
            raise FlexsegError(
                f"constraint {text!r}: expected MEASURE<=NUMBER with MEASURE one of "
                f"{', '.join(MEASURES)} and a positive number, e.g. params<=2e6 or "
                "latency_ms<=50."
            )
        return cls(measure, limit, str(text))

    def violated_by(self, costs: dict[str, float]) -> str | None:
        """Why `costs` break this budget, or None when they keep it (or do not hold it yet)."""
        value = costs.get(self.measure)
        if value is None or value <= self.limit:
            return None
        shown = f"{value:.2f}" if self.measure == "latency_ms" else f"{value:,.0f}"
        limit = f"{self.limit:g}" if self.measure == "latency_ms" else f"{self.limit:,.0f}"
        return f"{self.measure} {shown} > {limit} (constraint {self.text})"


def model_costs(model) -> dict[str, float]:
    """Parameters and multiply-accumulates per image of a built model."""
    from flexseg.models.catalogue.macs import count_macs

    return {"params": model.count_params(), "macs": count_macs(model).total}


def latency_ms(model, runs: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of `predict_on_batch` on one image, after `warmup` calls."""
    shape = [1 if size is None else size for size in model.input_shape[1:]]
    image = np.random.default_rng(0).uniform(0, 255, size=(1, *shape)).astype("float32")
    for _ in range(warmup):
        model.predict_on_batch(image)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        model.predict_on_batch(image)
        seconds.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(seconds)
