"""Training and inference speed of one model definition on TensorFlow, JAX and PyTorch.

    python -m benchmarks.backends --models flexunet_mvtec_screw --size 256 --batch 2 \\
        --json benchmarks/results/backends_cpu.json --markdown benchmarks/results/backends_cpu.md
    python -m benchmarks.backends --smoke     # CI: a tiny model, two steps, under a minute

Each backend, implementation and variant runs in its own subprocess (`benchmarks.worker`).
Per run: training-step time (median and spread after warm-up; compilation reported apart),
inference ms/image and images/s, peak host and GPU memory, achieved FLOP/s from the model's
multiply-accumulate count (a training step counted as 3x the forward pass), and that as a
fraction of the fastest fp32 matrix product measured in the same run. Raw references (the
same FlexUNet in plain PyTorch and plain JAX, same shapes and initial weights) give the
Keras overhead of each backend as a ratio.

With --rounds N every measurement runs N times, round by round (all of round 1, then all of
round 2), and each Keras/raw ratio is taken within one round: a ratio near a target is then
reported with its spread rather than from one draw of a noisy machine.
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
from benchmarks.markdown import backends_table

BACKENDS = ("tensorflow", "jax", "torch")
RAW_BACKENDS = ("jax", "torch")
PRECISIONS = ("float32", "bfloat16", "float16")
JIT_MODES = ("auto", "on", "off")


def parse_variants(text: str) -> list[tuple[str | None, str, str]]:
    """'auto:float32,torch/off:bfloat16' -> [(None, "auto", "float32"), ("torch", "off", ...)].

    A variant applies to every backend, or to one when prefixed with `BACKEND/`.
    """
    variants = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        backend, _, rest = item.rpartition("/")
        jit, _, precision = rest.partition(":")
        if jit not in JIT_MODES or precision not in PRECISIONS or backend not in ("", *BACKENDS):
            raise ValueError(
                f"variant {item!r}: expected [BACKEND/]JIT:PRECISION with JIT one of "
                f"{JIT_MODES}, PRECISION one of {PRECISIONS} and BACKEND one of {BACKENDS}, "
                "e.g. auto:float32 or torch/on:bfloat16."
            )
        variants.append((backend or None, jit, precision))
    if not variants:
        raise ValueError("--variants is empty; e.g. --variants auto:float32,auto:bfloat16.")
    return variants


def raw_jit(backend: str, jit: str) -> str | None:
    """The raw reference that matches a Keras run, or None where there is none.

    Torch: Keras's "auto" is eager, so is its reference; "on" means torch.compile for both.
    JAX: the raw reference is always jitted, so eager Keras ("off") has none.
    """
    if backend == "torch":
        return "on" if jit == "on" else "off"
    if backend == "jax":
        return None if jit == "off" else jit
    return None


def implementations(raw: bool) -> tuple[str, ...]:
    """What runs per variant on every backend: flexseg's Keras model, "keras-plain" the same
    without flexseg.run.speedups (what Keras alone does), and the raw reference."""
    return ("keras", "keras-plain", "raw") if raw else ("keras", "keras-plain")


def plan(args) -> list[dict]:
    """Every worker task, in run order: per backend, Keras variants then raw references."""
    tasks = []
    for backend in args.backends:
        first = True
        for model in args.models:
            for only, jit, precision in args.variants:
                if only not in (None, backend):
                    continue
                for impl in implementations(args.raw):
                    if impl == "raw" and raw_jit(backend, jit) is None:
                        continue
                    task = {
                        "backend": backend,
                        "impl": impl,
                        "model": model,
                        "size": args.size,
                        "batch": args.batch,
                        "steps": args.steps,
                        "warmup": args.warmup,
                        "jit": raw_jit(backend, jit) if impl == "raw" else jit,
                        "precision": precision,
                    }
                    if task in tasks:
                        continue  # e.g. torch's eager reference serves both auto and off
                    spread = {**task, "distribution": "data_parallel"}
                    if first:
                        task["peak"] = ["float32", "bfloat16"]
                        task["peak_size"] = args.peak_size
                        first = False
                    tasks.append(task)
                    if args.data_parallel and impl == "keras" and backend != "torch":
                        tasks.append(spread)  # Keras 3.15 has no distribution on torch
    return tasks


def run_worker(tasks: list[dict], timeout: float) -> list[dict]:
    """Run tasks of one backend in one subprocess; a failure is recorded on each task."""
    backend = tasks[0]["backend"]
    environment = dict(os.environ, KERAS_BACKEND=backend)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # peak memory, not a pool
    environment.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        command = [sys.executable, "-m", "benchmarks.worker", "--tasks", json.dumps(tasks)]
        started = time.perf_counter()
        try:
            finished = subprocess.run(
                [*command, "--out", str(out)],
                env=environment,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return [_failed(task, f"timed out after {timeout:g} s") for task in tasks]
        wall = time.perf_counter() - started
        if finished.returncode != 0 or not out.is_file():
            lines = [line.strip() for line in finished.stderr.splitlines() if line.strip()]
            return [_failed(task, " | ".join(lines[-2:])) for task in tasks]
        results = json.loads(out.read_text())
    for result in results:
        result["worker_wall_s"] = wall
    return results


def _failed(task: dict, reason: str) -> dict:
    return {"task": task, "backend": task["backend"], "error": reason}


def add_ratios(results: list[dict]) -> None:
    """Fraction of the best fp32 matmul peak, and Keras time over raw time per backend."""
    peaks = [
        r["matmul_flops_per_second"]["float32"] for r in results if "matmul_flops_per_second" in r
    ]
    device_peak = max(peaks) if peaks else None
    raw = {
        (r.get("round", 1), r["backend"], r["task"]["model"], r["task"]["precision"],
         r["task"]["jit"]): r
        for r in results
        if r["task"]["impl"] == "raw" and "train" in r
    }  # fmt: skip
    for r in results:
        if "train" not in r:
            continue
        peak = device_peak * r.get("devices", 1) if device_peak else None  # all devices'
        r["fp32_peak_fraction"] = r["train_flops_per_second"] / peak if peak else None
        t = r["task"]
        reference = raw.get(
            (r.get("round", 1), r["backend"], t["model"], t["precision"],
             raw_jit(r["backend"], t["jit"]))
        )  # fmt: skip
        if t["impl"] != "raw" and "distribution" not in t and reference is not None:
            r["vs_raw_train"] = r["train"]["median_ms"] / reference["train"]["median_ms"]
            r["vs_raw_predict"] = r["predict"]["median_ms"] / reference["predict"]["median_ms"]


def rounds_of(groups: list[list[dict]], rounds: int) -> list[list[list[dict]]]:
    """The worker groups once per round; the matrix-product peak is measured in the first
    round only."""
    later = [[{k: v for k, v in t.items() if k not in ("peak", "peak_size")} for t in group]
             for group in groups]  # fmt: skip
    return [groups] + [later] * (rounds - 1)


def _progress_line(result: dict) -> str:
    task = result["task"]
    round_ = result.get("round", 1)
    label = (
        f"{f'round {round_}: ' if round_ > 1 else ''}{task['backend']:10s} "
        f"{task['impl']:5s} {task['model']} jit={task['jit']} "
        f"{task['precision']}{' data-parallel' if 'distribution' in task else ''}"
    )
    if "error" in result:
        return f"{label}: FAILED: {result['error']}"
    return (
        f"{label}: train {result['train']['median_ms']:.1f} ms/step, "
        f"infer {result['predict_ms_per_image']:.1f} ms/image"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.backends",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", default="flexunet_mvtec_screw", help="comma-separated")
    parser.add_argument("--size", type=int, default=256, help="input side (default 256)")
    parser.add_argument("--batch", type=int, default=2, help="batch size (default 2)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after the first")
    parser.add_argument(
        "--variants",
        default="auto:float32,off:float32,auto:bfloat16",
        help="[BACKEND/]JIT:PRECISION list; JIT auto (Keras's choice: XLA on TensorFlow and "
        "JAX, eager on torch), on (torch: torch.compile) or off; PRECISION float32, bfloat16 "
        "or float16 (mixed precision); a BACKEND/ prefix limits a variant to that backend",
    )
    parser.add_argument("--no-raw", dest="raw", action="store_false", help="skip raw references")
    parser.add_argument(
        "--data-parallel",
        action="store_true",
        help="also run each Keras variant data-parallel over every local device (JAX and "
        "TensorFlow; --batch is the global batch)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every measurement this many times, round by round; ratios are taken "
        "within a round and reported with their spread (default 1)",
    )
    parser.add_argument("--peak-size", type=int, default=None, help="matmul side for the peak")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per subprocess")
    parser.add_argument("--json", type=Path, help="write all results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 2 steps: for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.size, args.batch = "flexunet_tiny", 32, 1
        args.steps, args.warmup, args.variants, args.peak_size = 2, 0, "auto:float32", 256
    try:
        args.models = [m.strip() for m in args.models.split(",") if m.strip()]
        args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = sorted(set(args.backends) - set(BACKENDS))
        if unknown:
            raise ValueError(f"--backends: unknown {unknown}; choose from {', '.join(BACKENDS)}.")
        args.variants = parse_variants(args.variants)
        if args.rounds < 1:
            raise ValueError(f"--rounds must be 1 or more; got {args.rounds}.")
    except ValueError as error:
        parser.error(str(error))
    tasks = plan(args)
    if args.smoke:  # one process per backend: fewer interpreter and framework start-ups
        groups = [[t for t in tasks if t["backend"] == b] for b in args.backends]
    else:  # one process per measurement: each peak-memory figure is that measurement's own
        groups = [[task] for task in tasks]
    results = []
    for round_, round_groups in enumerate(rounds_of(groups, args.rounds), start=1):
        for group in round_groups:
            for result in run_worker(group, args.timeout):
                result["round"] = round_
                results.append(result)
                print(_progress_line(result), flush=True)
    add_ratios(results)
    report = {
        "benchmark": "backends",
        "command": "python -m benchmarks.backends " + " ".join(argv or sys.argv[1:]),
        "settings": {
            "models": args.models,
            "size": args.size,
            "batch": args.batch,
            "steps": args.steps,
            "warmup": args.warmup,
            "rounds": args.rounds,
        },
        "machine": describe_machine(),
        "results": results,
    }
    table = backends_table(report)
    publish(report, table, args.json, args.markdown)
    failed = [r for r in results if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
