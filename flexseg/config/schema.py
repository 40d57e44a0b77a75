"""The keys of a flexseg config, their types, defaults and allowed values.

Sections: [model] (an architecture or preset `name` plus its settings, checked against that
architecture), [data], [train], [eval], [infer], [tune]. Every other key is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """One config key: accepted Python types, default, and optional choices or range."""

    types: tuple[type, ...]
    default: Any = REQUIRED
    help: str = ""
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None  # for lists: exact number of items
    nullable: bool = False


INT, FLOAT, NUMBER = (int,), (float,), (int, float)
STR, BOOL, LIST, TABLE = (str,), (bool,), (list,), (dict,)

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # Keras dtype policies
DISTRIBUTIONS = ("none", "data_parallel")  # train.distribution, see flexseg.run.distribution
TUNERS = ("random", "bayesian", "hyperband")  # KerasTuner's tuners
# What a search can maximize or minimize, and which way.
OBJECTIVES = {"val_fg_miou": "max", "val_loss": "min"}
SEARCHED_LOSSES = ["cce", "cce+dice", "cce+tversky", "focal+dice"]

SCHEMA: dict[str, dict[str, Key]] = {
    "model": {
        "name": Key(STR, "flexunet", "architecture or preset, see `flexseg models`"),
    },
    "data": {
        "root": Key(STR, REQUIRED, "dataset root holding train/, valid/, test/"),
        "palette": Key(
            STR + LIST,
            None,
            "preset name, TOML/ini path, dataset folder, or inline classes "
            "(default: the dataset.toml in data.root)",
            nullable=True,
        ),
        "image_size": Key(LIST, None, "[height, width] to resize to", length=2, nullable=True),
        "channels": Key(INT, 3, "1 (gray) or 3 (RGB)", choices=(1, 3)),
        "scale": Key(STR, "raw", "raw 0-255 pixels or unit 0-1", choices=("raw", "unit")),
        "mask_format": Key(STR, "color", "colorized or index masks", choices=("color", "index")),
        "off_palette": Key(STR, "error", "", choices=("error", "nearest", "ignore")),
        "class_weights": Key(LIST + TABLE, None, "per-class loss weights", nullable=True),
        "augmentation": Key(TABLE, {}, "online augmentation, see flexseg.data.Augmentation"),
    },
    "train": {
        "epochs": Key(INT, 100, "", minimum=1),
        "batch_size": Key(INT, 2, "", minimum=1),
        "optimizer": Key(STR, "adam", "", choices=("adam", "adamw")),
        "learning_rate": Key(NUMBER, 1e-3, "", minimum=0),
        "lr_schedule": Key(
            STR,
            "constant",
            "constant, or cosine decay over train.epochs",
            choices=("constant", "cosine"),
        ),
        "precision": Key(
            STR,
            "auto",
            "auto (mixed_bfloat16 with TensorFlow on a CPU with native bfloat16, else float32), "
            "float32, or mixed precision: mixed_bfloat16 (fast on CPUs with AVX-512 BF16 and "
            "on recent GPUs), mixed_float16 (GPUs); variables stay float32",
            choices=("auto", *PRECISIONS),
        ),
        "weight_decay": Key(NUMBER, None, "AdamW only (default 0.004)", minimum=0, nullable=True),
        "clipvalue": Key(NUMBER, None, "gradient clipping by value", minimum=0, nullable=True),
        "clipnorm": Key(NUMBER, None, "gradient clipping by norm", minimum=0, nullable=True),
        "loss": Key(STR, "cce", "cce, dice, focal, tversky, or sums like cce+dice"),
        "class_weight_correction": Key(
            NUMBER,
            0,
            "at inference, probabilities divided by data.class_weights ** this (0: off, 1: the "
            "weighting undone); a weighted loss over-predicts the weighted classes",
            minimum=0,
        ),
        "patience": Key(INT, 10, "early stopping patience in epochs (0: off)", minimum=0),
        "reduce_lr_patience": Key(INT, 4, "epochs without improvement (0: off)", minimum=0),
        "reduce_lr_factor": Key(NUMBER, 0.5, "", minimum=0, maximum=1),
        "min_learning_rate": Key(NUMBER, 1e-7, "", minimum=0),
        "seed": Key(INT, 0, ""),
        "run_dir": Key(STR, "runs/default", "where checkpoints, logs and plots go"),
        "epoch_change_images": Key(INT, 6, "validation images drawn every epoch", minimum=0),
        "legacy_dice_metric": Key(BOOL, False, "also log the original's dice_coef_multiclass"),
        "tensorboard": Key(BOOL, False, ""),
        "workers": Key(INT, 1, "data-loading threads", minimum=1),
        "max_minutes": Key(
            NUMBER, None, "stop after the epoch that passes this", minimum=0, nullable=True
        ),
        "distribution": Key(
            STR,
            "none",
            "data_parallel: one model copy per device, train.batch_size split among them "
            "(JAX: keras.distribution; TensorFlow: tf.distribute; not torch)",
            choices=DISTRIBUTIONS,
        ),
        "devices": Key(
            INT + LIST,
            None,
            "data_parallel on the first N local devices, or a list of local device indices "
            "(default: every local accelerator, else every local CPU device)",
            minimum=1,
            nullable=True,
        ),
        "coordinator": Key(
            STR, None, "JAX, several processes: host:port of process 0", nullable=True
        ),
        "num_processes": Key(
            INT, None, "JAX, several processes: how many", minimum=1, nullable=True
        ),
        "process_id": Key(
            INT,
            None,
            "JAX, several processes: this one's (0 is the chief)",
            minimum=0,
            nullable=True,
        ),
    },
    "eval": {
        "split": Key(STR, "test", "", choices=("train", "valid", "test")),
        "batch_size": Key(INT, 2, "", minimum=1),
    },
    "infer": {
        "input": Key(STR, None, "image folder (searched recursively)", nullable=True),
        "output": Key(STR, None, "output folder (never inside the input)", nullable=True),
        "tile_size": Key(INT, None, "tile side for large images", minimum=16, nullable=True),
        "tile_overlap": Key(INT, 64, "overlap between tiles in pixels", minimum=0),
        "tile_batch": Key(INT, 16, "tiles per model call (one shape: one compilation)", minimum=1),
        "flip_tta": Key(BOOL, False, "average with flipped predictions"),
        "overlay": Key(BOOL, True, ""),
        "panel": Key(BOOL, False, "image | prediction side by side"),
        "probabilities": Key(BOOL, False, "also write class probabilities (.npz)"),
    },
    "tune": {
        "architectures": Key(
            LIST, [], "architectures to search (default: model.name's)", nullable=True
        ),
        "tuner": Key(STR, "random", "KerasTuner's search algorithm", choices=TUNERS),
        "max_trials": Key(INT, 10, "trials to run (hyperband: its own schedule)", minimum=1),
        "epochs": Key(INT, 5, "epochs per trial (hyperband: the most)", minimum=1),
        "executions_per_trial": Key(
            INT, 1, "trainings per trial from new initial weights; scored by their mean", minimum=1
        ),
        "time_budget": Key(
            NUMBER,
            None,
            "minutes; no trial starts that would end past it",
            minimum=0,
            nullable=True,
        ),
        "objective": Key(STR, "val_fg_miou", "", choices=tuple(OBJECTIVES)),
        "start_from_config": Key(
            BOOL, False, "first trial: the config's own model and training, the baseline"
        ),
        "constraints": Key(LIST, [], "e.g. ['params<=2e6', 'macs<=5e9', 'latency_ms<=50']"),
        "learning_rate": Key(
            NUMBER + LIST, [1e-4, 1e-2], "[low, high] searched on a log scale, or one value"
        ),
        "loss": Key(STR + LIST, SEARCHED_LOSSES, "losses to choose from, or one"),
        "batch_size": Key(INT + LIST, [], "batch sizes to choose from (default: train's)"),
        "class_weight_correction": Key(
            NUMBER + LIST, [], "class-weight corrections to choose from (default: train's)"
        ),
        "settings": Key(
            TABLE, {}, "per architecture, a search setting fixed (a value) or narrowed (a list)"
        ),
    },
}
