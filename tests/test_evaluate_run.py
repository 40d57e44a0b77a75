"""Evaluating a trained run from its config, through `flexseg evaluate` and `flexseg train`."""

import json

import numpy as np
import pytest

from flexseg import cli
from flexseg.data.pairs import find_pairs
from tests.runs import tiny_trained_run


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return tiny_trained_run(tmp_path_factory.mktemp("run"), seed=2)


def test_evaluate_a_run_writes_its_reports(trained_run, capsys):
    config, root = trained_run
    assert cli.main(["evaluate", str(config)]) == 0
    assert "miou_foreground" in capsys.readouterr().out
    run = config.parent / "runs" / "r"
    result = json.loads((run / "evaluation.json").read_text())
    test_images = len(find_pairs(root / "test"))
    assert np.sum(result["confusion_matrix"]) == test_images * 32 * 32
    assert result["split"] == "test" and result["anomaly_scores"] == "1 - p(background)"
    assert result["checkpoint"].endswith("best.keras")
    for key in ("iou", "dice", "precision", "recall", "pixel_counts"):
        assert len(result[key]) == 6
    assert (run / "evaluation.csv").is_file() and (run / "confusion_matrix.png").is_file()


def test_evaluate_argument_mistakes(trained_run, capsys):
    config, _ = trained_run
    with pytest.raises(SystemExit):
        cli.main(["evaluate", str(config), "--pred-dir", "x"])
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--pred-dir", "x"])
    assert "folders mode needs" in capsys.readouterr().err
    assert cli.main(["evaluate", str(config), "--checkpoint", "missing.keras"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_train_refuses_bad_configs_in_one_line(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[data]\nroot = "d"\npalette = "mvtec_screw"\n[train]\nepoch = 3\n')
    assert cli.main(["train", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown key train.epoch. Did you mean: epochs" in err and len(err.splitlines()) == 1
