"""The `flexseg` command and `python -m flexseg.demo`."""

import json
import subprocess
import sys

import pytest

from flexseg import cli, demo


def test_models_table(capsys):
    assert cli.main(["models", "flexunet*", "--size", "64", "--num-classes", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| name | kind | parameters | GMACs at 64x64x3, 4 classes")
    rows = {line.split("|")[1].strip(): line for line in lines[2:]}
    assert {"flexunet", "flexunet_tiny", "flexunet_mvtec_screw"} <= set(rows)
    assert "| architecture |" in rows["flexunet"] and "| preset |" in rows["flexunet_tiny"]
    assert (
        "not at this size" in rows["flexunet_mvtec_screw"]
        and "multiple of 128" in rows["flexunet_mvtec_screw"]
    )
    assert rows["flexunet_tiny"].split("|")[3].strip() == "9,020"  # 4-class head: 4*4 + 4


def test_models_pattern_matching_nothing(capsys):
    assert cli.main(["models", "nothing*"]) == 1
    assert "No model or preset matches" in capsys.readouterr().err


def test_describe_json(capsys):
    assert cli.main(["describe", "flexunet_tiny", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["architecture"] == "flexunet" and card["params"] == 9015


def test_bad_input_is_one_line_and_exit_2(capsys):
    assert cli.main(["describe", "flexunt", "--num-classes", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("flexseg describe: No model or preset named 'flexunt'")
    assert len(err.splitlines()) == 1


def test_demo_on_a_small_preset(capsys):
    assert demo.main(["--preset", "flexunet_tiny"]) == 0
    out = capsys.readouterr().out
    assert "OK: prediction shape (1, 32, 32, 3)" in out
    assert "parameters: 9,015" in out


def test_help_from_the_command_line():
    for module in ("flexseg.cli", "flexseg.demo"):
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout


@pytest.mark.parametrize("argv", [["demo", "--preset", "nope"], ["describe", "flexunet"]])
def test_cli_errors_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"flexseg {argv[0]}: ")
