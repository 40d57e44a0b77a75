"""report.md of a search: the trials, the Pareto front, the best trial's per-class IoU on the
validation split (scored as `flexseg evaluate` scores), and the commands to go on with it."""

from __future__ import annotations

from pathlib import Path

from flexseg.config import Config
from flexseg.metrics.report import markdown_table
from flexseg.outputs import write_text_atomically
from flexseg.tune.records import TrialRecord


def write_report(
    config: Config,
    out: Path,
    records: list[TrialRecord],
    front: list[TrialRecord],
    best: TrialRecord,
    best_model,
    stopped: bool,
    baseline: TrialRecord | None = None,
) -> None:
    from flexseg.evaluate.trained import score_split
    from flexseg.run.setup import RunSetup

    objective = config.tune["objective"]
    setup = RunSetup(config)
    validation = setup.dataset("valid", labels="sparse", batch_size=config.eval["batch_size"])
    scores = score_split(best_model, validation)
    failed = [r for r in records if r.status == "failed"]
    best_toml = (out / "best.toml").resolve()
    lines = [
        "# flexseg tune",
        "",
        f"- {len(records)} trials of {', '.join(sorted({r.architecture or '?' for r in records}))}"
        f" ({config.tune['tuner']}, {config.tune['epochs']} epochs each); "
        f"{len(records) - len(failed)} completed, {len(failed)} failed.",
        f"- Best: trial {best.trial}, `{best.architecture}`, {objective} {best.score:.4f}, "
        f"{best.params:,} parameters, {best.latency_ms:.1f} ms per image.",
    ]
    if baseline is not None:
        lines.append(_baseline_line(baseline, best, objective))
    if stopped:
        lines.append(
            f"- The time budget ({config.tune['time_budget']:g} min) ended the search: no "
            "trial was started that would have ended past it."
        )
    lines += [
        "",
        "## Pareto front: no other trial is better on the score, the latency and the size",
        "",
        *_table(front, objective),
        "",
        "![Pareto front](pareto.png)",
        "",
        "## The best trial on the validation split (`flexseg evaluate`'s scores)",
        "",
        markdown_table(scores),
        "## All trials",
        "",
        *_table(records, objective),
        "",
        "![trials](trials.png)",
        "",
        "## Next",
        "",
        f"    python -m flexseg.train {best_toml}",
        f"    python -m flexseg.evaluate {best_toml}",
        "",
    ]
    write_text_atomically(out / "report.md", "\n".join(lines))


def _baseline_line(baseline: TrialRecord, best: TrialRecord, objective: str) -> str:
    """What the config's own model and training scored, as trial `baseline.trial`."""
    start = f"- The search started from the config's own model and training: trial {baseline.trial}"
    if baseline.score is None:
        return f"{start}, which failed ({baseline.reason})."
    gain = best.score - baseline.score
    return (
        f"{start}, {objective} {baseline.score:.4f}, {baseline.params:,} parameters, "
        f"{baseline.latency_ms:.1f} ms per image; the best is {gain:+.4f} from it "
        "(one training each: compare with a few seeds before trusting a small gap)."
    )


def _table(records: list[TrialRecord], objective: str) -> list[str]:
    rows = [
        f"| trial | status | architecture | {objective} | parameters | GMACs | ms/image | reason |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in records:
        score = "" if r.score is None else f"{r.score:.4f}"
        params = "" if r.params is None else f"{r.params:,}"
        macs = "" if r.macs is None else f"{r.macs / 1e9:.2f}"
        latency = "" if r.latency_ms is None else f"{r.latency_ms:.1f}"
        reason = r.reason.replace("|", "/")
        rows.append(
            f"| {r.trial} | {r.status} | {r.architecture or ''} | {score} | {params} | {macs} "
            f"| {latency} | {reason} |"
        )
    return rows
