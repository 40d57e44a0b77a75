"""The demo's steps: generate the synthetic screws, train `flexunet_cpu_demo`, score the
held-out test split, predict the test images, write the report (`flexseg demo --help` lists
what lands where)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import keras

from flexseg.config import load_config
from flexseg.config.toml_writer import dumps
from flexseg.data.synthetic import write_dataset
from flexseg.demo.report import TARGET, write_report, write_samples
from flexseg.errors import FlexsegError
from flexseg.evaluate.trained import evaluate_run
from flexseg.infer.folder import infer_folder
from flexseg.metrics.report import format_table
from flexseg.outputs import write_text_atomically
from flexseg.train.fit import train


def demo_config(epochs: int, minutes: float, seed: int) -> dict:
    """The demo's config, with paths relative to the demo folder."""
    return {
        "model": {"name": "flexunet_cpu_demo"},
        "data": {
            "root": "data",
            "palette": "mvtec_screw",
            "augmentation": {"hflip": True, "vflip": True},
            # Defects cover about 0.3% of the pixels: weight them up in the cross-entropy.
            "class_weights": [1.0, 30.0, 30.0, 30.0, 30.0, 30.0],
        },
        "train": {
            "epochs": epochs,
            "batch_size": 4,
            "learning_rate": 3e-3,
            "lr_schedule": "cosine",  # decays to 1% over the epochs: a stable last model
            "loss": "cce+dice",
            "patience": 0,
            "reduce_lr_patience": 0,
            "max_minutes": minutes,
            "seed": seed,
            "run_dir": "run",
            "epoch_change_images": 4,
            # Load the next batches while the model trains. Not on torch: there a loader
            # thread costs a little (292-307 against 280 ms per step, 2 cores, batch 4).
            "workers": 1 if keras.backend.backend() == "torch" else 2,
        },
        "eval": {"split": "test", "batch_size": 8},
        "infer": {"input": "data/test/images", "output": "predictions"},
    }


def run_demo(
    out: str | Path = "runs/demo",
    *,
    size: int = 128,
    count: int = 400,
    epochs: int = 30,
    minutes: float = 8.5,
    seed: int = 0,
    overwrite: bool = False,
    verbose: int | str = "auto",
) -> dict:
    """Generate, train, evaluate, infer and report; returns the test scores."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FlexsegError(
            f"{out}: already holds a demo; pass --overwrite (make demo DEMO_ARGS=--overwrite) "
            "to replace it, or --out to write elsewhere."
        )
    work = out.with_name(out.name + ".incomplete")
    if work.exists():  # left by an interrupted demo: it is ours to replace
        shutil.rmtree(work)
    work.mkdir(parents=True)
    times = {}
    started = time.perf_counter()

    print(f"[1/5] Synthetic dataset: {count} images of {size}x{size} -> {out / 'data'}")
    write_dataset(work / "data", size=size, count=count, seed=seed, progress=verbose != 0)
    times["generate the dataset"] = _lap(started)

    config_path = work / "demo.toml"
    settings = demo_config(epochs, minutes, seed)
    settings["model"]["input_shape"] = [size, size, 3]
    write_text_atomically(config_path, dumps(settings))
    config = load_config(config_path)
    print(f"[2/5] Training flexunet_cpu_demo for at most {epochs} epochs or {minutes:g} minutes")
    history = train(config, verbose=verbose)
    times["train"] = _lap(started, times)

    print("[3/5] Scoring the held-out test split")
    scores = evaluate_run(config)
    shutil.copyfile(work / "run" / "evaluation.json", work / "evaluation.json")
    print(format_table(scores))
    times["evaluate"] = _lap(started, times)

    print("[4/5] Predicting the test images")
    infer_folder(config, progress=verbose != 0)
    times["predict the test images"] = _lap(started, times)

    print("[5/5] Writing the report")
    samples = write_samples(work)
    times["report"] = _lap(started, times)
    write_report(work, out, scores, history, samples, times, settings)
    if out.exists():
        shutil.rmtree(out)
    work.rename(out)
    total = sum(times.values())
    verdict = "met" if scores["miou_foreground"] >= TARGET else "NOT met"
    print(
        f"Done in {total / 60:.1f} min: miou_foreground {scores['miou_foreground']:.4f} on the "
        f"test split (target >= {TARGET}: {verdict}). Report: {out / 'report.md'}"
    )
    return scores


def _lap(started: float, times: dict | None = None) -> float:
    return time.perf_counter() - started - sum((times or {}).values())
