"""Input-pipeline speed: colorized masks decoded per second on one core.

    python -m benchmarks.data --json benchmarks/results/data.json \
        --markdown benchmarks/results/data.md

Target (data issue): at least 300 masks of 512x512 per second on one core.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data", description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="mask side in pixels (default 512)")
    parser.add_argument("--count", type=int, default=200, help="masks per timing (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="timings, median reported")
    parser.add_argument("--palette", default="mvtec_screw", help="palette preset or file")
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write a Markdown table here")
    parser.add_argument("--smoke", action="store_true", help="a few masks only, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.count, args.repeats = 5, 1
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    palette = Palette.load(args.palette)
    # "nearest": rotated masks may hold three-color mixes where regions meet; time that path too.
    decoder = MaskDecoder(palette, off_palette="nearest")
    rows = []
    for kind, mask in synthetic_masks(args.size, palette).items():
        result = time_decoding(decoder, mask, args.count, args.repeats)
        rows.append({"mask": kind, "size": args.size, **result})
        print(f"{kind:36s} {result['masks_per_second']:8.0f} masks/s  (target >= 300)")
    report = {
        "benchmark": "mask decoding, one core",
        "target_masks_per_second": TARGET_MASKS_PER_SECOND,
        "command": "python -m benchmarks.data " + " ".join(argv or []),
        "machine": describe_machine(),
        "results": rows,
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
        write_atomically(args.markdown, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
