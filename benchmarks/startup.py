"""How long the command line takes to answer: `--help` and argument errors against importing
Keras with each backend, as whole processes, interleaved in one run.

    python -m benchmarks.startup --json benchmarks/results/startup_cpu.json \\
        --markdown benchmarks/results/startup_cpu.md
    python -m benchmarks.startup --smoke      # one run of each command

Every command runs --runs times, in turn with the others (A B C A B C ...), so a drift in
the machine's speed touches all of them alike; reported are the median, minimum and maximum
wall seconds, and each command's median over the median of `python -c "import keras"` on
TensorFlow (what `flexseg --help` cost when it imported Keras).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish

REFERENCE = "python -c 'import keras' (tensorflow)"


def commands() -> dict[str, tuple[list[str], dict[str, str]]]:
    """Name -> (argv, extra environment)."""
    python = sys.executable
    script = Path(python).parent / "flexseg"  # the console script pip installs beside python
    flexseg = [str(script)] if script.is_file() else [python, "-m", "flexseg"]
    timed = {
        "flexseg --help": ([*flexseg, "--help"], {}),
        "flexseg train --help": ([*flexseg, "train", "--help"], {}),
        "python -m flexseg.train --help": ([python, "-m", "flexseg.train", "--help"], {}),
        "python -m flexseg.data.stats --help": ([python, "-m", "flexseg.data.stats", "--help"], {}),
        "flexseg train (missing config: usage error)": ([*flexseg, "train"], {}),
    }
    for backend in ("tensorflow", "jax", "torch"):
        name = REFERENCE if backend == "tensorflow" else f"python -c 'import keras' ({backend})"
        timed[name] = ([python, "-c", "import keras"], {"KERAS_BACKEND": backend})
    return timed


def run_once(argv: list[str], extra: dict[str, str]) -> float:
    env = dict(os.environ, **extra)
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
    return time.perf_counter() - started


def measure(runs: int) -> list[dict]:
    timed = commands()
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(runs + 1):  # the first round warms the file cache and is not counted
        for name, (argv, extra) in timed.items():
            seconds[name].append(run_once(argv, extra))
    rows = []
    reference = statistics.median(seconds[REFERENCE][1:])
    for name, values in seconds.items():
        counted = values[1:]
        median = statistics.median(counted)
        rows.append(
            {
                "command": name,
                "median_s": median,
                "min_s": min(counted),
                "max_s": max(counted),
                "vs_import_keras_tensorflow": median / reference,
            }
        )
    return rows


def table(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores. Whole-process wall time over "
        f"{report['runs']} interleaved runs after one warm-up round.",
        "",
        f"| command | median s | min-max s | vs {REFERENCE} |",
        "|---|---:|---:|---:|",
    ]
    for row in report["results"]:
        lines.append(
            f"| `{row['command']}` | {row['median_s']:.2f} | {row['min_s']:.2f}-{row['max_s']:.2f}"
            f" | {row['vs_import_keras_tensorflow']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="counted runs per command")
    parser.add_argument("--smoke", action="store_true", help="one counted run of each")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    runs = 1 if args.smoke else args.runs
    report = {
        "command": "python -m benchmarks.startup " + " ".join(argv or sys.argv[1:]),
        "machine": describe_machine(),
        "runs": runs,
        "results": measure(runs),
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
