"""Input-pipeline speed: masks decoded per second, and batches per second against the model.

    python -m benchmarks.data --json benchmarks/results/data.json \
        --markdown benchmarks/results/data.md

1. Colorized masks decoded per second on one core (target of the data issue: at least 300
   masks of 512x512).
2. `SegmentationDataset` batches per second through `model.fit`, next to the rate at which
   the model consumes batches, for each pipeline setting: workers=1 (batches made in the
   training loop's thread; Keras treats 0 and 1 alike) and 2 threads. The
   pipeline's own rate is measured with a model that costs nothing (one 1x1 convolution);
   the consumption rate with the real model on batches already in memory. The pipeline is
   never the bottleneck when its rate is above the consumption rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.machine import describe_machine, write_atomically
from flexseg.data import MaskDecoder, Palette, colorize

TARGET_MASKS_PER_SECOND = 300


def synthetic_masks(size: int, palette: Palette, seed: int = 0):
    """A mask with exact palette colors only, and the same mask rotated with bilinear blending."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, size - size // 8, 2)
        h, w = rng.integers(4, size // 8, 2)
        labels[y : y + h, x : x + w] = rng.integers(1, palette.num_classes)
    exact = colorize(labels, palette)
    blended = np.asarray(Image.fromarray(exact).rotate(13, resample=Image.BILINEAR))
    return {"exact colors": exact, "blended edges (bilinear rotation)": blended}


def time_decoding(decoder: MaskDecoder, mask: np.ndarray, count: int, repeats: int) -> dict:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            decoder.decode(mask)
        rates.append(count / (time.perf_counter() - started))
    return {"masks_per_second": statistics.median(rates), "spread": [min(rates), max(rates)]}


PIPELINE_CASES = (
    # (preset, image side, batch): the demo's training, and the CPU backend benchmark's.
    ("flexunet_cpu_demo", 128, 4),
    ("flexunet_mvtec_screw", 256, 2),
)
# use_multiprocessing=True is left out: the forked workers of a process that has started
# TensorFlow's thread pools hung (a fork-after-threads deadlock) when we tried it.
WORKER_SETTINGS = (("1 (in the training thread)", 1, False), ("2 threads", 2, False))


def time_pipeline(folder: Path, size: int, batch: int, steps: int) -> list[dict]:
    """Batches per second of SegmentationDataset (the demo's flips and class weights)."""
    import keras

    from flexseg.data import SegmentationDataset

    rows = []
    for label, workers, processes in WORKER_SETTINGS:
        dataset = SegmentationDataset(
            folder, "mvtec_screw", split="train", image_size=(size, size), batch_size=batch,
            shuffle=True, augmentation={"hflip": True, "vflip": True},
            class_weights=[1.0, 30.0, 30.0, 30.0, 30.0, 30.0],
            workers=workers, use_multiprocessing=processes,
        )  # fmt: skip
        inputs = keras.Input((size, size, 3))
        free = keras.Model(inputs, keras.layers.Conv2D(6, 1, activation="softmax")(inputs))
        free.compile(optimizer="sgd", loss="categorical_crossentropy")
        free.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)  # warm-up: tracing, workers
        timed = min(steps, len(dataset))  # never more batches than an epoch holds
        started = time.perf_counter()
        history = free.fit(dataset, epochs=1, steps_per_epoch=timed, verbose=0)
        rate = timed / (time.perf_counter() - started)
        if not history.history.get("loss"):
            raise RuntimeError(f"the timed fit ran no batches ({label})")
        rows.append({"workers": label, "batches_per_second": rate, "batches_timed": timed})
        print(f"  pipeline {size}px batch {batch}, workers {label:28s} {rate:7.1f} batches/s")
    return rows


def time_consumption(preset: str, size: int, batch: int, steps: int) -> float:
    """Training steps per second of `preset` on a batch already in memory (Adam, cce)."""
    import keras

    import flexseg

    model = flexseg.build(preset, input_shape=(size, size, 3), num_classes=6)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    labels = np.eye(6, dtype="float32")[rng.integers(0, 6, (batch, size, size))]
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.train_on_batch(images, labels)
    model.train_on_batch(images, labels)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, labels)
    return steps / (time.perf_counter() - started)


