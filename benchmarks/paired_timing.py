"""How many rounds the search's paired timing needs: the demo preset timed against itself.

    python -m benchmarks.paired_timing --json benchmarks/results/paired_timing_cpu.json \\
        --markdown benchmarks/results/paired_timing_cpu.md
    python -m benchmarks.paired_timing --smoke      # a few rounds, every step

`benchmarks.tune` keeps a candidate only if its model, timed in turn with the preset's for
--latency-rounds rounds, is at most 1.05 times as slow (benchmarks.paired: the order reversed
every other round, the median ratio over the pairs of rounds). Two builds of the same preset
(the same graph) should pass that test every time. This benchmark builds the preset twice,
the way the search times a trial (`benchmarks.tune.untrained_for_inference`), times them in
turn for --rounds rounds, and cuts the rounds into consecutive blocks of each of --blocks
rounds: each block's ratio is what a paired timing of that many rounds would have said (1
round: that round's ratio). The table shows their spread and how often the same graph would
have been refused.

Run it alone on the machine: it measures the noise of the machine's timings.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish
from benchmarks.paired import paired_ratio, timed_in_turn
from benchmarks.seeds import int_list


def block_ratios(times: list[float], base_times: list[float], size: int) -> list[float]:
    """What a paired timing of `size` rounds says of each run of `size` consecutive rounds
    (a partial last run dropped): the round's own ratio for 1, else
    benchmarks.paired.paired_ratio.

    >>> block_ratios([2.0, 3.0, 2.0, 2.2, 9.0], [1.0, 1.0, 2.0, 2.0, 1.0], 2)
    [2.5, 1.05]
    """
    whole = len(times) - len(times) % size
    if size == 1:
        return [t / b for t, b in zip(times[:whole], base_times[:whole], strict=True)]
    blocks = range(0, whole, size)
    return [paired_ratio(times[i : i + size], base_times[i : i + size]) for i in blocks]


def block_summary(times: list[float], base_times: list[float], size: int, slack: float) -> dict:
    """The spread of `block_ratios`, and how many exceed 1 + `slack`."""
    ratios = block_ratios(times, base_times, size)
    return {
        "rounds": size,
        "blocks": len(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "over_limit": sum(r > 1 + slack for r in ratios),
    }


def measure(size: int, rounds: int, work: Path) -> dict:
    """Per-round ms/image of two builds of the demo preset, timed in turn."""
    from benchmarks.tune import recipe, untrained_for_inference
    from flexseg.data.synthetic import write_dataset

    root = write_dataset(work / "data", size=size, count=12, seed=0).root
    preset = recipe(root, work / "run", 1, 0)
    preset["model"] = {"name": "flexunet_cpu_demo", "input_shape": [size, size, 3]}
    models = {key: untrained_for_inference(preset, size) for key in ("first", "second")}
    started = time.perf_counter()
    timings = timed_in_turn(models, rounds)
    return {**timings, "seconds_per_round": (time.perf_counter() - started) / rounds}


def table(report: dict) -> str:
    machine, s = report["machine"], report["settings"]
    limit = 1 + s["latency_slack"]
    lines = [
        f"Device: {machine['cpu']}, {machine['cores']} cores, Keras backend "
        f"{report['backend']}. The demo preset (flexunet_cpu_demo, {s['size']}x{s['size']}) "
        f"built twice and timed in turn for {s['rounds']} rounds, as benchmarks.tune times a "
        f"candidate against the preset ({report['seconds_per_round']:.2f} s a round, the "
        "order reversed every other round). Each row cuts the rounds into consecutive "
        "blocks and takes each block's ratio, second build over first, as benchmarks.paired "
        "does (the median over the block's pairs of rounds; 1 round: its own ratio): what a "
        f"paired timing of that many rounds would have said. Over {limit:.2f}: the same "
        "graph refused as slower.",
        "",
        f"| rounds per timing | timings | lowest ratio | highest ratio | over {limit:.2f} |",
        "|---:|---:|---:|---:|---:|",
    ]
    for b in report["blocks"]:
        lines.append(
            f"| {b['rounds']} | {b['blocks']} | {b['min']:.3f}x | {b['max']:.3f}x "
            f"| {b['over_limit']} of {b['blocks']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.paired_timing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", type=int, default=128, help="image side (the demo's: 128)")
    parser.add_argument("--rounds", type=int, default=640, help="rounds timed (default 640)")
    parser.add_argument(
        "--blocks",
        type=int_list,
        default=[1, 8, 16, 32, 64],
        help="rounds per paired timing to report (comma-separated)",
    )
    parser.add_argument(
        "--latency-slack", type=float, default=0.05, help="benchmarks.tune's limit (0.05)"
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--smoke", action="store_true", help="64x64, 6 rounds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.rounds, args.blocks = 64, 6, [1, 2]
    if max(args.blocks) > args.rounds:
        parser.error(f"--blocks {max(args.blocks)} is more than --rounds {args.rounds}")
    if any(size > 1 and size % 2 for size in args.blocks):
        parser.error(f"--blocks {args.blocks}: each is 1 or even (whole pairs of rounds)")
    with tempfile.TemporaryDirectory() as folder:
        timings = measure(args.size, args.rounds, Path(folder))
    import keras

    report = {
        "command": "python -m benchmarks.paired_timing " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "backend": keras.backend.backend(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
        "seconds_per_round": timings["seconds_per_round"],
        "latency_ms": {"first": timings["first"], "second": timings["second"]},
        "ratios": block_ratios(timings["second"], timings["first"], 1),
        "blocks": [
            block_summary(timings["second"], timings["first"], size, args.latency_slack)
            for size in args.blocks
        ],
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
