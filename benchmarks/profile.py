"""Where a Keras training step on torch spends its time: torch.profiler, ops grouped by kind.

    python -m benchmarks.profile --json benchmarks/results/profile_torch_cpu.json \\
        --markdown benchmarks/results/profile_torch_cpu.md
    python -m benchmarks.profile --smoke     # a tiny model, one step: every code path

One process per case (torch backend), in turn: flexseg's model as `flexseg train` runs it
(with `flexseg.run.torch_speedups`) and the same on Keras's own code paths ("plain"), in
float32 and mixed bfloat16. After warm-up steps, one `train_on_batch` is profiled; each op's
own CPU time (not counting the ops it calls) goes to one group: convolutions forward and
backward, Adam's update (every op under a multi-tensor `_foreach` op: Keras's step and
flexseg's in-place one are written with them), copies and casts, matrix products, and the
rest. The ten most expensive ops are listed too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.machine import describe_machine, publish, run_json_worker

GROUPS = {
    "convolution forward": ("aten::mkldnn_convolution", "aten::_convolution"),
    "convolution backward": ("aten::convolution_backward",),
    "Adam update": ("aten::_foreach",),  # and every op these call
    "copies and casts": ("aten::copy_", "aten::clone", "aten::contiguous", "aten::_to_copy"),
    "matrix products": ("aten::bmm", "aten::mm", "aten::addmm"),
}
OTHER = "element-wise, reductions and the rest"


def group_of(event) -> str:
    """The group of a profiled op: Adam's when a multi-tensor (_foreach) op called it, else by
    its own name's prefix."""
    parent = event
    while parent is not None:
        if parent.name.startswith(GROUPS["Adam update"]):
            return "Adam update"
        parent = parent.cpu_parent
    for group, prefixes in GROUPS.items():
        if event.name.startswith(prefixes):
            return group
    return OTHER


def measure(model: str, size: int, batch: int, precision: str, speedups: bool) -> dict:
    """Runs inside the torch backend: one profiled training step."""
    import keras
    import numpy as np
    from torch.profiler import ProfilerActivity, profile

    import flexseg
    from flexseg.run.torch_speedups import speed_up
    from flexseg.runtime import speed_up_process

    speed_up_process()
    if precision != "float32":
        keras.mixed_precision.set_global_policy(f"mixed_{precision}")
    keras.utils.set_random_seed(0)
    built = flexseg.build(model, input_shape=(size, size, 3))
    built.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    built.optimizer.build(built.trainable_variables)
    applied = speed_up(built) if speedups else []
    rng = np.random.default_rng(0)
    images = keras.ops.convert_to_tensor(rng.uniform(0, 255, (batch, size, size, 3)), "float32")
    classes = built.output_shape[-1]
    labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, (batch, size, size))]
    labels = keras.ops.convert_to_tensor(labels)
    for _ in range(3):
        built.train_on_batch(images, labels)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        built.train_on_batch(images, labels)
    ops = {e.key: e.self_cpu_time_total / 1000 for e in profiled.key_averages()}
    groups: dict[str, float] = {}
    for event in profiled.events():
        group = group_of(event)
        groups[group] = groups.get(group, 0.0) + event.self_cpu_time_total / 1000
    top = sorted(ops.items(), key=lambda item: -item[1])[:10]
    return {"speedups": applied, "total_ms": sum(ops.values()), "groups_ms": groups,
            "top_ops_ms": dict(top)}  # fmt: skip


def table(report: dict) -> str:
    s, machine = report["settings"], report["machine"]
    lines = [
        f"Device: {machine['cpu']}, {machine['cores']} cores. {s['model']}, {s['size']}x"
        f"{s['size']}x3, batch {s['batch']}, torch backend: one training step under "
        "torch.profiler after 3 warm-up steps; each op's own CPU time, grouped (ms and share "
        "of the step). flexseg: with flexseg.run.torch_speedups; plain: Keras's own code.",
        "",
    ]
    cases = [c for c in report["cases"] if "error" not in c]
    names = [f"{c['label']}" for c in cases]
    lines += ["| group | " + " | ".join(names) + " |", "|---|" + "---:|" * len(cases)]
    for group in [*GROUPS, OTHER]:
        cells = []
        for c in cases:
            ms = c["groups_ms"].get(group, 0.0)
            cells.append(f"{ms:.0f} ({100 * ms / c['total_ms']:.0f}%)")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines.append("| **step** | " + " | ".join(f"**{c['total_ms']:.0f}**" for c in cases) + " |")
    for c in report["cases"]:
        if "error" in c:
            lines += ["", f"{c['label']}: failed: {c['error'][:200]}"]
            continue
        ops = ", ".join(f"{op} {ms:.0f}" for op, ms in c["top_ops_ms"].items())
        lines += ["", f"{c['label']}, the ten most expensive ops (ms): {ops}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="flexunet_mvtec_screw", help="preset or architecture")
    parser.add_argument("--size", type=int, default=256, help="input side (default 256)")
    parser.add_argument("--batch", type=int, default=2, help="batch size (default 2)")
    parser.add_argument("--precisions", default="float32,bfloat16", help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="tiny model, for CI")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.model, args.size, args.precisions = "flexunet_tiny", 32, "float32"
    if args.worker:
        print(json.dumps(measure(**json.loads(args.worker))))
        return 0
    settings = {"model": args.model, "size": args.size, "batch": args.batch}
    cases = []
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        for speedups in (True, False):
            task = {**settings, "precision": precision, "speedups": speedups}
            label = f"{'flexseg' if speedups else 'plain'} {precision}"
            command = [sys.executable, "-m", "benchmarks.profile", "--worker", json.dumps(task)]
            result = run_json_worker(command, "torch")
            cases.append({"label": label, **({} if "error" in result else task), **result})
            print(f"{label}: {cases[-1].get('total_ms', 'failed')}", flush=True)
    report = {
        "benchmark": "torch training-step profile",
        "command": "python -m benchmarks.profile " + " ".join(argv or sys.argv[1:]),
        "settings": settings,
        "machine": describe_machine(),
        "cases": cases,
    }
    publish(report, table(report), args.json, args.markdown)
    return 1 if any("error" in c for c in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
