"""A Keras training step on TensorFlow under its profiler: each op kernel's time on the
executor's threads, grouped by the op's type and the graph node's name scope."""

from __future__ import annotations

import re
import tempfile

from benchmarks.profiling import OTHER
from benchmarks.profiling.step import summary, warmed_up_step
from benchmarks.profiling.xplane import Event, host_events

OP_EVENT = re.compile(r"^(?P<node>[^:]+):(?P<type>[^:]+)$")  # "scope/name:OpType"
LAYOUT = ("Cast", "Transpose", "Identity", "Tile", "ConcatV2", "Slice", "StridedSlice",
          "SpaceToBatchND", "BatchToSpaceND", "Reshape", "Pad", "Split", "SplitV",
          "_MklToTf", "_MklInputConversion")  # fmt: skip
MATRIX = ("MatMul", "BatchMatMul", "Einsum")


def group_of(node: str, op_type: str, optimizer: str = "adam") -> str:
    """The group of one executed op: the optimizer's name scope first, then its type; a
    convolution under the gradient tape is a backward one.

    >>> group_of("gradient_tape/model/conv/Conv2DBackpropFilter", "_MklNativeConv2DBackpropFilter")
    'convolution backward'
    """
    if node.startswith(f"{optimizer}/"):
        return "Adam update"
    if "Conv2D" in op_type:
        return (
            "convolution backward" if node.startswith("gradient_tape/") else "convolution forward"
        )
    if op_type.removeprefix("_Mkl").removeprefix("Native").removeprefix("Fused") in MATRIX:
        return "matrix products"
    if op_type in LAYOUT:
        return "copies and casts"
    return OTHER


def op_events(events: list[Event]) -> list[tuple[str, str, float]]:
    """(node, op type, ms) for each op kernel the executor ran."""
    found = []
    for event in events:
        match = OP_EVENT.match(event.name)
        if match and event.line.startswith("tf_Compute"):
            found.append((match["node"], match["type"], event.ms))
    return found


def measure(model: str, size: int, batch: int, precision: str, speedups: bool) -> dict:
    """Runs inside the TensorFlow backend: one profiled training step."""
    import tensorflow as tf

    train_step, applied, wall_ms = warmed_up_step(model, size, batch, precision, speedups)
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        train_step()
        tf.profiler.experimental.stop()
        events = host_events(trace_dir)
    ops: dict[str, float] = {}
    groups: dict[str, float] = {}
    for node, op_type, ms in op_events(events):
        ops[op_type] = ops.get(op_type, 0.0) + ms
        group = group_of(node, op_type)
        groups[group] = groups.get(group, 0.0) + ms
    return summary(ops, groups, applied, wall_ms)
