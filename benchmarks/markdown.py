"""Markdown tables of benchmark reports."""

from __future__ import annotations

import statistics


def _mb(value) -> str:
    return "" if value is None else f"{value / 2**20:,.0f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}x"


def backends_table(report: dict) -> str:
    """One row per model, backend, implementation and variant (and round, with --rounds),
    with the machine above and, over several rounds, each Keras/raw ratio round by round."""
    machine, settings = report["machine"], report["settings"]
    rounds = settings.get("rounds", 1)
    device = ", ".join(machine.get("gpus") or []) or f"{machine['cpu']}, {machine['cores']} cores"
    peaks = {
        r["backend"]: r["matmul_flops_per_second"]
        for r in report["results"]
        if "matmul_flops_per_second" in r
    }
    lines = [
        f"Device: {device}. Input {settings['size']}x{settings['size']}x3, batch "
        f"{settings['batch']}, {settings['steps']} timed steps after {settings['warmup']} "
        "warm-up steps; times are medians"
        + (f"; {rounds} rounds, each measurement once per round." if rounds > 1 else "."),
        "",
        "Matrix-product peak measured in the same run (TFLOP/s): "
        + "; ".join(
            f"{backend} " + ", ".join(f"{k} {v / 1e12:.2f}" for k, v in values.items())
            for backend, values in peaks.items()
        ),
        "",
        "| model | backend | impl | jit | precision |"
        + (" round |" if rounds > 1 else "")
        + " train ms/step (min-max) | compile s | infer ms/image | images/s | host peak MiB "
        "| GPU peak MiB | train TFLOP/s | of fp32 peak | Keras/raw train | Keras/raw infer |",
        "|---|---|---|---|---|" + ("---:|" if rounds > 1 else "") + "---:|" * 10,
    ]
    for r in report["results"]:
        t = r["task"]
        impl = (
            f"{t['impl']}, data-parallel x{r.get('devices', '?')}"
            if "distribution" in t
            else t["impl"]
        )
        head = f"| {t['model']} | {r['backend']} | {impl} | {t['jit']} | {t['precision']} |"
        if rounds > 1:
            head += f" {r.get('round', 1)} |"
        if "error" in r:
            lines.append(f"{head} failed: {r['error'][:160]} |||||||||")
            continue
        train = r["train"]
        fraction = r.get("fp32_peak_fraction")
        lines.append(
            f"{head} {train['median_ms']:.1f} ({train['min_ms']:.1f}-{train['max_ms']:.1f}) "
            f"| {r['compile_s']:.1f} | {r['predict_ms_per_image']:.1f} "
            f"| {r['images_per_second']:.1f} | {_mb(r['host_peak_bytes'])} "
            f"| {_mb(r.get('gpu_peak_bytes'))} | {r['train_flops_per_second'] / 1e12:.3f} "
            f"| {'' if fraction is None else f'{100 * fraction:.0f}%'} "
            f"| {_ratio(r.get('vs_raw_train'))} | {_ratio(r.get('vs_raw_predict'))} |"
        )
    if rounds > 1:
        lines += ratios_by_round(report["results"])
    return "\n".join(lines) + "\n"


def ratios_by_round(results: list[dict]) -> list[str]:
    """Each Keras run's time over its raw reference's in the same round, round by round,
    with the median and the range over the rounds."""
    series: dict[tuple, dict[str, list[float]]] = {}
    for r in results:
        if "vs_raw_train" in r:
            t = r["task"]
            key = (t["model"], r["backend"], t["impl"], t["jit"], t["precision"])
            entry = series.setdefault(key, {"train": [], "predict": []})
            entry["train"].append(r["vs_raw_train"])
            entry["predict"].append(r["vs_raw_predict"])
    if not series:
        return []
    lines = [
        "",
        "Keras over raw, each ratio within one round (the rounds in order; median, min-max):",
        "",
        "| model | backend | impl | jit | precision | train | train median (min-max) "
        "| infer | infer median (min-max) |",
        "|---|---|---|---|---|---|---:|---|---:|",
    ]
    for key, entry in series.items():
        cells = []
        for values in (entry["train"], entry["predict"]):
            cells.append(", ".join(_ratio(v) for v in values))
            low, high = _ratio(min(values)), _ratio(max(values))
            cells.append(f"{_ratio(statistics.median(values))} ({low}-{high})")
        lines.append("| " + " | ".join([*key, *cells]) + " |")
    return lines
