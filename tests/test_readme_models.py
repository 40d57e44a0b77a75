"""The README's model table is what `flexseg models --architectures` prints today."""

import contextlib
import io
import re
from pathlib import Path

import keras
import pytest

from flexseg.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="parameters and MACs do not depend on the backend: checked once, on tensorflow",
)
def test_readme_model_table_matches_the_command():
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- models-table:[^\n]*-->\n(.*?)<!-- end models-table -->", text, re.S)
    assert found, "README.md lost its models-table markers"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["models", "--architectures", "--size", "256", "--num-classes", "6"]) == 0
    assert found.group(1).strip() == printed.getvalue().strip(), (
        "README model table is stale: paste the output of "
        "`flexseg models --architectures --size 256 --num-classes 6`"
    )
