"""Evaluation: per-class scores of a trained run on a held-out split, or of folders of
colorized masks (`python -m flexseg.evaluate`, `flexseg evaluate`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "evaluate_folders": "flexseg.evaluate.folders",
        "evaluate_run": "flexseg.evaluate.trained",
        "pair_masks": "flexseg.evaluate.folders",
    },
)

if TYPE_CHECKING:
    from flexseg.evaluate.folders import evaluate_folders, pair_masks
    from flexseg.evaluate.trained import evaluate_run

__all__ = ["evaluate_folders", "evaluate_run", "pair_masks"]
