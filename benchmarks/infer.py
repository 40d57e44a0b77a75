"""Whole-image and tiled inference on large images (e.g. full 1024x1024 MVTec AD) per backend.

    python -m benchmarks.infer --json benchmarks/results/infer_cpu.json \\
        --markdown benchmarks/results/infer_cpu.md
    python -m benchmarks.infer --smoke      # a tiny model on 64x64 images

Each backend runs in its own subprocess (KERAS_BACKEND set). The model is built for any input
size; flexseg's `Predictor` predicts each image whole, then in overlapping tiles of each
`--tile` side, blended with smooth weights. Reported: seconds per image (median over
--images images after one warm-up); where tiling's time goes: the pixels of the tiles
computed (filler tiles included) over the image's, and the model alone on the same tiles
(the batches `predict_tiled` makes, nothing blended); and the largest difference between
the tiled and the whole-image probabilities.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe_machine, publish, run_json_worker
from benchmarks.seeds import int_list

BACKENDS = ("tensorflow", "jax", "torch")


def measure(model: str, size: int, tile: list[int], overlap: int, images: int,
            tile_batch: list[int]) -> dict:  # fmt: skip
    """Runs inside one backend: seconds per image, whole and in tiles of each size, with
    each number of tiles per call."""
    import keras

    import flexseg
    from flexseg.infer.predict import Predictor
    from flexseg.infer.tiling import share_out, tile_starts
    from flexseg.run.speedups import speed_up
    from flexseg.runtime import speed_up_process

    speed_up_process()
    keras.utils.set_random_seed(0)
    built = flexseg.build(model, input_shape=(None, None, 3))
    speed_up(built)  # as flexseg infer loads a model
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 255, (images + 1, size, size, 3)).astype("float32")

    def timed(predictor) -> tuple[np.ndarray, dict]:
        output = predictor(batch[0])  # warm-up: tracing and compilation
        seconds = []
        for image in batch[1:]:
            started = time.perf_counter()
            predictor(image)
            seconds.append(time.perf_counter() - started)
        return output, {"seconds_median": statistics.median(seconds), "seconds": seconds}

    whole_output, whole = timed(Predictor(built))
    result = {"backend": keras.backend.backend(), "whole": whole, "tilings": []}
    for side, most in itertools.product(tile, tile_batch):
        tiles = len(tile_starts(size, side, overlap)) ** 2
        calls, per_call = share_out(tiles, most)
        stacked = np.repeat(batch[:1, :side, :side], per_call, axis=0)

        def model_only(_, calls=calls, stacked=stacked):  # the batches predict_tiled makes
            for _ in range(calls):
                keras.ops.convert_to_numpy(built.predict_on_batch(stacked))

        output, tiled = timed(Predictor(built, tile=side, overlap=overlap, tile_batch=most))
        _, alone = timed(model_only)
        difference = np.abs(output - whole_output)
        result["tilings"].append({
            "tile": side, "tile_batch": most, "tiles": tiles, "tile_calls": calls,
            "tiles_per_call": per_call,
            "tiled_pixels_ratio": tiles * side * side / (size * size),
            "computed_pixels_ratio": calls * per_call * side * side / (size * size),
            "tiled": tiled, "tiles_alone": alone,
            "tiled_vs_whole_max_abs": float(difference.max()),
            "tiled_vs_whole_mean_abs": float(difference.mean()),
        })  # fmt: skip
    return result


def table(report: dict) -> str:
    s = report["settings"]
    machine = report["machine"]
    device = ", ".join(machine.get("gpus") or []) or f"{machine['cpu']}, {machine['cores']} cores"
    lines = [
        f"Device: {device}. {s['model']} on {s['size']}x{s['size']}x3 images; tiles with "
        f"{s['overlap']} px overlap; median of {s['images']} images. Calls: how many model "
        "calls per image, times tiles per call (at most the tile batch; the last call "
        "filled up). Model alone: the model on the same tile batches, nothing cut or "
        "blended.",
        "",
        "| backend | tile | tile batch | tiles | calls | whole image s | tiled s "
        "| tiled / whole | computed pixels / image's | model alone on the tiles s "
        "| model alone / whole | tiled vs whole: max / mean abs. difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        if "error" in r:
            error = r["error"][:160].replace("|", "/")
            lines.append(f"| {r['backend']} | failed: {error} | | | | | | | | | | |")
            continue
        whole = r["whole"]["seconds_median"]
        for t in r["tilings"]:
            tiled, alone = t["tiled"]["seconds_median"], t["tiles_alone"]["seconds_median"]
            lines.append(
                f"| {r['backend']} | {t['tile']} | {t['tile_batch']} | {t['tiles']} "
                f"| {t['tile_calls']}x{t['tiles_per_call']} | {whole:.2f} | {tiled:.2f} "
                f"| {tiled / whole:.2f}x | {t['computed_pixels_ratio']:.2f}x | {alone:.2f} "
                f"| {alone / whole:.2f}x | {t['tiled_vs_whole_max_abs']:.4f} / "
                f"{t['tiled_vs_whole_mean_abs']:.5f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.infer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="flexunet_mvtec_screw", help="preset or architecture")
    parser.add_argument("--size", type=int, default=1024, help="image side (default 1024)")
    parser.add_argument(
        "--tile", type=int_list, default=[256, 384], help="tile sides (default 256,384)"
    )
    parser.add_argument("--overlap", type=int, default=64, help="tile overlap (default 64)")
    parser.add_argument("--images", type=int, default=3, help="timed images (default 3)")
    parser.add_argument(
        "--tile-batch", type=int_list, default=[8, 16], help="most tiles per call (default 8,16)"
    )
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="tiny model and images, for CI")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        smoke = {"model": "flexunet_tiny", "size": 64, "tile": [32], "overlap": 8, "images": 1}
        vars(args).update(smoke, tile_batch=[8])
    names = ("model", "size", "tile", "overlap", "images", "tile_batch")
    settings = {k: getattr(args, k) for k in names}
    if args.worker:
        print(json.dumps(measure(**settings)))
        return 0
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend not in BACKENDS:
            parser.error(f"--backends: unknown {backend!r}; choose from {', '.join(BACKENDS)}.")
        command = [sys.executable, "-m", "benchmarks.infer", "--worker"]
        command += [f"--{k.replace('_', '-')}={_text(v)}" for k, v in settings.items()]
        result = run_json_worker(command, backend)
        results.append({"backend": backend, **result} if "error" in result else result)
        print(json.dumps(results[-1])[:200], flush=True)
    report = {
        "benchmark": "inference on large images",
        "command": "python -m benchmarks.infer " + " ".join(argv or sys.argv[1:]),
        "settings": settings,
        "machine": describe_machine(),
        "results": results,
    }
    publish(report, table(report), args.json, args.markdown)
    return 1 if any("error" in r for r in results) else 0


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


if __name__ == "__main__":
    sys.exit(main())
