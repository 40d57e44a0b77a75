"""Evaluation reports: a per-class table (text and CSV) and a confusion-matrix picture.

Example:
    >>> import numpy as np
    >>> from flexseg.metrics import SegmentationScores
    >>> scores = SegmentationScores(["background", "scratch"])
    >>> scores.update(np.array([[0, 1]]), np.array([[0, 1]]))
    >>> print(format_table(scores.result()).splitlines()[0])
    class               IoU    Dice  Precision  Recall     pixels
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from flexseg.outputs import save_figure, write_text_atomically

COLUMNS = ("iou", "dice", "precision", "recall")


def _cell(value: float | None) -> str:
    return "  null" if value is None else f"{value:6.4f}"


def format_table(result: dict) -> str:
    """Per-class scores and the headline numbers, for a terminal."""
    summary = ("miou_foreground", "miou_all", "pixel_accuracy", "fw_iou", "pixel_auroc", "pixel_ap")
    width = max(len(name) for name in [*result["classes"], *summary])
    header = ("IoU", "Dice", "Precision", "Recall", "pixels")
    lines = ["{:{w}s}  {:>6s}  {:>6s}  {:>9s}  {:>6s}  {:>9s}".format("class", *header, w=width)]
    for i, name in enumerate(result["classes"]):
        row = [_cell(result[key][i]) for key in COLUMNS]
        count = result["pixel_counts"][i]
        lines.append(f"{name:{width}s}  {row[0]}  {row[1]}  {row[2]:>9s}  {row[3]}  {count:9d}")
    lines += [f"{key:{width}s}  {_cell(result[key])}" for key in summary]
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    """Per-class scores and the headline numbers as a Markdown table."""
    lines = [
        "| class | IoU | Dice | Precision | Recall | pixels |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for i, name in enumerate(result["classes"]):
        cells = " | ".join(_cell(result[key][i]).strip() for key in COLUMNS)
        lines.append(f"| {name} | {cells} | {result['pixel_counts'][i]} |")
    lines += ["", "| summary | value |", "|---|---:|"]
    for key in (
        "miou_foreground",
        "miou_all",
        "pixel_accuracy",
        "fw_iou",
        "pixel_auroc",
        "pixel_ap",
    ):
        lines.append(f"| {key} | {_cell(result.get(key)).strip()} |")
    return "\n".join(lines) + "\n"


def write_csv(result: dict, path: str | Path) -> None:
    """One row per class: class, iou, dice, precision, recall, pixel_count (empty = null)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["class", *COLUMNS, "pixel_count"])
    for i, name in enumerate(result["classes"]):
        values = ["" if result[key][i] is None else f"{result[key][i]:.6f}" for key in COLUMNS]
        writer.writerow([name, *values, result["pixel_counts"][i]])
    write_text_atomically(Path(path), buffer.getvalue())


def plot_confusion(result: dict, path: str | Path) -> None:
    """Row-normalized confusion matrix (recall per class on the diagonal), counts annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(result["confusion_matrix"], np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    names = result["classes"]
    size = max(5, 0.9 * len(names) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(normalized, vmin=0, vmax=1, cmap="Blues")
    for (r, c), value in np.ndenumerate(counts):
        color = "white" if normalized[r, c] > 0.5 else "black"
        axis.text(c, r, f"{normalized[r, c]:.2f}\n{int(value)}", ha="center", va="center",
                  fontsize=7, color=color)  # fmt: skip
    axis.set_xticks(range(len(names)), names, rotation=35, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("prediction")
    axis.set_ylabel("ground truth")
    miou = result["miou_foreground"]
    axis.set_title(f"Confusion (rows sum to 1); foreground mIoU {_cell(miou).strip()}")
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    save_figure(figure, path)
