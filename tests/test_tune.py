"""flexseg tune: a KerasTuner search over the architecture's declared space, from a config."""

import csv

import keras_tuner
import pytest

import flexseg
from flexseg import cli
from flexseg.config import ConfigError, config_from_dict, load_config
from flexseg.data.synthetic import write_dataset
from flexseg.models.catalogue.registry import model_entry
from flexseg.models.catalogue.search_spaces import flexunet as search_space
from flexseg.tune.search import tune


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "screws", size=32, count=12, seed=2).root


def test_flexunet_declares_a_search_space_that_fits_the_input_size():
    assert model_entry("flexunet").search_space is search_space
    for size, deepest in ((32, 6), (96, 6), (20, 3)):
        hp = keras_tuner.HyperParameters()
        search_space(hp, (size, size, 3))
        assert hp.get("num_layers") <= deepest
        assert hp.space[[p.name for p in hp.space].index("num_layers")].max_value == deepest
    settings = search_space(keras_tuner.HyperParameters(), (32, 32, 3))
    flexseg.build("flexunet", num_classes=2, input_shape=(32, 32, 3), **settings)


def test_search_writes_trials_and_a_best_config_that_trains(data_root, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nname = "flexunet"\n[data]\nroot = "{data_root}"\npalette = "mvtec_screw"\n'
        f'[train]\nbatch_size = 4\nrun_dir = "{tmp_path / "run"}"\nepoch_change_images = 0\n'
        # Narrowed to small models (the full space reaches 6 levels of 32 filters).
        "[tune.settings.flexunet]\nbase_filters = [8, 16]\nnum_layers = 3\n"
    )
    argv = ["tune", str(config), "--trials", "2", "--epochs", "1", "--out", str(tmp_path / "t")]
    assert cli.main(argv) == 0
    with open(tmp_path / "t" / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"val_fg_miou", "base_filters", "learning_rate"} <= set(rows[0])
    assert (tmp_path / "t" / "trials.png").is_file()
    best = load_config(tmp_path / "t" / "best.toml")
    best_row = max(rows, key=lambda row: float(row["val_fg_miou"]))
    assert best.model["base_filters"] == int(best_row["base_filters"])
    assert tuple(best.model["base_kernels"]) == (int(best_row["base_kernel"]),) * 2
    assert best.train["learning_rate"] == pytest.approx(float(best_row["learning_rate"]))
    # Rerunning with a larger budget keeps the finished trials and adds only the new one:
    # the finished trials' records are not rewritten.
    records = sorted((tmp_path / "t" / "trials").glob("trial_*/trial.json"))
    assert len(records) == 2
    written = [path.stat().st_mtime_ns for path in records]
    argv[argv.index("--trials") + 1] = "3"
    assert cli.main(argv) == 0
    assert [path.stat().st_mtime_ns for path in records] == written
    with open(tmp_path / "t" / "trials.csv") as handle:
        again = list(csv.DictReader(handle))
    assert len(again) == 3 and again[:2] == rows


def test_architectures_without_a_search_space_are_refused(data_root, tmp_path):
    @flexseg.register_model("fixed_net")
    def fixed_net(num_classes, input_shape=(None, None, 3)):
        return flexseg.build("flexunet", num_classes=num_classes, input_shape=input_shape,
                             num_layers=2, base_filters=2)  # fmt: skip

    config = config_from_dict({
        "model": {"name": "fixed_net"},
        "data": {"root": str(data_root), "palette": "mvtec_screw"},
        "train": {"run_dir": str(tmp_path / "run")},
    })  # fmt: skip
    with pytest.raises(ConfigError, match="declares no search space"):
        tune(config)


def test_a_trial_is_built_compiled_and_steered_as_train_does(data_root, tmp_path, monkeypatch):
    """What `fit` receives in a tuning trial and in `flexseg train`, from the same config."""
    import keras

    from flexseg.train import train

    seen = []
    original_fit = keras.Model.fit

    def recording_fit(model, *args, callbacks=None, **kwargs):
        history = original_fit(model, *args, callbacks=callbacks, **kwargs)
        convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        seen.append(
            {
                "policies": {layer.dtype_policy.name for layer in convolutions},
                "loss": model.loss.get_config(),
                "optimizer": type(model.optimizer).__name__,
                "logged": set(history.history) - {"learning_rate"},
                "callbacks": {type(callback).__name__ for callback in callbacks or []},
            }
        )
        return history

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    small = {"base_filters": 8, "num_layers": 3}
    config = config_from_dict({
        "model": {"name": "flexunet", **small},
        "data": {"root": str(data_root), "palette": "mvtec_screw"},
        "train": {
            "epochs": 1, "batch_size": 4, "run_dir": str(tmp_path / "run"),
            "epoch_change_images": 0, "precision": "mixed_bfloat16", "loss": "cce+dice",
            "legacy_dice_metric": True, "patience": 3, "reduce_lr_patience": 2,
            "max_minutes": 30,
        },
        "tune": {"max_trials": 1, "epochs": 1, "loss": "cce+dice",  # the train loss
                 "settings": {"flexunet": small}},
    })  # fmt: skip
    train(config, verbose=0)
    tune(config, out=tmp_path / "tuning", verbose=0)
    trained, trial = seen
    steering = {"TerminateOnNaN", "ReduceLROnPlateau", "EarlyStopping", "TimeLimit"}
    assert trained["policies"] == trial["policies"] == {"mixed_bfloat16"}
    assert trained["loss"] == trial["loss"] and trained["loss"]["names"] == ["cce", "dice"]
    assert trained["optimizer"] == trial["optimizer"] == "Adam"
    assert trained["logged"] == trial["logged"]
    assert {"legacy_dice_coef_multiclass", "val_fg_miou", "iou_scratch_head"} <= trial["logged"]
    assert steering <= trained["callbacks"] and steering <= trial["callbacks"]
    # Only the run folder's own callbacks are train's alone; the trial's checkpoints are
    # KerasTuner's.
    assert trained["callbacks"] - trial["callbacks"] == {
        "EpochLogs", "ModelCheckpoint", "BackupAndRestore",
    }  # fmt: skip
