"""Every measured number the README states comes from a committed result.

A number with two or more decimals outside code (a score, a time, a ratio) must appear in a
file under benchmarks/results/ (thousands separators and a trailing zero aside), so a
README figure cannot drift from the result it quotes, or lack one.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# Numbers that are settings or definitions, not measurements (a tolerance, a target).
NOT_MEASURED = {"0.02", "0.05", "0.10", "1.10"}


def prose(text: str) -> str:
    """The README without fenced code blocks, inline code, links' targets and the presets
    table (model sizes that `flexseg describe` computes, not measurements)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"### Presets\n.*?(?=\n### )", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"`[^`\n]*`", " ", text)


def measured_numbers(text: str) -> set[str]:
    """Decimal numbers with two or more decimals, not parts of versions or arXiv ids."""
    text = re.sub(r"arXiv[: ]\d{4}\.\d{4,5}", " ", text)
    found = re.findall(r"(?<![\w.])\d[\d,]*\.\d{2,}(?![\w.]*\d)", text)
    return {n.replace(",", "") for n in found} - NOT_MEASURED


def variants(number: str) -> set[str]:
    """How a result file may write `number`: as is, with separators, or one zero longer."""
    whole, decimals = number.split(".")
    grouped = f"{int(whole):,}.{decimals}"
    return {number, grouped, number + "0", grouped + "0"}


# The README and the pages it sends readers to for measured results.
PAGES = ("README.md", "benchmarks/tune_runs.md")


@pytest.mark.parametrize("page", PAGES)
def test_every_readme_number_is_in_a_committed_result(page):
    text = measured_numbers(prose((ROOT / page).read_text(encoding="utf-8")))
    results = " ".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in RESULTS.iterdir()
        if path.suffix in (".md", ".json", ".log", ".txt")
    )
    missing = sorted(n for n in text if not any(v in results for v in variants(n)))
    assert not missing, (
        f"{page}: numbers found in no file of benchmarks/results/: {missing}. Quote a "
        "committed result (and name the command that wrote it), or drop the claim."
    )


def test_the_check_finds_an_unsourced_number():
    assert measured_numbers(prose("took 4.93 min, `3.14159` in code, v1.4.8")) == {"4.93"}
