"""The demo's report: sample panels of the test split and report.md with scores, curves and
timings."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import keras
import numpy as np
from PIL import Image

import flexseg
from flexseg.data.palette import Palette
from flexseg.metrics.report import markdown_table
from flexseg.outputs import save_png, write_text_atomically

TARGET = 0.5  # miou_foreground on the held-out test split (workflow issue)
SAMPLES = 6


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
