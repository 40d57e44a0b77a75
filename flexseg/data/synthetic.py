"""The embedded synthetic screw-defect dataset: `python -m flexseg.data.synthetic --out DIR`.

Grayscale metal screws (head, neck, threaded shaft, tip) at random positions and angles on a
lightly textured background, modelled on MVTec AD screw. Each image has at most one defect,
and its class is where it sits, so a model needs spatial context:

| class             | defect                                            | where           |
|-------------------|---------------------------------------------------|-----------------|
| manipulated_front | blunted tip (material missing) with a dark face   | tip             |
| scratch_head      | bright or dark scratch, 2.5-5% of the screw wide   | head            |
| scratch_neck      | bright or dark scratch, 2.5-5% of the screw wide   | neck            |
| thread_side       | scuffed flanks of 3-5 thread ridges                | thread flank    |
| thread_top        | flattened crests of 3-5 thread ridges              | thread crest    |

Defects cover 0.05-2% of the image; about a fifth of the images have none. Writes the split
layout DIR/{train,valid,test}/{images,masks} (colorized masks, mvtec_screw palette), the MVTec
AD raw layout DIR/mvtec_ad/screw/{train/good,test/<defect>,ground_truth/<defect>}, and
DIR/dataset.toml. Deterministic for a seed.

Example:
    >>> import tempfile
    >>> written = write_dataset(tempfile.mkdtemp(), size=64, count=10, seed=1)
    >>> sorted(written.counts)
    ['test', 'train', 'valid']
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from flexseg.data.masks import colorize
from flexseg.data.palette import DATASET_FILE, Palette
from flexseg.data.splits import SPLITS, check_fractions, stratified_split
from flexseg.errors import FlexsegError
from flexseg.outputs import save_png, staged_folder, write_text_atomically
from flexseg.progress import progress as progress_bar

DEFECTS = ("manipulated_front", "scratch_head", "scratch_neck", "thread_side", "thread_top")
GOOD_FRACTION = 0.2
MIN_AREA, MAX_AREA = 0.0005, 0.02  # defect area as a fraction of the image


@dataclass(frozen=True)
class ScrewGeometry:
    """A screw in its own frame: u runs from the head (0) to the tip (length), v across."""

    length: float

    @property
    def head_end(self):
        return 0.18 * self.length

    @property
    def neck_end(self):
        return 0.34 * self.length

    @property
    def thread_end(self):
        return 0.86 * self.length

    @property
    def core(self):
        return 0.055 * self.length

    @property
    def crest(self):
        return 0.085 * self.length

    @property
    def pitch(self):
        return max(0.05 * self.length, 4.0)

    def ridge_phase(self, u):
        """0 at a crest, 1 at the core, per thread ridge (a triangular wave along u)."""
        return np.abs(((u - self.neck_end) / self.pitch) % 1.0 * 2.0 - 1.0)

    def half_width(self, u):
        head_radius = 0.13 * self.length
        head = head_radius * np.sqrt(np.clip(1 - ((u - self.head_end) / self.head_end) ** 2, 0, 1))
        neck = np.full_like(u, 0.06 * self.length)
        thread = self.crest - (self.crest - self.core) * self.ridge_phase(u)
        tip = self.core * np.clip((self.length - u) / (self.length - self.thread_end), 0, 1)
        width = np.where(u < self.head_end, head, neck)
        width = np.where(u >= self.neck_end, thread, width)
        width = np.where(u >= self.thread_end, tip, width)
        return np.where((u < 0) | (u > self.length), -1.0, width)


@dataclass
class Sample:
    image: np.ndarray  # (S, S) uint8
    labels: np.ndarray  # (S, S) uint8 class ids (0 = background)
    defect: str  # "good" or one of DEFECTS
    along: np.ndarray  # (S, S) position of each pixel along the screw axis, head 0 -> tip length
    geometry: ScrewGeometry


def render_sample(size: int, seed: int, index: int, defect: str | None = None) -> Sample:
    """One image and its labels; `defect` None draws good-or-defect at random."""
    rng = np.random.default_rng([seed, index])
    if defect is None:
        defect = "good" if rng.random() < GOOD_FRACTION else str(rng.choice(DEFECTS))
    screw = ScrewGeometry(length=0.72 * size)
    angle = rng.uniform(0, 2 * math.pi)
    margin = 0.5 * screw.length + 0.14 * screw.length
    cx, cy = rng.uniform(margin * 0.75, size - margin * 0.75, 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(angle) + dy * math.sin(angle) + screw.length / 2
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    background = _texture(rng, size)
    for _attempt in range(20):
        width = screw.half_width(u)
        labels = np.zeros((size, size), np.uint8)
        shade = np.zeros((size, size))
        if defect != "good":
            width, labels, shade = _draw_defect(rng, defect, screw, u, v, width)
            area = (labels > 0).mean()
            if not MIN_AREA <= area <= MAX_AREA:
                continue
        break
    else:  # pragma: no cover - the sampling ranges make this practically unreachable
        raise FlexsegError(f"could not place a {defect} defect of valid size at size={size}")
    alpha = np.clip(width - np.abs(v) + 0.5, 0.0, 1.0)  # anti-aliased silhouette
    metal = _metal(rng, screw, u, v, np.maximum(width, 1e-6)) + shade
    image = background * (1 - alpha) + metal * alpha
    image += rng.normal(0, 2.5, image.shape)
    return Sample(np.clip(np.rint(image), 0, 255).astype(np.uint8), labels, defect, u, screw)


def _texture(rng, size):
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), sigma=size / 40)
    noise /= max(np.abs(noise).max(), 1e-9)
    gradient = np.linspace(-6, 6, size)[None, :] * rng.choice([-1, 1])
    return 70 + 8 * noise + gradient


def _metal(rng, screw, u, v, width):
    across = np.cos(np.clip(np.abs(v) / width, 0, 1) * math.pi / 2)  # bright ridge along the axis
    ridges = np.where(
        (u > screw.neck_end) & (u < screw.thread_end), 18 * (0.5 - screw.ridge_phase(u)), 0.0
    )
    head = np.where(u < screw.head_end, 10.0, 0.0)
    return 120 + rng.uniform(-8, 8) + 70 * across + ridges + head


def _thread_stretch(rng, screw, ridges):
    """Start and length along the thread covering ridges[0]..ridges[1] ridges, inside it."""
    available = int((screw.thread_end - screw.neck_end) / screw.pitch) - 1
    count = int(rng.integers(min(ridges[0], available), min(ridges[1], available) + 1))
    span = max(count, 1) * screw.pitch
    low = screw.neck_end + 0.5 * screw.pitch
    high = max(low, screw.thread_end - span - 0.5 * screw.pitch)
    return rng.uniform(low, high), span


def _draw_defect(rng, defect, screw, u, v, width):
    class_id = DEFECTS.index(defect) + 1
    shade = np.zeros_like(u)
    inside = np.abs(v) <= width
    if defect in ("scratch_head", "scratch_neck"):
        start, end = (
            (0.03 * screw.length, screw.head_end * 0.95)
            if defect == "scratch_head"
            else (screw.head_end * 1.08, screw.neck_end * 0.97)
        )
        region = inside & (u > start) & (u < end)
        u0 = rng.uniform(start, end)
        v0 = rng.uniform(-0.6, 0.6) * np.median(width[region]) if region.any() else 0.0
        theta = rng.uniform(0, math.pi)
        reach = rng.uniform(0.15, 0.3) * screw.length
        along = (u - u0) * math.cos(theta) + (v - v0) * math.sin(theta)
        across = -(u - u0) * math.sin(theta) + (v - v0) * math.cos(theta)
        thickness = max(rng.uniform(0.025, 0.05) * screw.length, 1.5)
        mark = region & (np.abs(along) <= reach / 2) & (np.abs(across) <= thickness / 2)
        shade = np.where(mark, rng.choice([-1, 1]) * rng.uniform(28, 45), 0.0)
        return width, np.where(mark, class_id, 0).astype(np.uint8), shade
    if defect == "thread_side":
        side = rng.choice([-1, 1])
        u0, span = _thread_stretch(rng, screw, ridges=(3, 5))
        flank = (np.abs(v) > screw.core * 0.5) & inside & (np.sign(v) == side)
        mark = flank & (u >= u0) & (u <= u0 + span)
        shade = np.where(mark, -rng.uniform(30, 45), 0.0)
        return width, np.where(mark, class_id, 0).astype(np.uint8), shade
    if defect == "thread_top":
        side = rng.choice([-1, 1])
        u0, span = _thread_stretch(rng, screw, ridges=(3, 5))
        cut_to = screw.crest - rng.uniform(0.6, 0.9) * (screw.crest - screw.core)
        zone = (u >= u0) & (u <= u0 + span) & (np.sign(v) == side)
        new_width = np.where(zone, np.minimum(width, cut_to), width)
        removed = inside & (np.abs(v) > new_width)
        face = zone & (np.abs(v) <= new_width) & (np.abs(v) > new_width - 1.5)
        shade = np.where(face, rng.uniform(25, 40), 0.0)
        return new_width, np.where(removed | face, class_id, 0).astype(np.uint8), shade
    # manipulated_front: the tip is blunted; the missing material and the new face are the defect
    tip_length = screw.length - screw.thread_end
    cut = screw.length - rng.uniform(0.5, 0.9) * tip_length
    new_width = np.where(u > cut, -1.0, width)
    removed = inside & (u > cut)
    face = (u <= cut) & (u > cut - 2.0) & inside
    shade = np.where(face, -rng.uniform(35, 50), 0.0)
    return new_width, np.where(removed | face, class_id, 0).astype(np.uint8), shade


@dataclass
class WrittenDataset:
    """Where the dataset went (its split layout is at `root`) and images per split and kind."""

    root: Path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def write_dataset(
    out: str | Path,
    *,
    size: int = 256,
    count: int = 240,
    seed: int = 0,
    split: tuple[float, float, float] = (0.6, 0.2, 0.2),
    progress: bool = False,
) -> WrittenDataset:
    """Render `count` samples and write both layouts under `out`; returns the per-split counts."""
    if size < 32:
        raise FlexsegError(f"size must be at least 32 pixels; got {size}.")
    if count < 3:
        raise FlexsegError(f"count must be at least 3 (one image per split); got {count}.")
    split = check_fractions(split)
    out = Path(out)
    palette = Palette.load("mvtec_screw")
    samples = [
        render_sample(size, seed, i) for i in progress_bar(range(count), "render", enabled=progress)
    ]
    assignment = stratified_split([s.defect for s in samples], split, seed)
    written = WrittenDataset(out)
    with staged_folder(out) as staging:
        _write_layouts(staging, samples, assignment, palette, written, progress)
        write_text_atomically(
            staging / DATASET_FILE,
            palette.describe_dataset(
                "python -m flexseg.data.synthetic",
                {
                    "name": "synthetic_screw",
                    "size": size,
                    "count": count,
                    "seed": seed,
                    "split": list(split),
                    "palette": "mvtec_screw",
                },
                {part: written.counts.get(part, {}) for part in SPLITS},
            ),
        )
    return written


def _write_layouts(out, samples, assignment, palette, written, progress):
    raw = out / "mvtec_ad" / "screw"
    for index, (sample, part) in enumerate(
        progress_bar(list(zip(samples, assignment, strict=True)), "write", enabled=progress)
    ):
        stem = f"{index:04d}"
        save_png(out / part / "images" / f"{stem}.png", sample.image)
        save_png(out / part / "masks" / f"{stem}.png", colorize(sample.labels, palette))
        written.counts.setdefault(part, {}).setdefault(sample.defect, 0)
        written.counts[part][sample.defect] += 1
        if sample.defect == "good" and part == "train":
            save_png(raw / "train" / "good" / f"{stem}.png", sample.image)
            continue
        save_png(raw / "test" / sample.defect / f"{stem}.png", sample.image)
        if sample.defect != "good":
            binary = np.where(sample.labels > 0, 255, 0).astype(np.uint8)
            save_png(raw / "ground_truth" / sample.defect / f"{stem}_mask.png", binary)


if __name__ == "__main__":  # python -m flexseg.data.synthetic: the same as flexseg data synthetic
    from flexseg.cli.data import main

    sys.exit(main("synthetic"))
