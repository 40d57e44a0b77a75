"""Mixed-precision parity: does a model trained in bfloat16 score what float32 scores?

    python -m benchmarks.precision --seeds 0,1,2,3 --json benchmarks/results/precision_cpu.json \\
        --markdown benchmarks/results/precision_cpu.md
    python -m benchmarks.precision --smoke      # 2 epochs on 12 tiny images, for tests
    python -m benchmarks.precision --report A.json B.json --json AB.json  # more seeds, merged

Trains the demo's recipe (`flexseg.demo`: flexunet_cpu_demo, synthetic screws, cross-entropy
plus Dice, class weights, flips, cosine schedule) once per precision and seed, on the backend
Keras is set to; both precisions of a seed share its data, initial weights and epochs. Each
run reports its best validation foreground mIoU, and its last model is scored by flexseg's
evaluator on the held-out test split. The benchmarks issue allows bfloat16 as the CPU default
only if it reaches float32's validation mIoU within 0.02: the verdict compares the mean over
the seeds, because runs of one precision differ by more than that from seed to seed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.seeds import mean, seed_list, summarize

TOLERANCE = 0.02
PRECISIONS = ("float32", "mixed_bfloat16")


def train_and_score(root: Path, precision: str, epochs: int, size: int, seed: int) -> dict:
    """Train the demo recipe in `precision` under root/<precision>; return its scores."""
    from flexseg.config.loader import config_from_dict
    from flexseg.demo import demo_config
    from flexseg.evaluate import evaluate_run
    from flexseg.train.fit import train

    settings = demo_config(epochs, minutes=120.0, seed=seed)
    settings["model"]["input_shape"] = [size, size, 3]
    settings["data"]["root"] = str(root / "data")
    settings["train"]["run_dir"] = str(root / f"{precision}_seed{seed}")
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
        "seed": seed,
        "epochs": len(epochs_run),
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / max(len(epochs_run), 1),
        "best_val_fg_miou": max(row["val_fg_miou"] for row in epochs_run),
        "test_miou_foreground": scores["miou_foreground"],
        "test_iou": scores.get("iou", {}),
    }


def gaps(results: list[dict], key: str) -> list[float]:
    """bfloat16 minus float32, per seed."""
    by_run = {(r["seed"], r["precision"]): r[key] for r in results}
    seeds = sorted({r["seed"] for r in results})
    return [by_run[seed, PRECISIONS[1]] - by_run[seed, PRECISIONS[0]] for seed in seeds]


def verdict(results: list[dict]) -> dict:
    """Mean bfloat16-minus-float32 gaps with a 95% interval (Student's t over the seeds);
    parity when the mean validation gap is within TOLERANCE. The interval says what that
    supports: containing 0, no difference is detected; inside +-TOLERANCE, equivalence."""
    validation, test = gaps(results, "best_val_fg_miou"), gaps(results, "test_miou_foreground")
    summary = summarize(validation)
    error, interval = summary["standard_error"], summary["interval_95"]
    seconds = {p: mean([r["seconds_per_epoch"] for r in results if r["precision"] == p])
               for p in PRECISIONS}  # fmt: skip
    return {
        "val_gaps": validation,
        "mean_val_gap": mean(validation),
        "val_gap_standard_error": error,
        "val_gap_interval_95": interval,
        "difference_detected": summary["difference_detected"],
        "equivalence_shown": interval is not None
        and -TOLERANCE <= interval[0] <= interval[1] <= TOLERANCE,
        "mean_test_gap": mean(test),
        "mean_seconds_per_epoch_gap": seconds[PRECISIONS[1]] - seconds[PRECISIONS[0]],
        "speed_up_per_epoch": seconds[PRECISIONS[0]] / seconds[PRECISIONS[1]],
        "parity": abs(mean(validation)) <= TOLERANCE,
    }


def merge(reports: list[tuple[Path, dict]]) -> dict:
    """One report of several earlier ones (path, report) run with different seeds: their
    runs together, the first one's machine, every command kept. ValueError, naming the file,
    where the backend or a setting other than the seeds differs, or a seed repeats."""
    (first_path, first), *others = reports
    merged = {**first, "results": list(first["results"]), "commands": [first["command"]]}
    same = ("epochs", "count", "size")
    for path, report in others:
        if report["backend"] != first["backend"]:
            raise ValueError(
                f"{path} ran on {report['backend']}, {first_path} on {first['backend']}; "
                "merge runs of one backend."
            )
        for key in same:
            if report["settings"][key] != first["settings"][key]:
                raise ValueError(
                    f"{path} has {key}={report['settings'][key]}, {first_path} "
                    f"{key}={first['settings'][key]}; merge runs of the same settings."
                )
        repeated = set(report["settings"]["seeds"]) & set(merged["settings"]["seeds"])
        if repeated:
            raise ValueError(f"{path} repeats seeds {sorted(repeated)}; merge distinct seeds.")
        merged["settings"] = {
            **merged["settings"],
            "seeds": merged["settings"]["seeds"] + report["settings"]["seeds"],
        }
        merged["results"] += report["results"]
        merged["commands"].append(report["command"])
    return merged


def table(report: dict) -> str:
    s, v = report["settings"], report["verdict"]
    lines = [
        f"Backend {report['backend']}, {report['machine']['cpu']} ({report['machine']['cores']} "
        f"cores). The demo's recipe: flexunet_cpu_demo, {s['count']} synthetic images of "
        f"{s['size']}x{s['size']}, {s['epochs']} epochs, seeds {', '.join(map(str, s['seeds']))}; "
        "the last model of each run scored on the test split by flexseg's evaluator.",
        "",
        "| seed | precision | s/epoch | best val fg mIoU | vs float32 | test fg mIoU "
        "| vs float32 |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    reference = {r["seed"]: r for r in report["results"] if r["precision"] == PRECISIONS[0]}
    for r in report["results"]:
        base = reference[r["seed"]]
        lines.append(
            f"| {r['seed']} | {r['precision']} | {r['seconds_per_epoch']:.1f} | "
            f"{r['best_val_fg_miou']:.3f} | "
            f"{r['best_val_fg_miou'] - base['best_val_fg_miou']:+.3f} | "
            f"{r['test_miou_foreground']:.3f} | "
            f"{r['test_miou_foreground'] - base['test_miou_foreground']:+.3f} |"
        )
    lines += [
        "",
        f"Mean over the seeds, bfloat16 minus float32: validation {v['mean_val_gap']:+.3f}"
        + (
            f" (standard error {v['val_gap_standard_error']:.3f})"
            if v["val_gap_standard_error"] is not None
            else ""
        )
        + ", "
        f"test {v['mean_test_gap']:+.3f}, "
        f"seconds per epoch {v['mean_seconds_per_epoch_gap']:+.1f}.",
        f"Validation mIoU within {TOLERANCE} of float32's on average: "
        f"{'yes' if v['parity'] else 'no'}.",
    ]
    if v.get("val_gap_interval_95"):
        low, high = v["val_gap_interval_95"]
        supports = (
            "it excludes 0: a difference is detected"
            if v["difference_detected"]
            else "it includes 0: no difference is detected at this sample size"
        )
        shown = "inside" if v["equivalence_shown"] else "not inside"
        lines.append(
            f"95% interval of the mean validation gap (t, {len(v['val_gaps']) - 1} degrees of "
            f"freedom): [{low:+.3f}, {high:+.3f}]; {supports}, and the interval is {shown} "
            f"+-{TOLERANCE}, so equivalence within {TOLERANCE} is "
            f"{'shown' if v['equivalence_shown'] else 'not shown'}. bfloat16 trains "
            f"{v['speed_up_per_epoch']:.2f}x faster per epoch."
        )
    if len(report.get("commands", [])) > 1:
        lines.append("Runs merged from: " + "; ".join(report["commands"]) + ".")
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
    parser.add_argument(
        "--seeds", type=seed_list, default=[0], help="comma-separated seeds of data and training"
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="2 epochs on 12 images of 32 px")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        help="train nothing: recompute the verdict and tables of this earlier --json, or of "
        "several of one backend and settings with different seeds, merged",
    )
    args = parser.parse_args(argv)
    if args.report:
        import json

        from benchmarks.machine import publish

        try:
            report = merge([(path, json.loads(path.read_text())) for path in args.report])
        except ValueError as error:
            parser.error(f"--report: {error}")
        report["verdict"] = verdict(report["results"])
        report["verdict_by"] = "python -m benchmarks.precision " + " ".join(
            argv if argv else sys.argv[1:]
        )
        publish(report, table(report), args.json, args.markdown)
        return 0
    if args.smoke:
        args.epochs, args.count, args.size = 2, 12, 32

    import keras

    from benchmarks.machine import describe_machine, publish
    from flexseg.data.synthetic import write_dataset

    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as temporary:
            root = Path(temporary)
            write_dataset(root / "data", size=args.size, count=args.count, seed=seed)
            for precision in PRECISIONS:
                results.append(train_and_score(root, precision, args.epochs, args.size, seed))
                r = results[-1]
                print(
                    f"seed {seed} {precision:15s} {r['seconds_per_epoch']:6.1f} s/epoch  best val "
                    f"fg mIoU {r['best_val_fg_miou']:.3f}  test fg mIoU "
                    f"{r['test_miou_foreground']:.3f}",
                    flush=True,
                )
    report = {
        "benchmark": "mixed-precision parity",
        "command": "python -m benchmarks.precision " + " ".join(argv if argv else sys.argv[1:]),
        "backend": keras.backend.backend(),
        "settings": {k: getattr(args, k) for k in ("epochs", "count", "size", "seeds")},
        "tolerance": TOLERANCE,
        "verdict": verdict(results),
        "machine": describe_machine(),
        "results": results,
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
