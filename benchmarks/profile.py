"""Where a Keras training step spends its time, per backend: the backend's own profiler, ops
grouped by kind.

    python -m benchmarks.profile --backend torch --json benchmarks/results/profile_torch_cpu.json \\
        --markdown benchmarks/results/profile_torch_cpu.md
    python -m benchmarks.profile --backend tensorflow --json ... --markdown ...
    python -m benchmarks.profile --backend jax --json ... --markdown ...
    python -m benchmarks.profile --smoke     # a tiny model, one step: every code path

One process per case, in turn: flexseg's model as `flexseg train` runs it (with the backend's
speed-ups: `flexseg.run.torch_speedups`, `jax_speedups` or `tensorflow_speedups`) and the
same on Keras's own code paths ("plain"). After warm-up steps, one
`train_on_batch` is profiled (torch.profiler, TensorFlow's or JAX's profiler); each op's time
goes to one group: convolutions forward and backward, Adam's update, copies and casts, matrix
products, and the rest. The ten most expensive op kinds are listed too.

Op times are thread times: TensorFlow and XLA run independent ops on both cores at once, so
their sum can exceed the step's wall time, which is reported beside it (an unprofiled step).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from benchmarks.machine import describe_machine, publish, run_json_worker
from benchmarks.profiling import GROUPS

PROFILERS = {
    "torch": "torch.profiler, each op's own CPU time (not counting the ops it calls)",
    "tensorflow": "TensorFlow's profiler, each op kernel's time on the executor's threads",
    "jax": "JAX's profiler, each compiled operation's time on the threads that ran it, "
    "grouped by the optimized HLO",
}
DEFAULT_PRECISIONS = {
    "torch": "float32,bfloat16",
    "tensorflow": "float32,bfloat16",
    "jax": "float32",
}


def measure(backend: str, **task) -> dict:
    """Runs inside the worker process, on `backend`."""
    return importlib.import_module(f"benchmarks.profiling.{backend}_ops").measure(**task)


def table(report: dict) -> str:
    s, machine = report["settings"], report["machine"]
    backend = s.get("backend", "torch")
    lines = [
        f"Device: {machine['cpu']}, {machine['cores']} cores. {s['model']}, {s['size']}x"
        f"{s['size']}x3, batch {s['batch']}, {backend} backend: one training step under "
        f"{PROFILERS[backend]}, after 3 warm-up steps; grouped (ms and share of the ops' "
        "summed time). flexseg: as `flexseg train` runs it; plain: Keras's own code.",
        "",
    ]
    cases = [c for c in report["cases"] if "error" not in c]
    lines += [
        "| group | " + " | ".join(c["label"] for c in cases) + " |",
        "|---|" + "---:|" * len(cases),
    ]
    for group in GROUPS:
        cells = []
        for c in cases:
            ms = c["groups_ms"].get(group, 0.0)
            cells.append(f"{ms:.0f} ({100 * ms / c['total_ms']:.0f}%)")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines.append(
        "| **ops' summed time** | " + " | ".join(f"**{c['total_ms']:.0f}**" for c in cases) + " |"
    )
    if all("wall_ms" in c for c in cases):
        lines.append("| step's wall time, unprofiled (median of 3) | "
                     + " | ".join(f"{c['wall_ms']:.0f}" for c in cases) + " |")  # fmt: skip
    for c in report["cases"]:
        if "error" in c:
            lines += ["", f"{c['label']}: failed: {c['error'][:200]}"]
            continue
        ops = ", ".join(f"{op} {ms:.0f}" for op, ms in c["top_ops_ms"].items())
        lines += ["", f"{c['label']}, the ten most expensive op kinds (ms): {ops}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=sorted(PROFILERS), default="torch",
                        help="the backend to profile (default torch)")  # fmt: skip
    parser.add_argument("--model", default="flexunet_mvtec_screw", help="preset or architecture")
    parser.add_argument("--size", type=int, default=256, help="input side (default 256)")
    parser.add_argument("--batch", type=int, default=2, help="batch size (default 2)")
    parser.add_argument("--precisions", help="comma-separated (default: float32,bfloat16; "
                        "float32 on jax, whose CPU bfloat16 is slower)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="tiny model, for CI")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(**json.loads(args.worker))))
        return 0
    precisions = args.precisions or DEFAULT_PRECISIONS[args.backend]
    if args.smoke:
        args.model, args.size, precisions = "flexunet_tiny", 32, "float32"
    settings = {
        "backend": args.backend,
        "model": args.model,
        "size": args.size,
        "batch": args.batch,
    }
    cases = []
    for precision in [p.strip() for p in precisions.split(",") if p.strip()]:
        for speedups in (True, False):
            task = {**settings, "precision": precision, "speedups": speedups}
            label = f"{'flexseg' if speedups else 'plain'} {precision}"
            command = [sys.executable, "-m", "benchmarks.profile", "--worker", json.dumps(task)]
            result = run_json_worker(command, args.backend)
            cases.append({"label": label, **({} if "error" in result else task), **result})
            print(f"{label}: {cases[-1].get('total_ms', 'failed')}", flush=True)
    report = {
        "benchmark": f"{args.backend} training-step profile",
        "command": "python -m benchmarks.profile " + " ".join(argv or sys.argv[1:]),
        "settings": settings,
        "machine": describe_machine(),
        "cases": cases,
    }
    publish(report, table(report), args.json, args.markdown)
    return 1 if any("error" in c for c in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
