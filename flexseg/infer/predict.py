"""A trained model as a function from an image of any size to class probabilities.

Models built for a fixed size see the image resized to that size, and their probabilities are
resized back; with `tile` set, large images are predicted tile by tile at full resolution.

Example:
    >>> import numpy as np, flexseg
    >>> predictor = Predictor(flexseg.build("flexunet_tiny"))
    >>> predictor(np.zeros((50, 70, 3), np.float32)).shape
    (50, 70, 3)
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from flexseg.errors import FlexsegError
from flexseg.infer.tiling import predict_tiled


class Predictor:
    """Probabilities (H, W, K) for (H, W, C) images in the model's input scale."""

    def __init__(self, model: keras.Model, tile: int | None = None, overlap: int = 64,
                 flip_tta: bool = False, tile_batch: int = 16):  # fmt: skip
        self.model = model
        self.size = tuple(model.input_shape[1:3])
        self.tile, self.overlap, self.flip_tta = tile, overlap, flip_tta
        self.tile_batch = tile_batch
        fixed = all(self.size)
        if tile is not None and fixed and (tile, tile) != self.size:
            raise FlexsegError(
                f"infer.tile_size={tile} but the model takes {self.size[0]}x{self.size[1]} inputs; "
                f"set infer.tile_size = {self.size[0]} or leave it unset."
            )

    def _batch(self, batch: np.ndarray) -> np.ndarray:
        outputs = keras.ops.convert_to_numpy(self.model.predict_on_batch(batch))
        if not self.flip_tta:
            return outputs
        horizontal = keras.ops.convert_to_numpy(self.model.predict_on_batch(batch[:, :, ::-1]))
        vertical = keras.ops.convert_to_numpy(self.model.predict_on_batch(batch[:, ::-1]))
        return (outputs + horizontal[:, :, ::-1] + vertical[:, ::-1]) / 3.0

    def __call__(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        if self.tile is not None:
            return predict_tiled(self._batch, image, self.tile, self.overlap, self.tile_batch)
        if all(self.size) and (height, width) != self.size:
            resized = _resize(image, self.size)
            return _resize(self._batch(resized[None])[0], (height, width))
        if not all(self.size):  # any size the architecture can pool: pad, predict, crop
            multiple = getattr(self.model, "size_multiple", 1)
            pad = ((0, -height % multiple), (0, -width % multiple), (0, 0))
            padded = np.pad(image, pad, mode="reflect") if any(p[1] for p in pad) else image
            return self._batch(padded[None])[0][:height, :width]
        return self._batch(image[None])[0]


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of every channel of an (H, W, C) float array to size = (height, width)."""
    channels = [
        np.asarray(Image.fromarray(array[..., c].astype(np.float32), mode="F").resize(
            (size[1], size[0]), resample=Image.BILINEAR))
        for c in range(array.shape[-1])
    ]  # fmt: skip
    return np.stack(channels, axis=-1)
