"""Per-class IoU, Dice, precision and recall, foreground mIoU, and pixel AUROC / AP.

Everything comes from counts accumulated over the whole split (never averaged per image):
a (K, K) confusion matrix of ground truth x prediction, and for "any defect vs background"
histograms of the anomaly score 1 - p(background) over positive and negative pixels. A class
absent from both ground truth and prediction scores null, not 1. Pixels labelled 255 (ignored)
are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexseg.data.palette import IGNORE_LABEL
from flexseg.errors import FlexsegError

SCORE_BINS = 10_000  # anomaly scores are binned to 1e-4 for streaming AUROC / AP


class SegmentationScores:
    """Accumulates ground truth / prediction pairs and reports the scores of the whole set."""

    def __init__(self, class_names: Sequence[str]):
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        if self.num_classes < 2:
            raise FlexsegError("scoring needs at least two classes (background and one more).")
        self.confusion = np.zeros((self.num_classes, self.num_classes), np.int64)
        self._positive = np.zeros(SCORE_BINS + 1, np.int64)  # defect pixels per score bin
        self._negative = np.zeros(SCORE_BINS + 1, np.int64)  # background pixels per score bin
        self._hard_scores_only = True
        self.images = 0

    def update(self, truth: np.ndarray, prediction: np.ndarray, scores: np.ndarray | None = None):
        """Add one image (or a batch): truth and prediction are class ids of the same shape.

        `scores` are anomaly scores 1 - p(background) in [0, 1]; without them the hard
        prediction (defect or not) is the score.
        """
        truth = np.asarray(truth)
        prediction = np.asarray(prediction)
        if truth.shape != prediction.shape:
            raise FlexsegError(
                f"ground truth {truth.shape} and prediction {prediction.shape} differ in shape."
            )
        valid = truth != IGNORE_LABEL
        t = truth[valid].astype(np.int64)
        p = prediction[valid].astype(np.int64)
        for name, values in (("ground truth", t), ("prediction", p)):
            if values.size and (values.min() < 0 or values.max() >= self.num_classes):
                raise FlexsegError(
                    f"{name} holds class ids outside 0..{self.num_classes - 1}: "
                    f"{sorted(int(v) for v in np.unique(values) if not 0 <= v < self.num_classes)}."
                )
        self.confusion += np.bincount(
            t * self.num_classes + p, minlength=self.num_classes**2
        ).reshape(self.num_classes, self.num_classes)
        if scores is None:
            score = (p > 0).astype(np.float64)
        else:
            self._hard_scores_only = False
            score = np.clip(np.asarray(scores, np.float64)[valid], 0.0, 1.0)
        bins = np.rint(score * SCORE_BINS).astype(np.int64)
        defect = t > 0
        self._positive += np.bincount(bins[defect], minlength=SCORE_BINS + 1)
        self._negative += np.bincount(bins[~defect], minlength=SCORE_BINS + 1)
        self.images += 1

    def result(self) -> dict:
        """The scores as a JSON-ready dict (null where a score is undefined)."""
        c = self.confusion.astype(np.float64)
        tp = np.diag(c)
        fp = c.sum(axis=0) - tp
        fn = c.sum(axis=1) - tp
        iou = _ratio(tp, tp + fp + fn)
        dice = _ratio(2 * tp, 2 * tp + fp + fn)
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        total = c.sum()
        frequency = c.sum(axis=1) / total if total else np.zeros(self.num_classes)
        present = [i for i, v in enumerate(iou) if v is not None]
        fw = sum(frequency[i] * iou[i] for i in present) if present else None
        auroc, ap = self._auroc_ap()
        return {
            "classes": self.class_names,
            "iou": iou,
            "dice": dice,
            "precision": precision,
            "recall": recall,
            "pixel_counts": c.sum(axis=1).astype(np.int64).tolist(),
            "predicted_pixel_counts": c.sum(axis=0).astype(np.int64).tolist(),
            "miou_foreground": _mean(iou[1:]),
            "miou_all": _mean(iou),
            "pixel_accuracy": float(tp.sum() / total) if total else None,
            "fw_iou": float(fw) if fw is not None else None,
            "confusion_matrix": self.confusion.tolist(),
            "pixel_auroc": auroc,
            "pixel_ap": ap,
            "anomaly_scores": "hard predictions" if self._hard_scores_only else "1 - p(background)",
            "images": self.images,
        }

    def _auroc_ap(self) -> tuple[float | None, float | None]:
        positives, negatives = self._positive.sum(), self._negative.sum()
        if positives == 0 or negatives == 0:
            return None, None
        # Thresholds from high to low score: cumulative true / false positives.
        tp = np.cumsum(self._positive[::-1])
        fp = np.cumsum(self._negative[::-1])
        tpr = np.concatenate([[0.0], tp / positives])
        fpr = np.concatenate([[0.0], fp / negatives])
        auroc = float(np.trapezoid(tpr, fpr))
        steps = self._positive[::-1] > 0  # recall changes only where positives are added
        precision = tp / np.maximum(tp + fp, 1)
        ap = float(np.sum(precision[steps] * self._positive[::-1][steps]) / positives)
        return auroc, ap


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    return [float(n / d) if d > 0 else None for n, d in zip(numerator, denominator, strict=True)]


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
