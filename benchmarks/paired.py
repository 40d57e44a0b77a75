"""Models timed in turn, so that each sees the same state of the machine, and their ratio.

Each round times every model once, the order reversed every other round (ABBA). A load
that fades or grows during the timing (what a run leaves behind, a neighbour on a shared
machine) then weighs on each model equally over a pair of rounds, where a fixed order
would charge it to whichever model goes first. The ratio of two models is taken pair of
rounds by pair of rounds, and its median over the pairs reported.

>>> timings = {"candidate": [2.0, 3.0, 2.0, 2.2], "preset": [1.0, 1.0, 2.0, 2.0]}
>>> pair_ratios(timings["candidate"], timings["preset"])
[2.5, 1.05]
"""

from __future__ import annotations

import argparse
import statistics


def timed_in_turn(models: dict, rounds: int) -> dict[str, list[float]]:
    """Each model's ms/image in each of `rounds` rounds, the models timed in turn within a
    round, in the given order in even rounds and reversed in odd ones."""
    from flexseg.tune.costs import latency_ms

    timings: dict[str, list[float]] = {key: [] for key in models}
    order = list(models)
    for round_ in range(rounds):
        for key in order if round_ % 2 == 0 else reversed(order):
            timings[key].append(latency_ms(models[key]))
    return timings


def pair_ratios(times: list[float], base_times: list[float]) -> list[float]:
    """`times` over `base_times` for each pair of rounds (both orders), a last odd round
    dropped; a clear error with fewer than two rounds."""
    if len(times) != len(base_times) or len(times) < 2:
        raise ValueError(
            f"pair_ratios needs two equal lists of at least 2 rounds, got {len(times)} "
            f"and {len(base_times)}"
        )
    pairs = range(0, len(times) - 1, 2)
    return [sum(times[i : i + 2]) / sum(base_times[i : i + 2]) for i in pairs]


def paired_ratio(times: list[float], base_times: list[float]) -> float:
    """The median of `pair_ratios`: how much slower `times`' model is than the base's."""
    return statistics.median(pair_ratios(times, base_times))


def even_rounds(text: str) -> int:
    """`--latency-rounds 32` as an even count of at least 2 (whole pairs of rounds)."""
    try:
        rounds = int(text)
    except ValueError:
        rounds = -1
    if rounds < 2 or rounds % 2:
        raise argparse.ArgumentTypeError(
            f"expected an even number of rounds of at least 2 (whole pairs), got {text!r}"
        )
    return rounds