def pipeline_report(steps: int, images: int, model_steps: int, cases=PIPELINE_CASES) -> list[dict]:
    import tempfile

    import keras

    from flexseg.data.synthetic import write_dataset

    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for preset, size, batch in cases:
            folder = Path(temporary) / f"screws_{size}"
            write_dataset(folder, size=size, count=images, seed=0, split=(0.8, 0.1, 0.1))
            consumption = time_consumption(preset, size, batch, model_steps)
            print(f"  {preset} consumes {consumption:.2f} batches/s ({size}px, batch {batch})")
            for row in time_pipeline(folder, size, batch, steps):
                rows.append(
                    {"preset": preset, "size": size, "batch": batch,
                     "backend": keras.backend.backend(), "model_batches_per_second": consumption,
                     **row}
                )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data", description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="mask side in pixels (default 512)")
    parser.add_argument("--count", type=int, default=200, help="masks per timing (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="timings, median reported")
    parser.add_argument("--palette", default="mvtec_screw", help="palette preset or file")
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write a Markdown table here")
    parser.add_argument("--smoke", action="store_true", help="a few masks only, for CI")
    parser.add_argument(
        "--pipeline-steps", type=int, default=30, help="batches timed per setting (default 30)"
    )
    parser.add_argument(
        "--no-pipeline", action="store_true", help="only the mask decoding (one core)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.count, args.repeats, args.pipeline_steps = 5, 1, 2
    pipeline = []
    if not args.no_pipeline:  # first, on every core: workers need them
        images = 24 if args.smoke else 240
        model_steps = 1 if args.smoke else 5
        cases = (("flexunet_tiny", 64, 2),) if args.smoke else PIPELINE_CASES
        pipeline = pipeline_report(args.pipeline_steps, images, model_steps, cases)
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # one core, as the target says
    try:
        rows = decoding_rows(args)
    finally:
        if cores:
            os.sched_setaffinity(0, cores)  # a caller (such as a test) gets its cores back

    report = {
        "benchmark": "mask decoding, one core",
        "target_masks_per_second": TARGET_MASKS_PER_SECOND,
        "command": "python -m benchmarks.data " + " ".join(argv or []),
        "machine": describe_machine(),
        "results": rows,
        "pipeline": pipeline,
    }
    if args.json:
        write_atomically(args.json, json.dumps(report, indent=2) + "\n")
    if args.markdown:
        lines = [
            f"Mask decoding on one core of {report['machine']['cpu']} (target >= 300 masks/s)",
            "",
            "| mask | size | masks/s (median) | min-max |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {r['mask']} | {r['size']}x{r['size']} | {r['masks_per_second']:.0f} | "
            f"{r['spread'][0]:.0f}-{r['spread'][1]:.0f} |"
            for r in rows
        ]
        lines += pipeline_table(pipeline)
        write_atomically(args.markdown, "\n".join(lines) + "\n")
    return 0


def decoding_rows(args) -> list[dict]:
    """Masks decoded per second, exact colors and blended edges."""
    palette = Palette.load(args.palette)
    # "nearest": rotated masks may hold three-color mixes where regions meet; time that path too.
    decoder = MaskDecoder(palette, off_palette="nearest")
    rows = []
    for kind, mask in synthetic_masks(args.size, palette).items():
        result = time_decoding(decoder, mask, args.count, args.repeats)
        rows.append({"mask": kind, "size": args.size, **result})
        print(f"{kind:36s} {result['masks_per_second']:8.0f} masks/s  (target >= 300)")
    return rows


def pipeline_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        f"SegmentationDataset through `model.fit` ({rows[0]['backend']} backend, all cores; "
        "flips and class weights as in the demo) against the model's own training rate",
        "",
        "| model | image | batch | workers | pipeline batches/s | model batches/s | "
        "pipeline / model |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ratio = r["batches_per_second"] / r["model_batches_per_second"]
        lines.append(
            f"| {r['preset']} | {r['size']}x{r['size']} | {r['batch']} | {r['workers']} | "
            f"{r['batches_per_second']:.1f} | {r['model_batches_per_second']:.2f} | {ratio:.0f}x |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
