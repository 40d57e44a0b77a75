"""Markdown tables of benchmark reports."""

from __future__ import annotations


def _mb(value) -> str:
    return "" if value is None else f"{value / 2**20:,.0f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}x"


def backends_table(report: dict) -> str:
    """One row per model, backend, implementation and variant, with the machine above."""
    machine, settings = report["machine"], report["settings"]
    device = ", ".join(machine.get("gpus") or []) or f"{machine['cpu']}, {machine['cores']} cores"
    peaks = {
        r["backend"]: r["matmul_flops_per_second"]
        for r in report["results"]
        if "matmul_flops_per_second" in r
    }
    lines = [
        f"Device: {device}. Input {settings['size']}x{settings['size']}x3, batch "
        f"{settings['batch']}, {settings['steps']} timed steps after {settings['warmup']} "
        "warm-up steps; times are medians.",
        "",
        "Matrix-product peak measured in the same run (TFLOP/s): "
        + "; ".join(
            f"{backend} " + ", ".join(f"{k} {v / 1e12:.2f}" for k, v in values.items())
            for backend, values in peaks.items()
        ),
        "",
        "| model | backend | impl | jit | precision | train ms/step (min-max) | compile s "
        "| infer ms/image | images/s | host peak MiB | GPU peak MiB | train TFLOP/s "
        "| of fp32 peak | Keras/raw train | Keras/raw infer |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        t = r["task"]
        impl = (
            f"{t['impl']}, data-parallel x{r.get('devices', '?')}"
            if "distribution" in t
            else t["impl"]
        )
        head = f"| {t['model']} | {r['backend']} | {impl} | {t['jit']} | {t['precision']} |"
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
    return "\n".join(lines) + "\n"
