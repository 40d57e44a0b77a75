"""Tiled prediction: overlapping tiles blended with smooth weights, so no seams show.

Each tile's weight ramps from near zero at its edges to one at `overlap / 2` inside, so every
pixel is decided mostly by a tile that sees it far from that tile's border.

Example:
    >>> import numpy as np
    >>> identity = lambda batch: np.repeat(batch[..., :1] / 255.0, 2, axis=-1)
    >>> out = predict_tiled(identity, np.full((50, 70, 3), 255.0), tile=32, overlap=8)
    >>> out.shape, bool(np.allclose(out, 1.0))
    ((50, 70, 2), True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flexseg.errors import FlexsegError

EPSILON = 1e-3


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) weights: a ramp over overlap/2 pixels at every edge, 1 inside."""
    ramp = max(overlap / 2, 1.0)
    positions = np.arange(tile) + 0.5
    one_d = np.clip(np.minimum(positions, tile - positions) / ramp, EPSILON, 1.0)
    return np.outer(one_d, one_d)


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering [0, size) with tiles of `tile` pixels overlapping by `overlap`."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return [*starts, size - tile]


def share_out(tiles: int, batch_size: int) -> tuple[int, int]:
    """(calls, tiles per call): `tiles` tiles in as few calls of at most `batch_size` as
    possible, all one size (the last filled up). Fewer calls beat fewer filler tiles: each
    call reads every weight again, and a deep model's weights outweigh a tile's activations.
    25 tiles, at most 8 a call: four calls of 7."""
    calls = -(-tiles // batch_size)
    return calls, -(-tiles // calls)


def predict_tiled(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    tile: int,
    overlap: int,
    batch_size: int = 16,
) -> np.ndarray:
    """Probabilities (H, W, K) for an (H, W, C) image, predicted tile by tile.

    `predict` maps a batch (N, tile, tile, C) to (N, tile, tile, K). The tiles go in calls
    of one size (`share_out`; the last filled up with copies of its last tile), so a
    compiled model traces one shape per image size.
    """
    if not 0 <= overlap < tile:
        raise FlexsegError(
            f"tile overlap must be in [0, tile); got overlap={overlap}, tile={tile}."
        )
    height, width = image.shape[:2]
    pad_h, pad_w = max(tile - height, 0), max(tile - width, 0)
    padded = (
        np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect") if pad_h or pad_w else image
    )
    rows = tile_starts(padded.shape[0], tile, overlap)
    cols = tile_starts(padded.shape[1], tile, overlap)
    window = blend_window(tile, overlap).astype(np.float32)[..., None]
    origins = [(r, c) for r in rows for c in cols]
    total = None
    weights = np.zeros((*padded.shape[:2], 1), np.float32)
    for r, c in origins:
        weights[r : r + tile, c : c + tile] += window
    _, per_call = share_out(len(origins), batch_size)
    for first in range(0, len(origins), per_call):
        chunk = origins[first : first + per_call]
        filled = chunk + chunk[-1:] * (per_call - len(chunk))
        batch = np.stack([padded[r : r + tile, c : c + tile] for r, c in filled])
        outputs = np.asarray(predict(batch), dtype=np.float32)
        if total is None:
            total = np.zeros((*padded.shape[:2], outputs.shape[-1]), np.float32)
        for (r, c), output in zip(chunk, outputs, strict=False):
            total[r : r + tile, c : c + tile] += output * window
    return (total / weights)[:height, :width]
