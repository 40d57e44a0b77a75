"""The readers of user files never crash on malformed input: each generated case loads or
raises flexseg's own error (benchmarks/parser_cases.py makes the cases; `python -m
benchmarks.parsers` runs ten thousand of each)."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.parser_cases import READERS
from flexseg.errors import FlexsegError

CASES = 200  # per reader, in make test


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_reader_loads_or_names_the_problem(reader):
    _, cases, read = READERS[reader]

    @settings(max_examples=CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    @given(cases)
    def loads_or_raises_flexseg_error(case):
        with contextlib.suppress(FlexsegError):  # anything else fails the test
            read(case)

    loads_or_raises_flexseg_error()
