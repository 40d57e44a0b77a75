"""Metrics, each from one confusion matrix: foreground mIoU logged while training
(`training.py`), and the scores and reports of an evaluation over a whole split (`scores.py`,
`report.py`).

Example:
    >>> import numpy as np
    >>> from flexseg.metrics import SegmentationScores
    >>> scores = SegmentationScores(["background", "scratch"])
    >>> scores.update(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
    >>> scores.result()["iou"]
    [0.5, 0.6666666666666666]
"""

from flexseg.metrics.scores import SegmentationScores

__all__ = ["SegmentationScores"]
