"""Runs repeated over seeds: the seed list of a `--seeds` option, and the mean of per-seed
gaps with its standard error and 95% interval (Student's t over the seeds).

Example:
    >>> from benchmarks.seeds import seed_list, summarize
    >>> seed_list("0,1,2")
    [0, 1, 2]
    >>> summary = summarize([0.02, 0.04, 0.03])
    >>> round(summary["mean"], 3), round(summary["standard_error"], 4)
    (0.03, 0.0058)
    >>> [round(end, 3) for end in summary["interval_95"]]
    [0.005, 0.055]
"""

from __future__ import annotations

import argparse


def int_list(text: str) -> list[int]:
    """`--widths 8,16` as distinct integers; a clear argparse error otherwise."""
    return _distinct(text, int, "integers such as 0,1,2")


seed_list = int_list  # `--seeds 0,1,2`


def float_list(text: str) -> list[float]:
    """`--strengths 0,0.5,1` as distinct numbers >= 0; a clear argparse error otherwise."""
    values = _distinct(text, float, "numbers such as 0,0.5,1")
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers >= 0")
    return values


def _distinct(text: str, convert, kind: str) -> list:
    """Comma-separated values of one kind, none repeated."""
    try:
        values = [convert(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated {kind}") from None
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r}: a value is repeated")
    return values


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def standard_error(values: list[float]) -> float | None:
    """Of the mean; None for a single value."""
    if len(values) < 2:
        return None
    spread = sum((v - mean(values)) ** 2 for v in values) / (len(values) - 1)
    return (spread / len(values)) ** 0.5


def summarize(values: list[float]) -> dict:
    """Mean, standard error and 95% interval of the mean (None with a single value), and
    whether the interval excludes 0 (a difference detected at this sample size)."""
    from scipy import stats

    error = standard_error(values)
    half = None if error is None else float(stats.t.ppf(0.975, len(values) - 1)) * error
    interval = None if half is None else [mean(values) - half, mean(values) + half]
    return {
        "values": list(values),
        "mean": mean(values),
        "standard_error": error,
        "interval_95": interval,
        "difference_detected": interval is not None and not interval[0] <= 0 <= interval[1],
    }


def spread_text(summary: dict) -> str:
    """A `summarize` result's spread in words: its standard error and 95% interval over the
    seeds, and whether a difference is detected."""
    if summary["interval_95"] is None:
        return "one seed: no interval"
    low, high = summary["interval_95"]
    found = "a difference" if summary["difference_detected"] else "no difference"
    return (
        f"standard error {summary['standard_error']:.3f}, 95% interval [{low:+.3f}, {high:+.3f}] "
        f"over {len(summary['values'])} seeds: {found} detected"
    )
