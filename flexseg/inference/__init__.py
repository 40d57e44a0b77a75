"""Prediction on images of any size: whole-image or tiled, optionally with flip averaging."""

from flexseg.inference.predict import Predictor
from flexseg.inference.tiling import blend_window, predict_tiled

__all__ = ["Predictor", "blend_window", "predict_tiled"]
