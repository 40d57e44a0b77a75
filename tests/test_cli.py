"""The `flexseg` command and `python -m flexseg.demo`."""

import json
import re
import subprocess
import sys

import pytest

from flexseg import cli
from flexseg.cli import demo


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


def test_python_m_flexseg_models_prints_the_architecture_table():
    done = subprocess.run(
        [sys.executable, "-m", "flexseg.models", "sharp*", "--architectures", "--size", "64"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| architecture | parameters | GMACs at 64x64x3, 6 classes")
    (row,) = lines[2:]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[0] == "`sharp_unet`" and cells[1] == "7,855,654"
    assert cells[3] == "multiples of 2**(num_layers - 1): 16 by default"
    assert "Sharp U-Net" in cells[4] and "arXiv:2107.12461" in cells[4]


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


def test_demo_end_to_end_on_a_few_small_images(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["--out", str(out), "--count", "24", "--size", "64", "--epochs", "1"]
    assert demo.main(argv) == 0
    assert not (tmp_path / "demo.incomplete").exists()
    test_masks = sorted(p.name for p in (out / "data" / "test" / "masks").glob("*.png"))
    predictions = sorted(p.name for p in (out / "predictions").glob("*.png"))
    assert test_masks and predictions == test_masks
    scores = json.loads((out / "evaluation.json").read_text())
    assert scores["split"] == "test" and len(scores["iou"]) == 6
    report = (out / "report.md").read_text()
    assert f"foreground mIoU (background excluded): {scores['miou_foreground']:.4f}" in report
    for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        assert (out / image).is_file(), image
    assert "| scratch_head | rgb(255, 0, 0) |" in report
    assert "Done in" in capsys.readouterr().out
    # A second demo into the same folder is refused, not silently written over.
    assert demo.main(argv) == 2
    assert "already holds a demo; pass --overwrite" in capsys.readouterr().err


def test_help_from_the_command_line():
    for module in ("flexseg.cli", "flexseg.demo"):
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout


@pytest.mark.parametrize("argv", [["describe", "nope"], ["describe", "flexunet"]])
def test_cli_errors_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"flexseg {argv[0]}: ")
