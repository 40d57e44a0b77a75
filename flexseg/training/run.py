"""One training run from a config: data, model, loss, metrics, callbacks, resume.

Example (a tiny run):
    python -m flexseg.train run.toml --set train.epochs=2
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np

import flexseg
from flexseg.config import Config, ConfigError
from flexseg.config.toml_writer import dumps
from flexseg.data.dataset import SegmentationDataset
from flexseg.data.outputs import write_text_atomically
from flexseg.losses import get_loss
from flexseg.metrics.training import training_metrics
from flexseg.runtime import resolve_precision, speed_up_process
from flexseg.training.callbacks import EpochChangeInference, EpochLogs, TimeLimit

BACKUP = "backup"


def prepare_run_dir(config: Config) -> tuple[Path, bool]:
    """Create the run folder, or resume an interrupted run; never overwrite a finished one."""
    run_dir = config.path(config.train["run_dir"])
    saved = run_dir / "config.toml"
    resolved = dumps(config.to_dict())
    if (run_dir / BACKUP).is_dir():
        if saved.is_file() and saved.read_text() != resolved:
            raise ConfigError(
                f"{run_dir}: holds an interrupted run started with a different config "
                f"({saved}); rerun with that config to resume, or choose another train.run_dir."
            )
        return run_dir, True
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(
            f"{run_dir}: already holds a run's results; choose another train.run_dir "
            "(e.g. --set train.run_dir=runs/new) so they are not overwritten."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(saved, resolved)
    return run_dir, False


def learning_rate(settings: dict, steps_per_epoch: int):
    """A float, or a cosine decay to 1% over train.epochs (exclusive with reduce-on-plateau)."""
    if settings["lr_schedule"] == "constant":
        return settings["learning_rate"]
    if settings["reduce_lr_patience"]:
        raise ConfigError(
            'train.lr_schedule = "cosine" sets the learning rate at every step, so '
            "train.reduce_lr_patience cannot also change it; set train.reduce_lr_patience = 0."
        )
    return keras.optimizers.schedules.CosineDecay(
        settings["learning_rate"], decay_steps=settings["epochs"] * steps_per_epoch, alpha=0.01
    )


def make_optimizer(settings: dict, steps_per_epoch: int = 1) -> keras.optimizers.Optimizer:
    clipping = {k: settings[k] for k in ("clipvalue", "clipnorm") if settings[k] is not None}
    decay = settings["weight_decay"]
    rate = learning_rate(settings, steps_per_epoch)
    if settings["optimizer"] == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=rate,
            weight_decay=0.004 if decay is None else decay,
            **clipping,
        )
    if decay is not None:
        raise ConfigError(
            f"train.weight_decay={decay} applies to optimizer adamw only; set "
            'train.optimizer = "adamw" or remove train.weight_decay.'
        )
    return keras.optimizers.Adam(learning_rate=rate, **clipping)


def datasets(config: Config):
    palette = config.palette()
    root = config.path(config.data["root"])
    data, train = config.data, config.train
    common = dict(
        palette=palette,
        image_size=tuple(data["image_size"]) if data["image_size"] else None,
        batch_size=train["batch_size"],
        channels=data["channels"],
        scale=data["scale"],
        mask_format=data["mask_format"],
        off_palette=data["off_palette"],
        class_weights=data["class_weights"],
        workers=train["workers"],
    )
    training = SegmentationDataset(
        root,
        split="train",
        shuffle=True,
        seed=train["seed"],
        augmentation=data["augmentation"] or None,
        **common,
    )
    validation = SegmentationDataset(root, split="valid", **common)
    return palette, training, validation


def build_model(config: Config, palette, image_size) -> keras.Model:
    settings = config.model_settings()
    settings.setdefault("num_classes", palette.num_classes)
    shape = (*image_size, config.data["channels"])
    if "input_shape" in settings and tuple(settings["input_shape"]) != shape:
        raise ConfigError(
            f"{config.source}: model.input_shape {settings['input_shape']} disagrees with the "
            f"data ({shape}: data.image_size and data.channels); drop model.input_shape."
        )
    settings["input_shape"] = shape
    return flexseg.build(config.model["name"], **settings)


def train(config: Config, verbose: int | str = "auto") -> dict:
    """Train, log and checkpoint into train.run_dir; returns the history of all epochs."""
    speed_up_process()
    keras.utils.set_random_seed(config.train["seed"])
    run_dir, resuming = prepare_run_dir(config)
    palette, training, validation = datasets(config)
    t = config.train
    previous_policy = keras.config.dtype_policy()
    precision = resolve_precision(t["precision"])
    if verbose != 0 and precision != t["precision"]:
        print(f"train.precision = {t['precision']!r}: training in {precision}")
    keras.config.set_dtype_policy(precision)
    try:
        model = build_model(config, palette, training.image_size)
    finally:  # layers keep the policy they were built with; nothing else changes
        keras.config.set_dtype_policy(previous_policy)
    model.compile(
        optimizer=make_optimizer(t, len(training)),
        loss=get_loss(t["loss"]),
        metrics=training_metrics(palette.names, legacy_dice=t["legacy_dice_metric"]),
    )
    history_path = run_dir / "history.json"
    best_so_far = None
    if resuming and history_path.is_file():
        scores = [r.get("val_fg_miou") for r in json.loads(history_path.read_text())["epochs"]]
        best_so_far = max((s for s in scores if s is not None), default=None)
        print(f"Resuming the interrupted run in {run_dir}")
    callbacks = [
        EpochLogs(run_dir),
        keras.callbacks.ModelCheckpoint(
            run_dir / "best.keras",
            monitor="val_fg_miou",
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    if t["epoch_change_images"]:
        count = min(t["epoch_change_images"], len(validation.pairs))
        loaded = [validation.load_pair(pair) for pair in validation.pairs[:count]]
        images = np.stack([image for image, _ in loaded]).astype("float32")
        if config.data["scale"] == "unit":
            images = images / 255.0
        labels = np.stack([labels for _, labels in loaded])
        callbacks.append(EpochChangeInference(images, labels, palette, run_dir / "epoch_change"))
    if t["reduce_lr_patience"]:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=t["reduce_lr_factor"],
                patience=t["reduce_lr_patience"],
                min_lr=t["min_learning_rate"],
                verbose=1,
            )
        )
    if t["patience"]:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=t["patience"], verbose=1)
        )
    if t["max_minutes"] is not None:
        callbacks.append(TimeLimit(t["max_minutes"]))
    if t["tensorboard"]:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    # Last: the backup of an epoch is taken only after its logs are written.
    # Two backups: a kill while one is being written leaves the other to resume from.
    callbacks.append(
        keras.callbacks.BackupAndRestore(str(run_dir / BACKUP), double_checkpoint=True)
    )
    model.fit(
        training,
        validation_data=validation,
        epochs=t["epochs"],
        callbacks=callbacks,
        verbose=verbose,
    )
    model.save(run_dir / "last.keras")
    if (run_dir / BACKUP).exists():  # stopped by NaN: keep no stale backup that would resume
        shutil.rmtree(run_dir / BACKUP)
    return json.loads(history_path.read_text())
