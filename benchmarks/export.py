"""Inference latency of exported models in their runtimes, next to Keras on each backend.

    python -m benchmarks.export --json benchmarks/results/export_cpu.json \\
        --markdown benchmarks/results/export_cpu.md
    python -m benchmarks.export --formats "" --json benchmarks/results/latency_cpu.json \\
        --markdown benchmarks/results/latency_cpu.md     # Keras on each backend only
    python -m benchmarks.export --smoke     # a tiny model, OpenVINO and this backend only

For each model (default: FlexUNet with the original's MVTec-screw settings, and the demo
preset), at --size (default 512x512) with seeded random weights: the model is saved once as a
.keras file, exported by `flexseg.export.export_model` to each format (its export time, file
size and parity check recorded), and every runtime (onnxruntime CPU, OpenVINO CPU in float32,
LiteRT, TensorFlow SavedModel) and every Keras backend predicts batches of 1 and 8 images.
Each measurement runs in its own process, one after another; reported: milliseconds per image,
the median of --repeats calls after one warm-up call, with the fastest and slowest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe_machine, publish, run_json_worker

BACKENDS = ("tensorflow", "jax", "torch")
FORMATS = ("onnx", "openvino", "litert", "saved_model")
RUNTIME_NAMES = {
    "onnx": "onnxruntime (CPU)",
    "openvino": "OpenVINO (CPU, f32)",
    "litert": "LiteRT",
    "saved_model": "TensorFlow SavedModel",
}
MODELS = ("flexunet_mvtec_screw", "flexunet_cpu_demo")


# === Workers: each runs in its own process ===


def save_model(preset: str, size: int, folder: str) -> dict:
    """Build the preset at size x size with seeded weights; save model.keras and a config."""
    import keras

    import flexseg

    keras.utils.set_random_seed(0)
    model = flexseg.build(preset, input_shape=(size, size, 3))
    run = Path(folder)
    classes = "".join(
        f'[[data.palette]]\nid = {i}\nname = "class{i}"\ncolor = [{i * 40}, 0, 0]\n'
        for i in range(model.num_classes)
    )
    (run / "config.toml").write_text(f'[model]\nname = "{model.architecture}"\n[data]\nroot = "."\n'
                                     f"{classes}")  # fmt: skip
    model.save(run / "model.keras")
    return {"params": model.count_params()}


def export_format(
    folder: str, fmt: str, tolerance: float, batch: int | None = None, out: str | None = None
) -> dict:
    """Export model.keras to `fmt` (into folder/out, default folder/fmt): seconds, bytes, and
    the export's own parity check."""
    from flexseg.export import export_model

    result = export_model(Path(folder) / "model.keras", fmt, Path(folder) / (out or fmt),
                          batch=batch, tolerance=tolerance)  # fmt: skip
    return {
        "export_seconds": result.seconds,
        "size_bytes": result.size_bytes,
        "exported_by": result.exported_by,
        "parity": result.parity,
    }


def time_calls(predict, size: int, batches: list[int], repeats: int) -> dict:
    """Milliseconds per image for each batch size: median, min and max of `repeats` calls."""
    rows = {}
    for batch in batches:
        images = np.random.default_rng(batch).uniform(0, 255, (batch, size, size, 3))
        images = images.astype("float32")
        predict(images)  # warm-up: tracing, compilation, memory
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict(images)
            times.append((time.perf_counter() - started) * 1000 / batch)
        rows[str(batch)] = {
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
        }
    return rows


def time_keras(folder: str, size: int, batches: list[int], repeats: int) -> dict:
    import keras

    from flexseg.export.convert import load_flexseg_model
    from flexseg.run.speedups import speed_up
    from flexseg.runtime import speed_up_process

    speed_up_process()  # as `flexseg infer` runs it
    model = load_flexseg_model(Path(folder) / "model.keras")
    speed_up(model)

    def predict(images):
        return keras.ops.convert_to_numpy(model.predict_on_batch(images))

    return time_calls(predict, size, batches, repeats)


def time_runtime(folder: str, fmt: str, size: int, batches: list[int], repeats: int) -> dict:
    from flexseg.export import load_exported

    exported = load_exported(Path(folder) / fmt)  # fmt: the export's folder name
    return time_calls(exported.outputs, size, batches, repeats)


