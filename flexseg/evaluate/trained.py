"""Score a trained run on eval.split: one confusion matrix over the split, anomaly scores from
1 - p(background), and evaluation.json, evaluation.csv and confusion_matrix.png in the run
folder."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from flexseg.config import Config
from flexseg.data.pipeline.dataset import SegmentationDataset
from flexseg.metrics import SegmentationScores
from flexseg.metrics.report import plot_confusion, write_csv
from flexseg.outputs import write_text_atomically
from flexseg.run.setup import RunSetup


def score_split(model: keras.Model, split: SegmentationDataset) -> dict:
    """The scores of `model` on every batch of a split with sparse labels, from one confusion
    matrix, anomaly scores from 1 - p(background)."""
    scores = SegmentationScores(split.palette.names)
    for index in range(len(split)):
        images, labels = split[index][:2]
        probabilities = keras.ops.convert_to_numpy(model.predict_on_batch(images))
        scores.update(labels, probabilities.argmax(-1), scores=1.0 - probabilities[..., 0])
    return scores.result()


def evaluate_run(config: Config, checkpoint: str | Path | None = None) -> dict:
    """Score a trained model on eval.split; writes the reports into the run folder."""
    setup = RunSetup(config)
    setup.check_data((config.eval["split"],))
    model = setup.trained_model(checkpoint)
    result = score_split(model, setup.evaluation_data(model))
    result["checkpoint"] = str(setup.checkpoint(checkpoint))
    result["split"] = config.eval["split"]
    run_dir = config.run_dir
    write_text_atomically(run_dir / "evaluation.json", json.dumps(result, indent=2) + "\n")
    write_csv(result, run_dir / "evaluation.csv")
    plot_confusion(result, run_dir / "confusion_matrix.png")
    return result
