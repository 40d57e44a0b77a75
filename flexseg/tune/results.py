"""What a search leaves in its folder: trials.csv, trials.png, pareto.csv, pareto.png,
best.toml (the best trial's complete config, with absolute paths, ready for `flexseg train`
from any folder), best.json, best.keras and report.md."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from flexseg.config import Config
from flexseg.config.schema import OBJECTIVES
from flexseg.config.toml_writer import dumps
from flexseg.outputs import save_figure, write_text_atomically
from flexseg.tune.records import TrialRecord
from flexseg.tune.space import ARCHITECTURE

COSTS = ("params", "macs", "latency_ms", "seconds")


def pareto_front(records: list[TrialRecord], maximize: bool = True) -> list[TrialRecord]:
    """The completed trials that no other completed trial beats on the score, the latency
    and the parameters at once (equal or better on all three, better on one).

    Example:
        >>> a = TrialRecord("1", "completed", score=0.6, latency_ms=10.0, params=100)
        >>> b = TrialRecord("2", "completed", score=0.5, latency_ms=20.0, params=100)
        >>> c = TrialRecord("3", "completed", score=0.4, latency_ms=5.0, params=100)
        >>> [r.trial for r in pareto_front([a, b, c])]
        ['1', '3']
    """
    done = [r for r in records if r.status == "completed" and r.score is not None]

    def values(r: TrialRecord) -> tuple[float, float, float]:
        score = r.score if maximize else -r.score
        latency = math.inf if r.latency_ms is None else r.latency_ms
        params = math.inf if r.params is None else r.params
        return (score, -latency, -params)  # larger is better in each

    def beats(a, b) -> bool:
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    return [r for r in done if not any(beats(values(o), values(r)) for o in done if o is not r)]


def best_config(config: Config, best: TrialRecord, out: Path) -> dict:
    """The config the best trial trained with, its paths absolute: it trains from anywhere."""
    winner = config.with_model(best.model).replaced(train=best.train)
    sections = winner.to_dict()
    data, infer = sections["data"], sections["infer"]
    data["root"] = str(config.data_root)
    if isinstance(data["palette"], str) and Path(data["palette"]).suffix:  # a palette file
        data["palette"] = str(config.path(data["palette"]).resolve())
    for key in ("input", "output"):
        if infer[key]:
            infer[key] = str(config.path(infer[key]).resolve())
    sections["train"]["run_dir"] = str((out / "best_run").resolve())
    return sections


def write_results(
    config: Config,
    out: Path,
    records: list[TrialRecord],
    best: TrialRecord,
    best_model,
    stopped: bool = False,
    baseline: TrialRecord | None = None,
) -> None:
    """Every output of a finished search (see the module docstring); `baseline`: the trial
    of the config's own model and training, where the search started from it."""
    objective = config.tune["objective"]
    maximize = OBJECTIVES[objective] == "max"
    front = pareto_front(records, maximize)
    write_text_atomically(out / "trials.csv", trials_table(records, objective))
    write_text_atomically(out / "pareto.csv", trials_table(front, objective))
    plot_trials(records, objective, out / "trials.png")
    plot_front(records, front, best, objective, out / "pareto.png")
    header = (
        f"# The best of {len(records)} trials of flexseg tune: {objective} {best.score:.4f} "
        f"(trial {best.trial}, {best.architecture}).\n"
        f"# Train it: python -m flexseg.train {(out / 'best.toml').resolve()}\n"
    )
    write_text_atomically(out / "best.toml", header + dumps(best_config(config, best, out)))
    write_text_atomically(out / "best.json", best.to_json())
    saving = out / "best.incomplete.keras"
    best_model.save(saving)
    saving.replace(out / "best.keras")
    from flexseg.tune.report import write_report

    write_report(config, out, records, front, best, best_model, stopped, baseline)


def trials_table(records: list[TrialRecord], objective: str) -> str:
    """CSV: trial, status, reason, architecture, every hyperparameter, objective, costs."""
    names = sorted(
        {
            name
            for r in records
            for name in r.hyperparameters
            if name != ARCHITECTURE and not name.startswith("tuner/")  # Hyperband's own
        }
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", "status", "reason", "architecture", *names, objective, *COSTS])
    for r in records:
        score = "" if r.score is None else f"{r.score:.6f}"
        costs = ["" if getattr(r, key) is None else _number(getattr(r, key)) for key in COSTS]
        row = [r.trial, r.status, r.reason, r.architecture or ""]
        writer.writerow([*row, *(_cell(r.hyperparameters.get(n, "")) for n in names), score,
                         *costs])  # fmt: skip
    return buffer.getvalue()


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _number(value: float) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_trials(records: list[TrialRecord], objective: str, path: Path) -> None:
    """Score per completed trial and the best so far."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.5))
    done = [r for r in records if r.score is not None]
    scores = [r.score for r in done]
    best = max if OBJECTIVES[objective] == "max" else min
    running = [best(scores[: i + 1]) for i in range(len(scores))]
    axis.plot(range(1, len(scores) + 1), scores, "o", label="trial")
    axis.plot(range(1, len(scores) + 1), running, "-", label="best so far")
    axis.set_xlabel("completed trial")
    axis.set_ylabel(objective)
    axis.legend()
    save_figure(figure, path)


def plot_front(records, front, best: TrialRecord, objective: str, path: Path) -> None:
    """Objective against latency for every completed trial (marker area: parameters), the
    Pareto front's trials ringed, the best score reached at each latency as a step line,
    the best trial starred."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    done = [r for r in records if r.score is not None and r.latency_ms is not None]
    largest = max((r.params or 1 for r in done), default=1)
    area = {r.trial: 20 + 200 * (r.params or 0) / largest for r in done}
    for architecture in sorted({r.architecture for r in done}):
        mine = [r for r in done if r.architecture == architecture]
        axis.scatter([r.latency_ms for r in mine], [r.score for r in mine],
                     s=[area[r.trial] for r in mine], alpha=0.6, label=architecture)  # fmt: skip
    ringed = [r for r in front if r.trial in area]
    axis.scatter([r.latency_ms for r in ringed], [r.score for r in ringed],
                 s=[area[r.trial] * 2.5 for r in ringed], facecolors="none", edgecolors="k",
                 label="Pareto front (score, latency, parameters)")  # fmt: skip
    sign = 1 if OBJECTIVES[objective] == "max" else -1
    reached = []  # the best score at this latency or less: the front in these two axes
    for r in sorted(done, key=lambda r: r.latency_ms):
        if not reached or sign * r.score > sign * reached[-1][1]:
            reached.append((r.latency_ms, r.score))
    if reached:
        axis.step(*zip(*reached, strict=True), "k--", where="post", lw=1,
                  label="best score at this latency or less")  # fmt: skip
    if best.latency_ms is not None:
        axis.scatter([best.latency_ms], [best.score], marker="*", s=300, c="gold",
                     edgecolors="k", zorder=3, label=f"best (trial {best.trial})")  # fmt: skip
    axis.set_xlabel("inference latency, ms per image (batch 1)")
    axis.set_ylabel(objective)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    save_figure(figure, path)
