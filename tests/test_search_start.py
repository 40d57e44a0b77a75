"""tune.start_from_config: the config's own model and training as a search's first trial,
for every architecture's space and every tuner, not repeated when a search resumes."""

import json

import keras_tuner
import pytest

import flexseg
from flexseg import cli
from flexseg.config import ConfigError, config_from_dict
from flexseg.data.synthetic import write_dataset
from flexseg.tune import search
from flexseg.tune.first_trial import _settings, config_values, start_with
from flexseg.tune.records import read_records
from flexseg.tune.space import SearchSpace

SMALL = {"name": "flexunet", "base_filters": 8, "num_layers": 3, "base_kernels": [5, 5],
         "dropout_rate": 0.0, "normalization": True}  # fmt: skip


def start_config(model=SMALL, tune=None, train=None, root="d", folder="run", weights=None):
    return config_from_dict({
        "model": dict(model),
        "data": {"root": str(root), "palette": "mvtec_screw", "class_weights": weights},
        "train": {"batch_size": 4, "learning_rate": 3e-3, "loss": "cce+dice",
                  "run_dir": str(folder), "epoch_change_images": 0, "precision": "float32",
                  **(train or {})},
        "tune": {"epochs": 1, "start_from_config": True, **(tune or {})},
    })  # fmt: skip


def plain(section: dict) -> dict:
    return json.loads(json.dumps(section))


@pytest.mark.parametrize("architecture", flexseg.list_models())
def test_any_point_of_an_architectures_space_is_found_again_from_its_config(architecture):
    """The config of a sampled trial, given back, starts the search at that very trial."""
    searched = ["flexunet", architecture] if architecture != "flexunet" else ["flexunet"]
    probe = start_config(tune={"architectures": searched, "start_from_config": False})
    space = SearchSpace(probe, image_size=(64, 64))
    hp = keras_tuner.HyperParameters()
    hp.values["architecture"] = architecture
    space.plan(hp)
    for index, parameter in enumerate(hp.space):  # a sample of every choice
        if hp.is_active(parameter) and parameter.name != "architecture":
            hp.values[parameter.name] = parameter.random_sample(seed=7 + index)
    sampled = space.plan(hp)
    config = start_config(
        {"name": architecture, **{k: v for k, v in sampled.model.items() if k != "name"}},
        tune={"architectures": searched},
        train=sampled.train,
    )
    hp = keras_tuner.HyperParameters()
    hp.values = config_values(SearchSpace(config, image_size=(64, 64)))
    found = space.plan(hp)
    assert found.architecture == architecture
    assert _settings(found.model) == _settings(plain(sampled.model))
    assert found.train == pytest.approx(sampled.train)


def test_the_demo_preset_is_found_through_a_hyperparameter_not_named_after_its_setting():
    preset = start_config(
        {"name": "flexunet_cpu_demo", "base_kernels": [7, 7]},  # 16 filters, 4 levels, BN
        tune={"architectures": ["unet", "flexunet"], "class_weight_correction": [0.5, 1.0],
              "settings": {"flexunet": {"num_layers": [3, 4], "dropout_rate": 0.0}}},
        train={"class_weight_correction": 0.5},
        weights=[1, 30, 30, 30, 30, 30],
    )  # fmt: skip
    values = config_values(SearchSpace(preset, image_size=(128, 128)))
    assert values == {
        "architecture": "flexunet", "flexunet/base_kernel": 7, "flexunet/base_filters": 16,
        "flexunet/num_layers": 4, "flexunet/dropout_rate": 0.0,
        "flexunet/normalization": True, "learning_rate": 3e-3, "loss": "cce+dice",
        "batch_size": 4, "class_weight_correction": 0.5,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("model", "tune", "message"),
    [
        ({**SMALL, "base_filters": 24}, {}, r"model.base_filters = 24 \(the nearest trial: 8\)"),
        (SMALL, {"loss": ["cce", "focal+dice"]}, "train.loss = 'cce[+]dice'"),
        (SMALL, {"learning_rate": [1e-2, 1e-1]}, "train.learning_rate = 0.003"),
        (SMALL, {"settings": {"flexunet": {"num_layers": 4}}}, "model.num_layers = 3"),
    ],
)
def test_a_config_the_space_cannot_reach_is_refused_naming_each_setting(model, tune, message):
    config = start_config(model, tune=tune)
    with pytest.raises(ConfigError, match=f"tune.start_from_config: .*{message}.*Widen"):
        config_values(SearchSpace(config, image_size=(64, 64)))


