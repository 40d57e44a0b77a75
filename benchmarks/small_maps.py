"""XLA's CPU convolution against `flexseg.run.small_map_conv` (the kernel's windows times the
kernel as one matrix product), per map size: the evidence for the JAX speed-up and for its
`SMALL_MAP_PIXELS` bound.

    KERAS_BACKEND=jax python -m benchmarks.small_maps \\
        --json benchmarks/results/small_maps_cpu.json \\
        --markdown benchmarks/results/small_maps_cpu.md
    KERAS_BACKEND=jax python -m benchmarks.small_maps --smoke    # two small shapes, once each

Shapes: each level of the original's 8-level FlexUNet at 256x256 (16 channels at 256x256,
doubling as the map halves, down to 2048 at 2x2), batch 2, 3x3 kernels, "same" padding,
plus a 1x1 map. Per shape: the forward pass and the gradient with respect to input and
kernel, each jitted, median of --repeats calls after a warm-up; and the largest difference
between the two forward results. Runs on JAX only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe_machine, publish


def flexunet_levels(size: int = 256, base: int = 16, levels: int = 8) -> list[tuple[int, int]]:
    """(map side, channels) of each level of a FlexUNet: the map halves, channels double."""
    return [(size >> level, base << level) for level in range(levels)]


def _median_seconds(function, arguments, repeats: int) -> float:
    import jax

    jax.block_until_ready(function(*arguments))  # compile
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(function(*arguments))
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure(side: int, channels: int, batch: int, repeats: int) -> dict:
    """Forward and gradient seconds of XLA's convolution and of the written-out one."""
    import jax
    import jax.numpy as jnp

    from flexseg.run.small_map_conv import windows_times_kernel

    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.normal(size=(batch, side, side, channels)).astype("float32"))
    kernel = jnp.asarray(rng.normal(size=(3, 3, channels, channels)).astype("float32") * 0.01)

    def xla(x, k):
        numbers = ("NHWC", "HWIO", "NHWC")
        return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=numbers)

    def written_out(x, k):
        return windows_times_kernel(x, k, "same", (1, 1))

    row = {"side": side, "channels": channels, "batch": batch}
    outputs = {}
    for name, convolution in (("xla", xla), ("matrix", written_out)):
        forward = jax.jit(convolution)
        gradient = jax.jit(jax.grad(lambda x, k, c=convolution: jnp.sum(c(x, k) ** 2), (0, 1)))
        outputs[name] = np.asarray(forward(inputs, kernel))
        row[f"{name}_forward_ms"] = 1e3 * _median_seconds(forward, (inputs, kernel), repeats)
        row[f"{name}_gradient_ms"] = 1e3 * _median_seconds(gradient, (inputs, kernel), repeats)
    scale = float(np.abs(outputs["xla"]).max())
    row["max_abs_difference_relative"] = float(
        np.abs(outputs["xla"] - outputs["matrix"]).max() / scale
    )
    macs = batch * side * side * channels * channels * 9
    row["xla_forward_gmacs_per_s"] = macs / row["xla_forward_ms"] / 1e6
    return row


def table(report: dict) -> str:
    machine = report["machine"]
    s = report["settings"]
    lines = [
        f"Device: {machine['cpu']}, {machine['cores']} cores. JAX, float32, 3x3 kernels, "
        f"'same' padding, batch {s['batch']}; median of {s['repeats']} calls after a warm-up. "
        "XLA: jax.lax.conv_general_dilated as Keras calls it; matrix: "
        "flexseg.run.small_map_conv.windows_times_kernel. Gradient: with respect to input "
        f"and kernel. flexseg writes a convolution out when its output has at most "
        f"{s['small_map_pixels']} pixels per image.",
        "",
        "| map | channels | XLA forward ms | XLA GMAC/s | matrix forward ms "
        "| forward XLA / matrix | XLA gradient ms | matrix gradient ms | gradient XLA / matrix "
        "| max relative difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['side']}x{r['side']} | {r['channels']} | {r['xla_forward_ms']:.2f} "
            f"| {r['xla_forward_gmacs_per_s']:.1f} | {r['matrix_forward_ms']:.2f} "
            f"| {r['xla_forward_ms'] / r['matrix_forward_ms']:.2f}x "
            f"| {r['xla_gradient_ms']:.2f} | {r['matrix_gradient_ms']:.2f} "
            f"| {r['xla_gradient_ms'] / r['matrix_gradient_ms']:.2f}x "
            f"| {r['max_abs_difference_relative']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.small_maps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--batch", type=int, default=2, help="images per call (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls (default 5)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="two small shapes, one call each")
    args = parser.parse_args(argv)
    import keras

    if keras.backend.backend() != "jax":
        parser.error("run it with KERAS_BACKEND=jax: it measures XLA's CPU convolution.")
    from flexseg.run.small_map_conv import SMALL_MAP_PIXELS

    shapes = [*flexunet_levels(), (1, 2048)]
    if args.smoke:
        shapes, args.repeats = [(2, 8), (8, 4)], 1
    results = []
    for side, channels in shapes:
        results.append(measure(side, channels, args.batch, args.repeats))
        print(results[-1], flush=True)
    report = {
        "benchmark": "small-map convolutions on JAX",
        "command": "python -m benchmarks.small_maps " + " ".join(argv or sys.argv[1:]),
        "settings": {
            "batch": args.batch,
            "repeats": args.repeats,
            "small_map_pixels": SMALL_MAP_PIXELS,
        },
        "machine": describe_machine(),
        "results": results,
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
