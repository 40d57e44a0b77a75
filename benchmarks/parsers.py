"""Ten thousand generated files per reader of user files: each must load or raise flexseg's
own error, in bounded time.

    python -m benchmarks.parsers --json benchmarks/results/parsers.json \\
        --markdown benchmarks/results/parsers.md
    python -m benchmarks.parsers --cases 200     # quicker

The cases come from benchmarks/parser_cases.py (the strategies `tests/test_parsers.py` runs a
few hundred of). A case that raises anything else is counted and its first examples kept;
the command exits with status 1 if there is one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish


def run_reader(name: str, cases: int, seed: int) -> dict:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed

    from benchmarks.parser_cases import READERS
    from flexseg.errors import FlexsegError

    what, strategy, read = READERS[name]
    counts = {"loaded": 0, "flexseg_error": 0, "other_error": 0}
    crashes: list[dict] = []
    slowest = [0.0, None]

    @with_seed(seed)
    @settings(max_examples=cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def one(case):
        started = time.perf_counter()
        try:
            read(case)
            counts["loaded"] += 1
        except FlexsegError:
            counts["flexseg_error"] += 1
        except Exception as error:
            counts["other_error"] += 1
            if len(crashes) < 5:
                crashes.append({"case": repr(case)[:500], "error": repr(error)[:300]})
        seconds = time.perf_counter() - started
        if seconds > slowest[0]:
            slowest[:] = [seconds, repr(case)[:200]]

    started = time.perf_counter()
    one()
    return {
        "reader": name,
        "what": what,
        "cases": sum(counts.values()),
        **counts,
        "crashes": crashes,
        "slowest_case_s": slowest[0],
        "slowest_case": slowest[1],
        "seconds": time.perf_counter() - started,
    }


def table(report: dict) -> str:
    lines = [
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores. "
        f"{report['cases']} generated cases per reader (Hypothesis, seed {report['seed']}); "
        "each must load or raise FlexsegError.",
        "",
        "| reader | cases | loaded | FlexsegError | other exception | slowest case s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["readers"]:
        lines.append(
            f"| {r['what']} | {r['cases']} | {r['loaded']} | {r['flexseg_error']} "
            f"| {r['other_error']} | {r['slowest_case_s']:.3f} |"
        )
    for r in report["readers"]:
        for crash in r["crashes"]:
            lines.append(f"\n{r['reader']}: `{crash['error']}` on `{crash['case']}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from benchmarks.parser_cases import READERS

    parser = argparse.ArgumentParser(prog="python -m benchmarks.parsers", description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000, help="cases per reader")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readers", default=",".join(READERS), help="comma-separated")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.readers.split(",")) - set(READERS))
    if unknown:
        parser.error(f"unknown readers {unknown}; known: {', '.join(READERS)}")
    readers = [run_reader(name, args.cases, args.seed) for name in args.readers.split(",")]
    report = {
        "command": "python -m benchmarks.parsers " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "cases": args.cases,
        "seed": args.seed,
        "readers": readers,
    }
    publish(report, table(report), args.json, args.markdown)
    return 1 if any(r["other_error"] for r in readers) else 0


if __name__ == "__main__":
    sys.exit(main())