def worker(task: dict) -> dict:
    kind = task.pop("kind")
    return {"save": save_model, "export": export_format, "keras": time_keras,
            "runtime": time_runtime}[kind](**task)  # fmt: skip


def in_subprocess(task: dict, backend: str = "tensorflow") -> dict:
    """Run `task` in a fresh process on `backend`; a failure is returned as {"error": ...}."""
    return run_json_worker(
        [sys.executable, "-m", "benchmarks.export", "--worker", json.dumps(task)], backend
    )


# === The run and its table ===


def benchmark_model(preset: str, args: argparse.Namespace, formats, backends) -> dict:
    timing = {"size": args.size, "batches": args.batches, "repeats": args.repeats}
    with tempfile.TemporaryDirectory(prefix="flexseg-export-bench-") as folder:
        saved = in_subprocess(
            {"kind": "save", "preset": preset, "size": args.size, "folder": folder}
        )
        model = {"model": preset, **saved}
        rows = []
        for backend in backends:
            row = {"runtime": f"Keras on {backend}", "backend": backend}
            timed = in_subprocess({"kind": "keras", "folder": folder, **timing}, backend)
            row.update(timed if "error" in timed else {"latency": timed})
            rows.append(row)
            print(json.dumps(row)[:200], flush=True)
        for fmt in formats:
            row = {"runtime": RUNTIME_NAMES[fmt], "format": fmt}
            export = {"kind": "export", "folder": folder, "fmt": fmt, "tolerance": args.tolerance}
            row.update(in_subprocess(export))
            if "error" not in row:
                timed = in_subprocess({"kind": "runtime", "folder": folder, "fmt": fmt, **timing})
                row.update(timed if "error" in timed else {"latency": timed})
            elif fmt == "onnx" and "torch" in backends:
                row = onnx_by_torch(row, export, timing)
            rows.append(row)
            print(json.dumps(row)[:200], flush=True)
    return {**model, "rows": rows}


def onnx_by_torch(failed: dict, export: dict, timing: dict) -> dict:
    """Where TensorFlow's ONNX export failed (tf2onnx needed more than this machine's 24 GB for
    the original's FlexUNet), torch's exporter with a static batch, one export per batch."""
    row = {key: value for key, value in failed.items() if key != "error"}
    row.update(runtime="onnxruntime (CPU), exported by torch", dynamic_error=failed["error"])
    latency = {}
    for batch in timing["batches"]:
        out = f"onnx_batch{batch}"
        done = in_subprocess({**export, "batch": batch, "out": out}, backend="torch")
        if "error" in done:
            return {**row, **done}
        timed = in_subprocess({"kind": "runtime", "folder": export["folder"], "fmt": out,
                               **timing, "batches": [batch]})  # fmt: skip
        if "error" in timed:
            return {**row, **timed}
        latency.update(timed)
        row.update(done)
    return {**row, "latency": latency}


def _cell(latency: dict, batch: int) -> str:
    entry = latency.get(str(batch))
    if not entry:
        return ""
    return f"{entry['median_ms']:.1f} ({entry['min_ms']:.1f}-{entry['max_ms']:.1f})"


def fastest_note(result: dict, batch: int) -> str:
    """Which runtime is fastest at `batch`, and how it compares with the fastest Keras."""
    timed = [r for r in result["rows"] if "latency" in r and str(batch) in r["latency"]]
    keras_rows = [r for r in timed if "backend" in r]
    exported = [r for r in timed if "format" in r]
    if not keras_rows or not exported:
        return ""
    best_keras = min(keras_rows, key=lambda r: r["latency"][str(batch)]["median_ms"])
    best = min(exported, key=lambda r: r["latency"][str(batch)]["median_ms"])
    keras_time, time_ = best_keras["latency"][str(batch)], best["latency"][str(batch)]
    ratio = time_["median_ms"] / keras_time["median_ms"]
    if time_["max_ms"] < keras_time["median_ms"]:  # its slowest call beats Keras's median
        verdict = "faster than every Keras backend"
    elif ratio < 1:
        verdict = "faster in the median, within the spread of the calls"
    else:
        verdict = "not faster than Keras"
    return (
        f"batch {batch}: fastest runtime {best['runtime']}, {ratio:.2f}x the time of the fastest "
        f"Keras backend ({best_keras['runtime']}): {verdict}."
    )


