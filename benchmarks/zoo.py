"""Every registered architecture, default settings, at two sizes: builds and trains a step.

    python -m benchmarks.zoo --json benchmarks/results/zoo_cpu.json \\
        --markdown benchmarks/results/zoo_cpu.md
    python -m benchmarks.zoo --models unet,swin_unet --sizes 128 --backends jax

Each backend runs in its own subprocess (KERAS_BACKEND set). Per architecture and size:
build `flexseg.build(name, num_classes=6, input_shape=(size, size, 3))` with its default
settings, run one `train_on_batch` step (Adam, categorical cross-entropy, batch 1, random
pixels and labels), and record parameters, MACs, build time, the step's time (compilation
included) and its loss. One architecture failing does not stop the others.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe_machine, publish

BACKENDS = ("tensorflow", "jax", "torch")


def check_one(name: str, size: int, num_classes: int) -> dict:
    """Runs inside one backend: build, count, train one step."""
    import keras

    import flexseg
    from flexseg.models.catalogue.macs import count_macs

    keras.utils.set_random_seed(0)
    result = {"backend": keras.backend.backend(), "model": name, "size": size}
    try:
        started = time.perf_counter()
        model = flexseg.build(name, num_classes=num_classes, input_shape=(size, size, 3))
        result["build_s"] = time.perf_counter() - started
        result["params"] = model.count_params()
        result["gmacs"] = count_macs(model).total / 1e9
        rng = np.random.default_rng(0)
        images = rng.uniform(0, 255, (1, size, size, 3)).astype("float32")
        labels = np.eye(num_classes, dtype="float32")[rng.integers(0, num_classes, (1, size, size))]
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        started = time.perf_counter()
        loss = float(np.asarray(model.train_on_batch(images, labels)))
        result["step_s"] = time.perf_counter() - started
        result["loss"] = loss
        result["ok"] = bool(np.isfinite(loss)) and model.output_shape == (
            None,
            size,
            size,
            num_classes,
        )
    except Exception as error:  # reported in the table, the other models still run
        result["ok"] = False
        result["error"] = f"{type(error).__name__}: {error}"[:300]
    return result


def table(report: dict) -> str:
    machine = report["machine"]
    device = ", ".join(machine.get("gpus") or []) or f"{machine['cpu']}, {machine['cores']} cores"
    lines = [
        f"Device: {device}. Default settings, {report['settings']['num_classes']} classes, "
        "batch 1; one training step (Adam, categorical cross-entropy). Step time includes "
        "compilation; it is a check, not a speed measurement.",
        "",
        "| architecture | size | backend | parameters | GMACs | build s | first step s "
        "| loss | ok |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        if "error" in r or "params" not in r:
            error = r.get("error", "no result").replace("|", "/")
            lines.append(
                f"| {r['model']} | {r['size']} | {r['backend']} | | | | | | failed: {error} |"
            )
            continue
        step = f"{r['step_s']:.1f}" if "step_s" in r else ""
        loss = f"{r['loss']:.3f}" if "loss" in r else ""
        lines.append(
            f"| {r['model']} | {r['size']} | {r['backend']} | {r['params']:,} | "
            f"{r['gmacs']:.2f} | {r['build_s']:.1f} | {step} | {loss} | "
            f"{'yes' if r['ok'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.zoo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", help="comma-separated architectures (default: all)")
    parser.add_argument("--sizes", default="128,256", help="comma-separated (default 128,256)")
    parser.add_argument("--num-classes", type=int, default=6, help="classes (default 6)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per backend")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: expected integers such as 128,256; got {args.sizes!r}")
    if args.worker:
        import flexseg

        names = args.models.split(",") if args.models else flexseg.list_models()
        for name in names:
            for size in sizes:
                print(json.dumps(check_one(name, size, args.num_classes)), flush=True)
        return 0

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in backends:
        if backend not in BACKENDS:
            parser.error(f"--backends: unknown {backend!r}; choose from {', '.join(BACKENDS)}.")
    results = []
    for backend in backends:
        command = [sys.executable, "-m", "benchmarks.zoo", "--worker", f"--sizes={args.sizes}"]
        command.append(f"--num-classes={args.num_classes}")
        if args.models:
            command.append(f"--models={args.models}")
        environment = dict(os.environ, KERAS_BACKEND=backend)
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as worker:
            started = time.monotonic()
            for line in worker.stdout:
                if not line.startswith("{"):
                    continue
                results.append(json.loads(line))
                r = results[-1]
                status = "ok" if r["ok"] else f"FAILED {r.get('error', '')}"
                print(f"{backend:10s} {r['model']:16s} {r['size']:4d}  {status}", flush=True)
                if time.monotonic() - started > args.timeout:
                    worker.kill()
                    break
            stderr = worker.stderr.read()
        if worker.returncode not in (0, None):
            lines = [line for line in stderr.splitlines() if line.strip()]
            results.append(
                {"backend": backend, "model": "(worker)", "size": 0, "ok": False,
                 "error": f"worker exited with {worker.returncode}: {' / '.join(lines[-2:])}"}
            )  # fmt: skip
    report = {
        "benchmark": "every architecture builds and trains a step",
        "command": "python -m benchmarks.zoo "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {"sizes": sizes, "num_classes": args.num_classes, "models": args.models},
        "machine": describe_machine(),
        "results": results,
    }
    publish(report, table(report), args.json, args.markdown)
    return 0 if results and all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
