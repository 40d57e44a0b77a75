"""Inference: a trained model as a function from an image of any size to class probabilities
(whole or tiled, optionally flip-averaged), and a folder of images predicted into masks,
overlays and panels (`python -m flexseg.infer CONFIG`, `flexseg infer`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Predictor": "flexseg.infer.predict",
        "blend_window": "flexseg.infer.tiling",
        "infer_folder": "flexseg.infer.folder",
        "predict_tiled": "flexseg.infer.tiling",
    },
)

if TYPE_CHECKING:
    from flexseg.infer.folder import infer_folder
    from flexseg.infer.predict import Predictor
    from flexseg.infer.tiling import blend_window, predict_tiled

__all__ = ["Predictor", "blend_window", "infer_folder", "predict_tiled"]