def table(report: dict) -> str:
    s = report["settings"]
    machine = report["machine"]
    head = (
        f"Device: {machine['cpu']}, {machine['cores']} cores. {s['size']}x{s['size']}x3 inputs, "
        f"ms per image: median of {s['repeats']} calls after a warm-up (fastest-slowest)."
    )
    if s.get("formats") != []:  # (runs from before --formats was recorded had exports)
        head += (
            " Exports by `flexseg.export` from the tensorflow backend, accepted up to a "
            f"probability difference of {s['tolerance']:.0e} from Keras; parity: the largest "
            "difference its own check found (an export where a pixel changes class, near-ties "
            "aside, is refused)."
        )
    else:
        head += " Keras only (float32, flexseg's backend speed-ups applied, as `flexseg infer`)."
    lines = [head]
    for result in report["results"]:
        batches = s["batches"]
        exports = s.get("formats") != []
        lines += [
            "",
            f"**{result['model']}** ({result.get('params', 0):,} parameters)",
            "",
            "| runtime | "
            + " | ".join(f"batch {b} ms/image" for b in batches)
            + (" | export s | file MB | parity |" if exports else " |"),
            "|---|" + "---:|" * len(batches) + ("---:|---:|---:|" if exports else ""),
        ]
        for row in result["rows"]:
            if "error" in row:
                error = row["error"][:160].replace("|", "/")
                lines.append(
                    f"| {row['runtime']} | failed: {error} |"
                    + " |" * (len(batches) + (2 if exports else -1))
                )
                continue
            cells = [_cell(row["latency"], b) for b in batches]
            if "format" in row:
                parity = row["parity"]["max_probability_difference"]
                extra = [f"{row['export_seconds']:.1f}", f"{row['size_bytes'] / 1e6:.1f}",
                         f"{parity:.1e}" if parity is not None else "labels"]  # fmt: skip
            else:
                extra = ["", "", ""] if exports else []
            lines.append(f"| {row['runtime']} | " + " | ".join(cells + extra) + " |")
        notes = [fastest_note(result, b) for b in batches]
        notes += [
            f"{row['runtime']}: TensorFlow's ONNX export (tf2onnx, dynamic batch) failed "
            f"({row['dynamic_error'][:120]}), so torch's exporter wrote one model per batch size."
            for row in result["rows"] if "dynamic_error" in row
        ]  # fmt: skip
        notes = [f"- {n}" for n in notes if n]
        lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated presets")
    parser.add_argument("--size", type=int, default=512, help="image side (default 512)")
    parser.add_argument("--batches", default="1,8", help="batch sizes (default 1,8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls (default 5)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument(
        "--tolerance", type=float, default=1e-3,
        help="probability difference from Keras an export may show (default 1e-3; "
        "flexseg export's default is 1e-4)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="tiny model, OpenVINO, this backend")
    parser.add_argument(
        "--redraw", type=Path, metavar="JSON",
        help="rewrite --markdown from an earlier run's JSON; measure nothing",
    )  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.redraw:
        report = json.loads(args.redraw.read_text())
        publish(report, table(report), None, args.markdown)
        return 0
    if args.smoke:
        args.models, args.size, args.batches, args.repeats = "flexunet_tiny", 32, "1,2", 1
        args.formats = "openvino"  # the quickest converter: every code path, in seconds
        args.backends = os.environ.get("KERAS_BACKEND", "tensorflow")
    args.batches = [int(b) for b in args.batches.split(",")]
    formats = [f for f in args.formats.split(",") if f]
    backends = [b for b in args.backends.split(",") if b]
    for name, given, known in (("--formats", formats, FORMATS), ("--backends", backends, BACKENDS)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            parser.error(f"{name}: unknown {', '.join(unknown)}; choose from {', '.join(known)}.")
    started = time.perf_counter()
    results = [benchmark_model(m, args, formats, backends) for m in args.models.split(",") if m]
    settings = {"size": args.size, "batches": args.batches, "repeats": args.repeats,
                "formats": formats, "backends": backends, "tolerance": args.tolerance}  # fmt: skip
    report = {
        "benchmark": "exported models' inference latency against Keras",
        "command": "python -m benchmarks.export " + " ".join(argv or sys.argv[1:]),
        "settings": settings,
        "minutes": (time.perf_counter() - started) / 60,
        "machine": describe_machine(),
        "results": results,
    }
    publish(report, table(report), args.json, args.markdown)
    failed = any("error" in row for result in results for row in result["rows"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
