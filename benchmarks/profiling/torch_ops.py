"""A Keras training step on torch under torch.profiler: each op's own CPU time (not counting
the ops it calls), grouped; every op under a multi-tensor `_foreach` op counts as Adam's
update (Keras's step and flexseg's in-place one are written with them)."""

from __future__ import annotations

from benchmarks.profiling import OTHER
from benchmarks.profiling.step import summary, warmed_up_step

PREFIXES = {
    "convolution forward": ("aten::mkldnn_convolution", "aten::_convolution"),
    "convolution backward": ("aten::convolution_backward",),
    "Adam update": ("aten::_foreach",),  # and every op these call
    "copies and casts": ("aten::copy_", "aten::clone", "aten::contiguous", "aten::_to_copy"),
    "matrix products": ("aten::bmm", "aten::mm", "aten::addmm"),
}


def group_of(event) -> str:
    """The group of a profiled op: Adam's when a multi-tensor (_foreach) op called it, else by
    its own name's prefix."""
    parent = event
    while parent is not None:
        if parent.name.startswith(PREFIXES["Adam update"]):
            return "Adam update"
        parent = parent.cpu_parent
    for group, prefixes in PREFIXES.items():
        if event.name.startswith(prefixes):
            return group
    return OTHER


def measure(model: str, size: int, batch: int, precision: str, speedups: bool) -> dict:
    """Runs inside the torch backend: one profiled training step."""
    from torch.profiler import ProfilerActivity, profile

    train_step, applied, wall_ms = warmed_up_step(model, size, batch, precision, speedups)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        train_step()
    ops = {e.key: e.self_cpu_time_total / 1000 for e in profiled.key_averages()}
    groups: dict[str, float] = {}
    for event in profiled.events():
        group = group_of(event)
        groups[group] = groups.get(group, 0.0) + event.self_cpu_time_total / 1000
    return summary(ops, groups, applied, wall_ms)
