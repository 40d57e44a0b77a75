"""What a search leaves behind: trials.csv, trials.png, best.json and best.toml (the config with
the best trial's settings, ready for `flexseg train`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flexseg.config import Config
from flexseg.config.toml_writer import dumps
from flexseg.outputs import save_figure, write_text_atomically

OBJECTIVE = "val_fg_miou"


def trial_rows(tuner) -> list[dict]:
    """One row per finished trial: id, score and the hyperparameter values."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.score is None:
            continue
        rows.append(
            {"trial": trial.trial_id, "score": float(trial.score), **trial.hyperparameters.values}
        )
    return sorted(rows, key=lambda row: row["trial"])


def write_results(config: Config, out: Path, rows: list[dict], best: dict) -> None:
    names = sorted({key for row in rows for key in row} - {"trial", "score"})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", OBJECTIVE, *names])
    for row in rows:
        writer.writerow([row["trial"], f"{row['score']:.6f}", *(row.get(n, "") for n in names)])
    write_text_atomically(out / "trials.csv", buffer.getvalue())

    best_config = config.to_dict()
    settings = {k: v for k, v in best.items() if k not in ("trial", "score", "learning_rate")}
    if "base_kernel" in settings:
        kernel = settings.pop("base_kernel")
        settings["base_kernels"] = [kernel, kernel]
    settings = {k: v for k, v in settings.items() if not k.startswith("tuner/")}
    best_config["model"].update(settings)
    best_config["train"]["learning_rate"] = best["learning_rate"]
    header = (
        f"# Best of {len(rows)} trials by flexseg tune: {OBJECTIVE} {best['score']:.4f} "
        f"(trial {best['trial']}).\n# Train it: python -m flexseg.train {out / 'best.toml'}\n"
    )
    write_text_atomically(out / "best.toml", header + dumps(best_config))
    write_text_atomically(out / "best.json", json.dumps(best, indent=2) + "\n")
    plot_trials(rows, out / "trials.png")


def plot_trials(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    scores = [row["score"] for row in rows]
    best_so_far = [max(scores[: i + 1]) for i in range(len(scores))]
    axis.plot(range(1, len(scores) + 1), scores, "o", label="trial")
    axis.plot(range(1, len(scores) + 1), best_so_far, "-", label="best so far")
    axis.set_xlabel("trial")
    axis.set_ylabel(OBJECTIVE)
    axis.legend()
    save_figure(figure, path)
