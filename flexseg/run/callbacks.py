"""flexseg's own callbacks: a run's logs (CSVs and plots per epoch, history.json), the
epoch-change images, the time limit, the random state of each epoch, the replay of an
interrupted run's epochs through the plateau callbacks, and a forwarder that runs Keras's
saving callbacks in a context. `RunSetup` adds them beside Keras's own.

Log files are rewritten whole at each epoch end (temporary name, then rename), keyed by
epoch, so a run that is killed and resumed keeps every completed epoch exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keras
import numpy as np
from PIL import Image

from flexseg.data.masks import colorize
from flexseg.data.palette import Palette
from flexseg.outputs import save_figure, write_text_atomically


class EpochLogs(keras.callbacks.Callback):
    """train_losses.csv / train_metrics.csv with PNG plots, and history.json, every epoch.

    history.json holds {"run": `about` (backend, distribution, devices, processes), "epochs":
    one row per epoch}; with `write=False` the rows are only kept (`history`)."""

    def __init__(self, run_dir: Path, about: dict[str, Any] | None = None, write: bool = True):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.history_path = self.run_dir / "history.json"
        self.about = about or {}
        self.write = write
        self.rows: list[dict] = []

    @property
    def history(self) -> dict[str, Any]:
        """What history.json holds."""
        return {"run": self.about, "epochs": self.rows}

    def on_train_begin(self, logs=None):
        if self.history_path.is_file():
            self.rows = json.loads(self.history_path.read_text())["epochs"]

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if not self.write:
            return
        write_text_atomically(self.history_path, json.dumps(self.history, indent=1) + "\n")
        losses = [k for k in row if k == "loss" or k == "val_loss" or k.endswith("_loss")]
        metrics = [k for k in row if k not in losses and k != "epoch"]
        for name, keys in (("train_losses", losses), ("train_metrics", metrics)):
            self._write_csv(self.run_dir / f"{name}.csv", ["epoch", *keys])
            self._plot(self.run_dir / f"{name}.png", keys, log_scale=name == "train_losses")

    def _write_csv(self, path: Path, columns: list[str]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow([row.get(c, "") for c in columns])
        write_text_atomically(path, buffer.getvalue())

    def _plot(self, path: Path, keys: list[str], log_scale: bool) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        shown = [k for k in keys if k != "learning_rate"]
        figure, axis = plt.subplots(figsize=(8, 4.5))
        epochs = [r["epoch"] for r in self.rows]
        for key in shown:
            style = "--" if key.startswith("val_") else "-"
            axis.plot(epochs, [r.get(key, np.nan) for r in self.rows], style, label=key)
        if log_scale:
            axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7, ncol=2)
        axis.grid(alpha=0.3)
        figure.tight_layout()
        save_figure(figure, path, dpi=90)


class TimeLimit(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends past `minutes` of training.

    `agree` turns this process's verdict into the one every process acts on (data-parallel
    training: stop when the time is up in any process)."""

    def __init__(self, minutes: float, agree: Callable[[bool], bool] | None = None):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.agree = agree
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        over = time.monotonic() - self._start > self.seconds
        if self.agree is not None:
            over = self.agree(over)
        if over:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            print(f"Stopping after epoch {epoch + 1}: the time limit of "
                  f"{self.seconds / 60:g} minutes is reached.")  # fmt: skip


class EpochRandomState(keras.callbacks.Callback):
    """Each epoch's random draws (dropout) come from the run's `seed` and the epoch only: at
    an epoch's start the global random state is seeded from both (on torch, dropout draws
    on it), and the model's seed generators (the other backends' dropout) have their counters
    set to the epoch's. Keras's backup keeps neither, so without this a resumed run would
    draw its first epoch's masks again.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5, seed=1)])
        >>> callback = EpochRandomState(seed=0)
        >>> callback.set_model(model)
        >>> callback.on_epoch_begin(3)
        >>> [int(v) for v in keras.ops.convert_to_numpy(model.variables[0])]
        [1, 3145728]
    """

    STRIDE = 2**20  # the draws an epoch may take before it would reach the next epoch's

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        keras.utils.set_random_seed((self.seed * 100_003 + epoch) % 2**32)
        for state in self.model.variables:
            if state.name == "seed_generator_state":  # [seed, counter] of a SeedGenerator
                seed = keras.ops.convert_to_numpy(state)[0]
                counter = epoch * self.STRIDE % 2**31
                state.assign(keras.ops.convert_to_tensor([seed, counter], dtype=state.dtype))