def test_a_config_whose_architecture_is_not_searched_is_refused_when_it_loads():
    with pytest.raises(ConfigError, match="the config's model is a flexunet, which the search"):
        start_config(tune={"architectures": ["unet"]})


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband"])
def test_every_tuner_proposes_the_configs_values_first_and_only_once(tuner, tmp_path):
    config = start_config(tune={"tuner": tuner, "architectures": ["flexunet", "unet"]})
    space = SearchSpace(config, image_size=(64, 64))
    Tuner = search.tuner_class(tuner, space)
    hypermodel = search.make_hypermodel(_NoSetup(config), space, (64, 64))
    # Hyperband at 9 epochs: a first bracket of several trials
    options = {"max_epochs": 9} if tuner == "hyperband" else {"max_trials": 5}
    made = Tuner(hypermodel, objective=keras_tuner.Objective("val_fg_miou", "max"),
                 directory=str(tmp_path), project_name="t", seed=1, **options)  # fmt: skip
    start = config_values(space)
    start_with(made.oracle, start)
    proposed = [made.oracle.create_trial(f"worker{i}").hyperparameters.values for i in range(3)]
    chosen = [{key: values.get(key) for key in start} for values in proposed]  # hyperband
    assert chosen[0] == start  # adds tuner/ values of its own
    assert all(v and c != start for v, c in zip(proposed[1:], chosen[1:], strict=True))


class _NoSetup:
    """What make_hypermodel reads of a RunSetup before any trial builds."""

    def __init__(self, config):
        self.config = config


def test_a_search_starts_from_the_config_and_a_resumed_one_does_not_repeat_it(tmp_path):
    root = write_dataset(tmp_path / "screws", size=64, count=12, seed=4).root
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nname = "flexunet"\nbase_filters = 8\nnum_layers = 3\nbase_kernels = [5, 5]\n'
        f'dropout_rate = 0.0\nnormalization = true\n[data]\nroot = "{root}"\n'
        'palette = "mvtec_screw"\n[train]\nbatch_size = 4\nlearning_rate = 0.003\n'
        'loss = "cce+dice"\nrun_dir = "runs/r"\nepoch_change_images = 0\n'
        'precision = "float32"\n[tune.settings.flexunet]\nbase_filters = 8\nnum_layers = 3\n'
    )
    out = tmp_path / "search"
    argv = ["tune", str(config), "--start-from-config", "--max-trials", "2", "--epochs", "1",
            "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    first, second = read_records(out / "trials")
    assert first.trial == "0" and first.status == "completed"
    assert first.model["base_kernels"] == [5, 5] and first.model["base_filters"] == 8
    assert first.train["learning_rate"] == 3e-3 and first.train["loss"] == "cce+dice"
    assert second.hyperparameters != first.hyperparameters
    report = (out / "report.md").read_text()
    baseline = "started from the config's own model and training: trial 0, val_fg_miou "
    assert f"{baseline}{first.score:.4f}" in report
    assert cli.main([*argv[:4], "3", *argv[5:]]) == 0  # resumed, one trial more
    records = read_records(out / "trials")
    assert len(records) == 3 and records[2].hyperparameters != first.hyperparameters
    assert records[0].to_dict() == first.to_dict()  # not run again
