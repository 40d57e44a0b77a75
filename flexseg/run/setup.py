"""RunSetup: what a config makes of a run, in one place, for every command.

`flexseg train`, `tune`, `evaluate`, `infer` and the demo all build their datasets, models,
optimizers, losses, metrics and callbacks here, so a tuned trial trains exactly as the
`best.toml` it writes will train, and evaluation reads images exactly as training did.

Example:
    >>> import tempfile
    >>> from flexseg.config import config_from_dict
    >>> from flexseg.data.synthetic import write_dataset
    >>> root = write_dataset(tempfile.mkdtemp(), size=32, count=6, seed=0, progress=False).root
    >>> config = config_from_dict({"model": {"name": "flexunet", "num_layers": 2},
    ...                            "data": {"root": str(root), "palette": "mvtec_screw"},
    ...                            "train": {"precision": "float32"}})
    >>> setup = RunSetup(config)
    >>> training, validation = setup.training_data()
    >>> model = setup.compiled_model(len(training), training.image_size)
    >>> model.output_shape, model.loss.name, setup.precision
    ((None, 32, 32, 6), 'cce', 'float32')
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

import flexseg
from flexseg.config import Config, ConfigError
from flexseg.data.check import check_dataset
from flexseg.data.pipeline.dataset import SegmentationDataset
from flexseg.errors import FlexsegError
from flexseg.metrics.training import training_metrics
from flexseg.models.parts.base import (
    FOLDED_FACTORS,
    INFERENCE_FACTORS,
    SegmentationModel,
    dtype_policy_scope,
)
from flexseg.run.callbacks import (
    EpochChangeInference,
    EpochLogs,
    EpochRandomState,
    Forwarding,
    ReplayEpochs,
    TimeLimit,
)
from flexseg.run.distribution import Distribution
from flexseg.run.losses import get_loss
from flexseg.run.optimizers import make_optimizer
from flexseg.run.speedups import speed_up
from flexseg.runtime import fit_callbacks, resolve_precision

BACKUP = "backup"  # the folder of Keras's BackupAndRestore inside a run folder
# What a trained model runs in, whatever train.precision it trained in: evaluate, infer and
# export run it so, and the search times it so (a .keras file keeps no dtype policy anyway).
INFERENCE_PRECISION = "float32"


class RunSetup:
    """Datasets, the compiled model, callbacks and the trained model of one config.

    Args:
        config: a checked `Config`; its palette is parsed once, when it loads.
        distribution: how training is spread over devices and processes (started by
            `flexseg.run.distribution.start`); one device by default.
    """

    def __init__(self, config: Config, distribution: Distribution | None = None):
        self.config = config
        self.palette = config.palette()
        self.distribution = distribution or Distribution()

    @functools.cached_property
    def precision(self) -> str:
        """The Keras dtype policy models are built under: train.precision, "auto" resolved."""
        return resolve_precision(self.config.train["precision"])

    # === Data ===

    def dataset(self, split: str, **settings: Any) -> SegmentationDataset:
        """A split of data.root read as the config says; `settings` add or override
        `SegmentationDataset` arguments (shuffle, labels, batch_size, ...)."""
        data = self.config.data
        size = data["image_size"]
        arguments = {
            "palette": self.palette,
            "image_size": tuple(size) if size else None,
            "batch_size": self.config.train["batch_size"],
            "channels": data["channels"],
            "scale": data["scale"],
            "mask_format": data["mask_format"],
            "off_palette": data["off_palette"],
            **settings,
        }
        return SegmentationDataset(self.config.data_root, split=split, **arguments)

    def check_data(self, splits: tuple[str, ...], progress: bool = False) -> None:
        """Check every pair of `splits` in full before long work starts (flexseg.data.check);
        raises a DataError listing all the problems found."""
        data = self.config.data
        check_dataset(
            self.config.data_root,
            self.palette,
            splits=splits,
            mask_format=data["mask_format"],
            off_palette=data["off_palette"],
            channels=data["channels"],
            one_size=data["image_size"] is None,
            progress=progress,
        ).raise_on_problems()

    def training_data(self) -> tuple[SegmentationDataset, SegmentationDataset]:
        """(train, valid) as `model.fit` takes them: the training split shuffled and augmented,
        both with the class weights (so val_loss weighs classes as the loss does). Under
        data-parallel training each holds this process's part of every batch; validation's
        padding weighs 0, so every image is scored once."""
        data, train = self.config.data, self.config.train
        common = {"class_weights": data["class_weights"], "workers": train["workers"]}
        training = self.dataset(
            "train",
            shuffle=True,
            seed=train["seed"],
            augmentation=data["augmentation"] or None,
            shard=self.distribution.shard("repeat"),
            **common,
        )
        return training, self.dataset("valid", shard=self.distribution.shard("ignore"), **common)

    def evaluation_data(self, model: keras.Model) -> SegmentationDataset:
        """eval.split at the model's input size (or data.image_size), with sparse labels."""
        height, width = model.input_shape[1:3]
        size = (height, width) if height and width else self.config.data["image_size"]
        return self.dataset(
            self.config.eval["split"],
            image_size=tuple(size) if size else None,
            batch_size=self.config.eval["batch_size"],
            labels="sparse",
        )

    # === Model ===

    def build_model(self, image_size: tuple[int, int]) -> keras.Model:
        """The config's [model] for images of `image_size`, built under the run's precision
        (layers keep the policy they were built with; the global policy is restored) and in
        the distribution's scope; with train.class_weight_correction, its probabilities are
        divided by data.class_weights ** that at inference (`inference_class_factors`)."""
        config = self.config
        settings = config.model_settings()
        settings.setdefault("num_classes", self.palette.num_classes)
        shape = (*image_size, config.data["channels"])
        if "input_shape" in settings and tuple(settings["input_shape"]) != shape:
            raise ConfigError(
                f"{config.source}: model.input_shape {settings['input_shape']} disagrees with "
                f"the data ({shape}: data.image_size and data.channels); drop model.input_shape."
            )
        settings["input_shape"] = shape
        if settings.pop(FOLDED_FACTORS, False):
            raise ConfigError(
                f"{config.source}: model.{FOLDED_FACTORS} is for inference models (flexseg "
                "evaluate, infer and export fold the correction themselves); a model trained "
                "with it would train the shifted bias. Drop it."
            )
        factors = self.inference_factors()
        if factors:
            settings[INFERENCE_FACTORS] = factors
        with dtype_policy_scope(self.precision), self.distribution.scope():
            return self.distribution.prepare(flexseg.build(config.model["name"], **settings))

    def inference_factors(self) -> list[float] | None:
        """data.class_weights ** -train.class_weight_correction: what the model's probabilities
        are multiplied by at inference; None without a correction."""
        strength = self.config.train["class_weight_correction"]
        if not strength:
            return None
        weights = self.palette.weights(self.config.data["class_weights"])
        return [weight**-strength for weight in weights]

    def compile(self, model: keras.Model, steps_per_epoch: int) -> keras.Model:
        """Compile with the config's optimizer, loss and metrics; returns the model.

        The optimizer's variables are made here: TensorFlow would otherwise make them while
        tracing the first step, and trace that step twice (a third of a 1.9M-parameter
        U-Net's start-up on a 2-core CPU). `flexseg.run.speedups` then applies the
        backend's speed-ups: on torch, the convolution kernels' layout and the Adam step; on
        JAX (CPU), small-map convolutions as one matrix product; on TensorFlow, Adam as one
        fused kernel."""
        train = self.config.train
        with self.distribution.scope():
            model.compile(
                optimizer=make_optimizer(train, steps_per_epoch),
                loss=get_loss(train["loss"]),
                metrics=training_metrics(
                    self.palette.names, legacy_dice=train["legacy_dice_metric"]
                ),
            )
            model.optimizer.build(model.trainable_variables)
        speed_up(model)
        return model

    def compiled_model(self, steps_per_epoch: int, image_size: tuple[int, int]) -> keras.Model:
        """`build_model` then `compile`: the model a run fits."""
        return self.compile(self.build_model(image_size), steps_per_epoch)

    # === Callbacks ===

    def control_callbacks(self) -> list[keras.callbacks.Callback]:
        """What steers training, in every run and every tuning trial: stop on NaN, reduce the
        learning rate on a plateau, stop early, stop after train.max_minutes, each epoch's
        random state; and what the backend's process settings need during fit
        (flexseg.runtime.fit_callbacks)."""
        train = self.config.train
        callbacks: list[keras.callbacks.Callback] = [
            keras.callbacks.TerminateOnNaN(),
            EpochRandomState(train["seed"]),
            *fit_callbacks(),
        ]
        if train["reduce_lr_patience"]:
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss",
                    factor=train["reduce_lr_factor"],
                    patience=train["reduce_lr_patience"],
                    min_lr=train["min_learning_rate"],
                    verbose=1,
                )
            )
        if train["patience"]:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=train["patience"], verbose=1
                )
            )
        if train["max_minutes"] is not None:
            # Every process stops after the same epoch: when the time is up in any of them.
            callbacks.append(TimeLimit(train["max_minutes"], agree=self.distribution.any_process))
        return callbacks

    def run_callbacks(
        self,
        run_dir: Path,
        validation: SegmentationDataset,
        best_so_far: float | None = None,
        completed_epochs: list[dict] | None = None,
    ) -> list[keras.callbacks.Callback]:
        """The control callbacks plus what writes a run folder: logs and plots, the best
        checkpoint (by val_fg_miou, above `best_so_far` when resuming), epoch-change images,
        TensorBoard, and the backup a killed run resumes from (last, so that an epoch's backup
        is taken only after its logs are written). In data-parallel training only the chief
        process writes; the others keep the logs in memory and read the chief's backup.

        When resuming, the `completed_epochs` (history.json's rows up to the backup's) are
        replayed through early stopping and learning-rate reduction, which then go on
        counting epochs without improvement where the interrupted run left them."""
        train, distribution = self.config.train, self.distribution
        chief = distribution.is_chief
        callbacks: list[keras.callbacks.Callback] = [
            EpochLogs(run_dir, about=distribution.describe(), write=chief)
        ]
        if chief:
            checkpoint = keras.callbacks.ModelCheckpoint(
                run_dir / "best.keras",
                monitor="val_fg_miou",
                mode="max",
                save_best_only=True,
                initial_value_threshold=best_so_far,
            )
            callbacks.append(self._saving(checkpoint))
        if train["epoch_change_images"]:
            images, labels = validation.first_images(train["epoch_change_images"])
            folder = run_dir / "epoch_change" if chief else None  # computed in every process
            callbacks.append(EpochChangeInference(images, labels, self.palette, folder))
        control = self.control_callbacks()
        callbacks += control
        if completed_epochs:
            plateau = (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau)
            counting = [c for c in control if isinstance(c, plateau)]
            callbacks.append(ReplayEpochs(counting, completed_epochs))
        if train["tensorboard"] and chief:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
        # Two backups: a kill while one is being written leaves the other to resume from.
        backup = keras.callbacks.BackupAndRestore(str(run_dir / BACKUP), double_checkpoint=True)
        callbacks.append(self._saving(backup, writes=chief))
        return callbacks

    def _saving(self, callback: keras.callbacks.Callback, writes: bool = True):
        """`callback` run in the distribution's saving context (several JAX processes), and
        with `writes=False` only as far as it restores."""
        if self.distribution.num_processes == 1:
            return callback
        return Forwarding(callback, self.distribution.saving, writes=writes)

    # === A trained run ===

    def checkpoint(self, path: str | Path | None = None) -> Path:
        """`path`, or by default the run's best.keras."""
        return Path(path) if path else self.config.run_dir / "best.keras"

    def trained_model(self, checkpoint: str | Path | None = None) -> keras.Model:
        """The run's best.keras (or `checkpoint`), checked against the palette's classes, with
        the config's class-weight correction (a checkpoint trained with another one gets this
        one: it has no weights, so a correction can be chosen after training) folded into its
        class head where it allows (no extra cost), in float32 (INFERENCE_PRECISION)
        whatever precision it trained in."""
        path = self.checkpoint(checkpoint)
        if not path.is_file():
            raise FlexsegError(
                f"{path}: no checkpoint; train first (python -m flexseg.train CONFIG) or "
                "pass --checkpoint."
            )
        model = keras.models.load_model(path, compile=False)
        self.palette.check_num_classes(model.output_shape[-1])
        model = self._with_inference_factors(model, path)
        speed_up(model)
        return model

    def _with_inference_factors(self, model: keras.Model, path: Path) -> keras.Model:
        """`model` with this config's inference factors (folded), in INFERENCE_PRECISION, its
        weights kept."""
        factors = self.inference_factors()
        if isinstance(model, SegmentationModel):
            return model.with_inference_factors(factors, INFERENCE_PRECISION, fold=True)
        if factors:
            raise FlexsegError(
                f"{path}: train.class_weight_correction needs a flexseg architecture's model "
                f"(this is a {type(model).__name__}); set it to 0 for this checkpoint."
            )
        return model

    def with_model(self, model: Mapping[str, Any], **sections: Mapping[str, Any]) -> RunSetup:
        """The setup of this config with another [model] and some keys of other sections
        replaced: a tuning trial's `with_model({"name": "unet", ...}, train={...})`."""
        config = self.config.with_model(dict(model)).replaced(**sections)
        return RunSetup(config, self.distribution)


def inference_model(model: keras.Model) -> keras.Model:
    """`model` as `flexseg evaluate` and `infer` run it once trained: a flexseg model built in
    mixed precision is rebuilt in float32 (INFERENCE_PRECISION) with its weights and inference
    factors (folded into its class head where it allows); with the backend's speed-ups. What
    the search times (untrained: the same cost).

    Example:
        >>> import flexseg
        >>> from flexseg.models.parts.base import dtype_policy_scope
        >>> with dtype_policy_scope("mixed_bfloat16"):
        ...     model = flexseg.build("unet", num_classes=2, input_shape=(32, 32, 1),
        ...                           base_filters=4, num_layers=3)
        >>> model.dtype_policy.name, inference_model(model).dtype_policy.name
        ('mixed_bfloat16', 'float32')
    """
    if isinstance(model, SegmentationModel):
        factors = model.get_config().get(INFERENCE_FACTORS)
        model = model.with_inference_factors(factors, INFERENCE_PRECISION, fold=True)
    speed_up(model)
    return model
