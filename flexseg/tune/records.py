"""One record per trial, kept as flexseg.json in the trial's folder: what it chose, what its
model costs, how it ended (completed or failed, and why) and its score.

Example:
    >>> record = TrialRecord(trial="03", status="failed", reason="params 3,000,000 > 2,000,000",
    ...                      architecture="unet", hyperparameters={"unet/num_layers": 4})
    >>> TrialRecord.from_json(record.to_json()) == record
    True
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATUSES = {"COMPLETED": "completed", "FAILED": "failed", "INVALID": "failed"}


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial: its choices, costs, outcome and score (None unless completed)."""

    FILE = "flexseg.json"

    trial: str
    status: str
    reason: str = ""
    architecture: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # the [model] it was built with
    train: dict[str, Any] = field(default_factory=dict)  # the [train] values it changed
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    seconds: float | None = None
    score: float | None = None
    worker: str = ""  # the KerasTuner tuner id that ran it (several with chief and workers)

    @classmethod
    def of(
        cls, trial, plan, costs: dict[str, float], seconds: float, worker: str = ""
    ) -> TrialRecord:
        """The record of a KerasTuner trial that has just ended."""
        return cls(
            trial=trial.trial_id,
            architecture=plan.architecture if plan else None,
            hyperparameters=dict(trial.hyperparameters.values),
            model=json.loads(json.dumps(plan.model)) if plan else {},  # tuples as lists
            train=dict(plan.train) if plan else {},
            params=costs.get("params"),
            macs=costs.get("macs"),
            latency_ms=costs.get("latency_ms"),
            seconds=seconds,
            worker=worker,
            **_outcome(trial),
        )

    def with_outcome(self, trial) -> TrialRecord:
        """This record with the status, reason and score that the oracle's `trial` holds
        (with chief and workers, only the chief's oracle scores the trials)."""
        return dataclasses.replace(self, **_outcome(trial))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> TrialRecord:
        return cls(**json.loads(text))


def read_records(folder: Path) -> list[TrialRecord]:
    """Every trial record under a search's trials folder, in trial order."""
    paths = sorted(Path(folder).glob(f"trial_*/{TrialRecord.FILE}"))
    return [TrialRecord.from_json(path.read_text()) for path in paths]


def _outcome(trial) -> dict[str, Any]:
    status = STATUSES.get(trial.status, str(trial.status).lower())
    return {
        "status": status,
        "reason": _last_line(trial.message) if status == "failed" else "",
        "score": float(trial.score) if trial.score is not None and status == "completed" else None,
    }


def _last_line(message: str | None) -> str:
    r"""The exception line of a traceback, in one line: a budget or NaN stop's own reason, or
    the exception's class and message.

    Example:
        >>> _last_line("Traceback ...\nkeras_tuner.src.errors.FailedTrialError: params 3 > 2")
        'params 3 > 2'
        >>> _last_line("Traceback ...\nsome.module.ResourceExhaustedError: out of memory")
        'ResourceExhaustedError: out of memory'
    """
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return "failed"
    kind, separator, text = lines[-1].partition(": ")
    if not separator or " " in kind:
        return lines[-1]
    kind = kind.rsplit(".", 1)[-1]
    return text if kind == "FailedTrialError" else f"{kind}: {text}"
