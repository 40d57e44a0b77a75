"""The end-to-end demo on each backend: wall time, epochs, precision and test scores per class.

    python -m benchmarks.demo --backends tensorflow,jax,torch \\
        --json benchmarks/results/demo_cpu.json --markdown benchmarks/results/demo_cpu.md
    python -m benchmarks.demo --smoke      # a tiny demo per backend, to test every step

Each backend runs `flexseg.demo.run_demo` (what `make demo` runs) in a process of its own,
one after the other: run it alone on the machine, since the wall times are the result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish

BACKENDS = ("tensorflow", "jax", "torch")


def worker(out: Path, settings: dict) -> dict:
    """One demo in this process (KERAS_BACKEND already set); what it measured."""
    import keras

    from flexseg.demo import run_demo
    from flexseg.runtime import resolve_precision

    started = time.perf_counter()
    scores = run_demo(out, verbose=0, **settings)
    seconds = time.perf_counter() - started
    history = json.loads((out / "run" / "history.json").read_text())["epochs"]
    return {
        "backend": keras.backend.backend(),
        "precision": resolve_precision("auto"),
        "wall_seconds": seconds,
        "epochs": len(history),
        "test_miou_foreground": scores["miou_foreground"],
        "test_iou": dict(zip(scores["classes"], scores["iou"], strict=True)),
    }


def table(report: dict) -> str:
    machine, settings = report["machine"], report["settings"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores. `flexseg demo` with "
        f"{settings['count']} images of {settings['size']}x{settings['size']}, at most "
        f"{settings['epochs']} epochs or {settings['minutes']:g} minutes, seed "
        f"{settings['seed']}; test split scored by flexseg's evaluator.",
        "",
        "| backend | precision | wall time of the demo | epochs | test `miou_foreground` "
        "| worst class IoU |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        # A class absent from the test split has no IoU (None).
        defects = {k: v for k, v in run["test_iou"].items() if k != "background" and v is not None}
        worst = min(defects, key=defects.get) if defects else None
        worst_text = f"{worst} {defects[worst]:.2f}" if worst else "none scored"
        lines.append(
            f"| {run['backend']} | {run['precision']} | {run['wall_seconds'] / 60:.1f} min "
            f"| {run['epochs']} | {run['test_miou_foreground']:.3f} "
            f"| {worst_text} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.demo", description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=8.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny, to test every step")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # write one run here
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.count, args.epochs = 64, 12, 1
    settings = {k: getattr(args, k) for k in ("size", "count", "epochs", "minutes", "seed")}
    if args.worker:
        args.worker.write_text(json.dumps(worker(args.worker.with_suffix(""), settings)))
        return 0
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends {unknown}; known: {', '.join(BACKENDS)}")
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            result = Path(folder) / f"{backend}.json"
            command = [sys.executable, "-m", "benchmarks.demo", "--worker", str(result)]
            command += [f"--{k}={v}" for k, v in settings.items()]
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            runs.append(json.loads(result.read_text()))
    report = {
        "command": "python -m benchmarks.demo " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "settings": settings,
        "runs": runs,
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
