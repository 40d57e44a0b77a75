"""Mixed-precision parity: does a model trained in bfloat16 score what float32 scores?

    python -m benchmarks.precision --json benchmarks/results/precision_cpu.json \\
        --markdown benchmarks/results/precision_cpu.md
    python -m benchmarks.precision --smoke      # 2 epochs on 12 tiny images, for tests

Trains the demo's recipe (`flexseg.demo`: flexunet_cpu_demo, synthetic screws, cross-entropy
plus Dice, class weights, flips, cosine schedule) once per precision, on the backend Keras
is set to, with the same seed, data and epochs. Each model is scored by flexseg's evaluator on
the held-out test split (foreground mIoU), and the best validation foreground mIoU of the
run is reported too. The benchmarks issue allows bfloat16 as the CPU default only if its
score is within 0.02 of float32's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

TOLERANCE = 0.02
PRECISIONS = ("float32", "mixed_bfloat16")


def train_and_score(root: Path, precision: str, epochs: int, size: int, seed: int) -> dict:
    """Train the demo recipe in `precision` under root/<precision>; return its scores."""
    from flexseg.config.loader import config_from_dict
    from flexseg.demo import demo_config
    from flexseg.evaluate import evaluate_run
    from flexseg.training.run import train

    settings = demo_config(epochs, minutes=120.0, seed=seed)
    settings["model"]["input_shape"] = [size, size, 3]
    settings["data"]["root"] = str(root / "data")
    settings["train"]["run_dir"] = str(root / precision)
    settings["train"]["precision"] = precision
    settings["train"]["epoch_change_images"] = 0
    config = config_from_dict(settings)
    started = time.perf_counter()
    history = train(config, verbose=0)
    seconds = time.perf_counter() - started
    scores = evaluate_run(config)
    epochs_run = history["epochs"]
    return {
        "precision": precision,
        "epochs": len(epochs_run),
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / max(len(epochs_run), 1),
        "best_val_fg_miou": max(row["val_fg_miou"] for row in epochs_run),
        "test_miou_foreground": scores["miou_foreground"],
        "test_iou": scores.get("iou", {}),
    }


def table(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"Backend {report['backend']}, {report['machine']['cpu']} ({report['machine']['cores']} "
        f"cores). The demo's recipe: flexunet_cpu_demo, {s['count']} synthetic images of "
        f"{s['size']}x{s['size']}, {s['epochs']} epochs, seed {s['seed']}; test split scored by "
        "flexseg's evaluator.",
        "",
        "| precision | epochs | s/epoch | best val fg mIoU | test fg mIoU | test vs float32 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    reference = report["results"][0]["test_miou_foreground"]
    for r in report["results"]:
        delta = r["test_miou_foreground"] - reference
        lines.append(
            f"| {r['precision']} | {r['epochs']} | {r['seconds_per_epoch']:.1f} | "
            f"{r['best_val_fg_miou']:.3f} | {r['test_miou_foreground']:.3f} | {delta:+.3f} |"
        )
    lines += ["", f"Within {TOLERANCE} of float32: {'yes' if report['parity'] else 'no'}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.precision",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run (default 30)")
    parser.add_argument("--count", type=int, default=400, help="synthetic images (default 400)")
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and training")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="2 epochs on 12 images of 32 px")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.count, args.size = 2, 12, 32

    import keras

    from benchmarks.machine import describe_machine, write_atomically
    from flexseg.data.synthetic import write_dataset

    results = []
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        write_dataset(root / "data", size=args.size, count=args.count, seed=args.seed)
        for precision in PRECISIONS:
            results.append(train_and_score(root, precision, args.epochs, args.size, args.seed))
            r = results[-1]
            print(
                f"{precision:15s} {r['seconds_per_epoch']:6.1f} s/epoch  best val fg mIoU "
                f"{r['best_val_fg_miou']:.3f}  test fg mIoU {r['test_miou_foreground']:.3f}",
                flush=True,
            )
    gap = abs(results[1]["test_miou_foreground"] - results[0]["test_miou_foreground"])
    report = {
        "benchmark": "mixed-precision parity",
        "command": "python -m benchmarks.precision " + " ".join(argv if argv else sys.argv[1:]),
        "backend": keras.backend.backend(),
        "settings": {k: getattr(args, k) for k in ("epochs", "count", "size", "seed")},
        "tolerance": TOLERANCE,
        "parity": gap <= TOLERANCE,
        "machine": describe_machine(),
        "results": results,
    }
    print(table(report))
    if args.json:
        write_atomically(args.json, json.dumps(report, indent=2) + "\n")
    if args.markdown:
        write_atomically(args.markdown, table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
