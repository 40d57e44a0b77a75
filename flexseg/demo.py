"""`make demo` / `python -m flexseg.demo`: the whole job on the embedded synthetic dataset.

Generates the synthetic screw-defect dataset, trains the CPU-sized FlexUNet preset
`flexunet_cpu_demo`, scores it on the held-out test split, predicts the test images, and
writes a report. Everything lands under one folder (default runs/demo):

    data/{train,valid,test}/{images,masks}   the dataset (plus its MVTec AD layout)
    demo.toml                                the config; rerun any step with it
    run/                                     checkpoints, logs, curves (train.run_dir)
    predictions/                             colorized test predictions, named like the masks
    samples/                                 image | ground truth | prediction panels
    evaluation.json                          the test scores
    report.md                                metrics table, curves, samples, timings

Runs on whichever backend KERAS_BACKEND names. The folder is written as <out>.incomplete and
renamed when done, so a folder named <out> always holds a finished demo.

Example:
    python -m flexseg.demo --out /tmp/demo --count 30 --size 64 --epochs 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

import flexseg
from flexseg.config import load_config
from flexseg.config.toml_writer import dumps
from flexseg.data.outputs import save_png, write_text_atomically
from flexseg.data.palette import Palette
from flexseg.data.synthetic import write_dataset
from flexseg.errors import FlexsegError
from flexseg.evaluate import evaluate_run
from flexseg.inference.run import infer_folder
from flexseg.metrics.report import format_table, markdown_table
from flexseg.training.run import train

TARGET = 0.5  # miou_foreground on the held-out test split (workflow issue)
SAMPLES = 6


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


def write_samples(work: Path) -> list[str]:
    """image | ground truth | prediction panels for the first test images of each kind."""
    test = work / "data" / "test"
    chosen, seen = [], set()
    for mask_path in sorted((test / "masks").glob("*.png")):
        colors = np.asarray(Image.open(mask_path).convert("RGB")).reshape(-1, 3)
        kind = tuple(map(tuple, np.unique(colors, axis=0)))
        if kind not in seen:
            seen.add(kind)
            chosen.append(mask_path.stem)
        if len(chosen) == SAMPLES:
            break
    for stem in chosen:
        image = Image.open(test / "images" / f"{stem}.png").convert("RGB")
        truth = Image.open(test / "masks" / f"{stem}.png").convert("RGB")
        predicted = Image.open(work / "predictions" / f"{stem}.png").convert("RGB")
        gap = np.full((image.height, 4, 3), 255, np.uint8)
        panel = np.concatenate(
            [np.asarray(image), gap, np.asarray(truth), gap, np.asarray(predicted)], axis=1
        )
        save_png(work / "samples" / f"{stem}.png", panel)
    return chosen


def write_report(work, out, scores, history, samples, times, settings) -> None:
    epochs = history["epochs"]
    best = max(epochs, key=lambda e: e.get("val_fg_miou") or 0.0)
    verdict = "met" if scores["miou_foreground"] >= TARGET else "**not met**"
    name = settings["model"]["name"]
    palette = Palette.load(settings["data"]["palette"])
    lines = [
        "# flexseg demo: FlexUNet on the synthetic screw-defect dataset",
        "",
        f"- flexseg {flexseg.__version__}, Keras {keras.__version__}, backend "
        f"**{keras.backend.backend()}**, Python {platform.python_version()}, "
        f"{platform.machine()}",
        f"- Model: `{name}` ({flexseg.describe(name).params:,} parameters), trained "
        f"{len(epochs)} epochs; best validation foreground mIoU {best['val_fg_miou']:.4f} at "
        f"epoch {best['epoch']} (the checkpoint scored here)",
        f"- **Test split, foreground mIoU (background excluded): "
        f"{scores['miou_foreground']:.4f}** (target >= {TARGET}: {verdict})",
        "",
        "## Test scores (python -m flexseg.evaluate demo.toml)",
        "",
        markdown_table(scores),
        "Confusion matrix, rows normalized (recall on the diagonal):",
        "",
        "![confusion matrix](run/confusion_matrix.png)",
        "",
        "## Training curves",
        "",
        "![losses](run/train_losses.png)",
        "",
        "![metrics](run/train_metrics.png)",
        "",
        "## Samples from the test split: image | ground truth | prediction",
        "",
        "| class | color |",
        "|---|---|",
        *[
            f"| {n} | rgb{tuple(int(v) for v in c)} |"
            for n, c in zip(palette.names, palette.colors, strict=True)
        ],
        "",
        *[f"![{stem}](samples/{stem}.png)\n" for stem in samples],
        "## Steps",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in times.items()],
        f"| total | {sum(times.values()):.1f} |",
        "",
        "Rerun a step with the saved config, e.g. "
        f"`python -m flexseg.evaluate {out / 'demo.toml'}` or "
        f"`python -m flexseg.infer {out / 'demo.toml'} --set infer.output=more_predictions`.",
        "",
    ]
    write_text_atomically(work / "report.md", "\n".join(lines))
    write_text_atomically(work / "timings.json", json.dumps(times, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flexseg.demo",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="default runs/demo")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing demo")
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--count", type=int, default=400, help="images (default 400)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument(
        "--minutes", type=float, default=8.5, help="training stops after this (default 8.5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and training seed")
    args = parser.parse_args(argv)
    try:
        run_demo(
            args.out,
            size=args.size,
            count=args.count,
            epochs=args.epochs,
            minutes=args.minutes,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
