"""A Keras training step on JAX under its profiler: the time of each operation of the
compiled step (XLA's thunks) on the threads that ran it, grouped by what the optimized HLO
says each one is (a convolution, a matrix product, a layout copy) and where it came from
(JAX names backward-pass ops `transpose(jvp(...))`, and Keras's optimizer scope `adam/`)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.profiling import OTHER
from benchmarks.profiling.step import summary, warmed_up_step
from benchmarks.profiling.xplane import host_events

COMPUTATION = re.compile(r"^(?:ENTRY )?%(?P<name>[\w.\-]+) \(.*\{$")
INSTRUCTION = re.compile(r"^\s+(?:ROOT )?%(?P<name>[\w.\-]+) = .*? (?P<opcode>[a-z][\w\-]*)\(")
CALLS = re.compile(r"(?:calls|to_apply)=%(?P<name>[\w.\-]+)")
OP_NAME = re.compile(r'op_name="(?P<op_name>[^"]*)"')
LAYOUT = {"parameter", "constant", "copy", "transpose", "bitcast", "convert", "reshape",
          "concatenate", "slice", "dynamic-slice", "dynamic-update-slice", "pad", "broadcast",
          "tuple", "get-tuple-element", "fusion", "iota", "reverse"}  # fmt: skip


def hlo_instructions(text: str) -> dict[str, tuple[set[str], str]]:
    """For each instruction of an optimized HLO module's text: the opcodes it runs (those of
    the computations it calls included) and its `op_name`."""
    bodies: dict[str, list[tuple[str, str, list[str], str]]] = {}
    current = None
    for line in text.splitlines():
        if match := COMPUTATION.match(line):
            current = bodies.setdefault(match["name"], [])
        elif current is not None and (match := INSTRUCTION.match(line)):
            op_name = OP_NAME.search(line)
            calls = [m["name"] for m in CALLS.finditer(line)]
            current.append(
                (match["name"], match["opcode"], calls, op_name["op_name"] if op_name else "")
            )

    def opcodes(computation: str, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for _, opcode, calls, _ in bodies.get(computation, []):
            found.add(opcode)
            for called in calls:
                if called not in seen:
                    seen.add(called)
                    found |= opcodes(called, seen)
        return found

    result = {}
    for body in bodies.values():
        for name, opcode, calls, op_name in body:
            runs = {opcode}
            for called in calls:
                runs |= opcodes(called, {called})
            result[name] = (runs, op_name)
    return result


def group_of(opcodes: set[str], op_name: str, optimizer: str = "adam") -> str:
    """The group of one compiled operation.

    >>> group_of({"convolution"}, "jit(train_step)/transpose(jvp(conv1))/conv_general_dilated")
    'convolution backward'
    """
    if f"/{optimizer}/" in op_name:
        return "Adam update"
    if "convolution" in opcodes:
        # JAX names the backward pass "transpose(jvp(...))". A convolution XLA rewrote has lost
        # its name: on a CPU those are the kernel gradients, which XLA puts in its own layout.
        backward = "transpose(" in op_name or not op_name
        return "convolution backward" if backward else "convolution forward"
    if "dot" in opcodes:
        return "matrix products"
    if opcodes <= LAYOUT:
        return "copies and casts"
    return OTHER


def measure(model: str, size: int, batch: int, precision: str, speedups: bool) -> dict:
    """Runs inside the JAX backend, in a fresh process (XLA's dump of the compiled step must
    be asked for before JAX starts): one profiled training step."""
    if "jax" in sys.modules:
        raise RuntimeError("jax_ops.measure must run before JAX is imported (a fresh process)")
    dump = Path(tempfile.mkdtemp(prefix="flexseg-hlo-"))
    dump_flags = f"--xla_dump_to={dump} --xla_dump_hlo_as_text --xla_dump_hlo_module_re=train_step"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {dump_flags}"
    os.environ["JAX_ENABLE_COMPILATION_CACHE"] = "false"  # a cached step is not compiled: no dump
    try:
        import jax

        train_step, applied, wall_ms = warmed_up_step(model, size, batch, precision, speedups)
        with tempfile.TemporaryDirectory() as trace_dir:
            jax.profiler.start_trace(trace_dir)
            train_step()
            jax.profiler.stop_trace()
            events = [e for e in host_events(trace_dir) if "hlo_op" in e.stats]
        # the step's own operations (not, say, a conversion of the logs it returns)
        events = [e for e in events if "train_step" in str(e.stats.get("hlo_module"))]
        modules: dict[int, dict] = {}
        operations = []  # (event, the HLO instructions of its program)
        for event in events:
            program = int(event.stats.get("program_id") or 0)
            if program not in modules:
                texts = list(dump.glob(f"module_{program:04d}.*after_optimizations.txt"))
                if not texts:
                    module = event.stats.get("hlo_module")
                    raise RuntimeError(f"XLA dumped no optimized HLO of {module} into {dump}")
                modules[program] = hlo_instructions(texts[0].read_text())
            operations.append((event, modules[program]))
    finally:
        shutil.rmtree(dump, ignore_errors=True)
    ops: dict[str, float] = {}
    groups: dict[str, float] = {}
    for event, instructions in operations:
        name = event.stats["hlo_op"]
        if name not in instructions:
            raise RuntimeError(f"{name} ran in {event.stats.get('hlo_module')}, but its HLO has "
                               "no such instruction")  # fmt: skip
        opcodes, op_name = instructions[name]
        kind = re.sub(r"\.\d+$", "", name)  # convolution.15 -> convolution
        ops[kind] = ops.get(kind, 0.0) + event.ms
        group = group_of(opcodes, op_name)
        groups[group] = groups.get(group, 0.0) + event.ms
    return summary(ops, groups, applied, wall_ms)