class ReplayEpochs(keras.callbacks.Callback):
    """At the start of a resumed fit, the interrupted run's completed `epochs` (history.json's
    rows) replayed through `callbacks` that count epochs without improvement (early stopping,
    learning-rate reduction on a plateau), so they go on counting as in the uninterrupted run.

    It must come after them in fit's list: their `on_train_begin` resets them first. They see
    a stand-in model, so the replay changes nothing of the real one (the backup brings its
    learning rate back) and ends no training.

    Example:
        >>> import keras
        >>> stop = keras.callbacks.EarlyStopping(patience=3)
        >>> replay = ReplayEpochs([stop], [{"epoch": 1, "val_loss": 0.5},
        ...                                {"epoch": 2, "val_loss": 0.6}])
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> for callback in (stop, replay):
        ...     callback.set_model(model)
        ...     callback.on_train_begin()
        >>> stop.best, stop.wait
        (0.5, 1)
    """

    def __init__(self, callbacks: list[keras.callbacks.Callback], epochs: list[dict]):
        super().__init__()
        self.callbacks, self.epochs = callbacks, epochs

    def on_train_begin(self, logs=None):
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        for callback in self.callbacks:
            # What the plateau callbacks touch of a model: its learning rate, whether to stop.
            stand_in = SimpleNamespace(
                optimizer=SimpleNamespace(learning_rate=rate), stop_training=False
            )
            verbose, callback.verbose = callback.verbose, 0  # said when it happened
            callback.set_model(stand_in)
            for row in self.epochs:
                callback.on_epoch_end(row["epoch"] - 1, dict(row))
            callback.set_model(self.model)
            callback.verbose = verbose


class EpochChangeInference(keras.callbacks.Callback):
    """Every epoch, a grid of image | ground truth | prediction for fixed validation images,
    written into `folder` (None: predicted and not written, as data-parallel processes other
    than the chief do, since every process takes part in the prediction)."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, palette: Palette, folder: Path | None
    ):
        super().__init__()
        self.images, self.labels, self.palette = images, labels, palette
        self.folder = Path(folder) if folder is not None else None

    def on_epoch_end(self, epoch, logs=None):
        probabilities = keras.ops.convert_to_numpy(self.model(self.images, training=False))
        if self.folder is None:
            return
        predicted = probabilities.argmax(axis=-1).astype(np.uint8)
        rows = []
        for image, truth, guess in zip(self.images, self.labels, predicted, strict=True):
            gray = np.clip(image, 0, 255 if image.max() > 1.5 else 1)
            gray = (gray / gray.max() * 255 if gray.max() > 0 else gray).astype(np.uint8)
            rgb = np.repeat(gray, 3, axis=-1) if gray.shape[-1] == 1 else gray[..., :3]
            rows.append(np.concatenate([rgb, colorize(truth, self.palette),
                                        colorize(guess, self.palette)], axis=1))  # fmt: skip
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"epoch_{epoch + 1:03d}.png"
        temporary = path.with_name(f".{path.name}.tmp.png")
        Image.fromarray(np.concatenate(rows, axis=0)).save(temporary)
        temporary.replace(path)


class Forwarding(keras.callbacks.Callback):
    """Runs another callback's training and epoch hooks inside `context()`; with
    `writes=False`, only its `on_train_begin` (a BackupAndRestore that restores and never
    saves)."""

    def __init__(
        self,
        callback: keras.callbacks.Callback,
        context: Callable[[], AbstractContextManager],
        writes: bool = True,
    ):
        super().__init__()
        self.callback, self.context, self.writes = callback, context, writes

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def on_train_begin(self, logs=None):
        with self.context():
            self.callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        if self.writes:
            self.callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.writes:
            with self.context():
                self.callback.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.writes:
            with self.context():
                self.callback.on_train_end(logs)
