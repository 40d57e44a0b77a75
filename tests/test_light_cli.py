"""The command line is light and quiet: --help loads no backend, and commands print none of the
frameworks' own log lines (unless --verbose) and no warning at the end."""

import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import pytest

from flexseg.cli import SUBCOMMANDS
from flexseg.data.synthetic import write_dataset

BACKENDS = ("tensorflow", "jax", "jaxlib", "torch", "keras")
# `python -m` names the README documents.
MODULES = [
    "flexseg",
    "flexseg.train",
    "flexseg.evaluate",
    "flexseg.infer",
    "flexseg.export",
    "flexseg.tune",
    "flexseg.config",
    "flexseg.demo",
    "flexseg.models",
    "flexseg.data.synthetic",
    "flexseg.data.mvtec",
    "flexseg.data.augment",
    "flexseg.data.stats",
    "flexseg.data.check",
]
# absl's "I0000 00:00:...  123 file.cc:45] ..." lines and its pre-initialization notice.
BACKEND_LOG = re.compile(r"^([IWEF]\d{4} \d\d:\d\d|WARNING: All log messages before absl)", re.M)


def imported_after(code: str) -> list[str]:
    """The backend modules a fresh interpreter holds after running `code`."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in {BACKENDS!r} if m in sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_flexseg_help_and_every_subcommand_help_import_no_backend():
    nested = {"config": ["convert", "check"], "data": ["synthetic", "mvtec", "augment", "stats"]}
    helps = [["--help"]]
    for name in SUBCOMMANDS:
        helps += [[name, *([tool] if tool else []), "--help"] for tool in nested.get(name, [None])]
    code = f"""
        import contextlib, io
        from flexseg.cli import main
        for argv in {helps!r}:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    main(argv)
                except SystemExit as stop:
                    assert stop.code == 0, (argv, stop.code)
            assert "usage:" in out.getvalue(), argv
        """
    assert imported_after(code) == []


def test_python_m_help_imports_no_backend():
    code = f"""
        import contextlib, io, runpy, sys
        for module in {MODULES!r}:
            sys.argv = [module, "--help"]
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    runpy.run_module(module, run_name="__main__", alter_sys=True)
                except SystemExit as stop:
                    assert stop.code == 0, (module, stop.code)
            assert "usage: " in out.getvalue(), module
        """
    assert imported_after(code) == []


def test_an_unknown_export_format_is_refused_before_keras_loads():
    code = """
        import contextlib, io
        from flexseg.cli import main
        with contextlib.redirect_stderr(io.StringIO()) as err:
            assert main(["export", "run.toml", "--format", "tflite", "--out", "x"]) == 2
        assert "Did you mean: litert?" in err.getvalue()
        """
    assert imported_after(code) == []


def test_import_flexseg_loads_keras_only_when_a_model_is_asked_for():
    assert imported_after("import flexseg, flexseg.data, flexseg.models, flexseg.train") == []
    assert "keras" in imported_after("import flexseg; flexseg.list_models()")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quiet")
    root = write_dataset(folder / "data", size=32, count=12, seed=3).root
    config = folder / "run.toml"
    config.write_text(
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\n'
        f'[data]\nroot = "{root}"\npalette = "mvtec_screw"\n'
        '[train]\nepochs = 2\nbatch_size = 4\nrun_dir = "runs/r"\nepoch_change_images = 2\n'
        "workers = 2\n"
    )
    return config


def run_command(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, timeout=300, env=env
    )


def test_training_prints_no_backend_log_lines_and_ends_without_a_warning(tiny_run):
    done = run_command("flexseg.train", str(tiny_run))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not BACKEND_LOG.search(done.stderr), done.stderr[-3000:]
    assert "warning" not in done.stderr.lower(), done.stderr[-3000:]
    assert "Trained 2 epochs" in done.stdout


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow is the backend that logs on import"
)
def test_verbose_shows_the_backend_log_lines_that_are_hidden_otherwise(tiny_run):
    quiet = run_command("flexseg", "config", "check", str(tiny_run))
    verbose = run_command("flexseg", "config", "check", str(tiny_run), "--verbose")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert quiet.stdout == verbose.stdout and '[model]\nname = "flexunet"' in quiet.stdout
    assert BACKEND_LOG.search(verbose.stderr), verbose.stderr
    assert not BACKEND_LOG.search(quiet.stderr), quiet.stderr


def test_the_stderr_filter_drops_absl_lines_only_and_loses_nothing_else():
    code = """
        import os, sys
        from flexseg.cli.common import without_backend_log_lines
        with without_backend_log_lines():
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\\n")
            os.write(2, b"I0000 00:00:1796161810.637471    3719 port.cc:153] oneDNN custom\\n")
            os.write(2, b"kept: a line of our own\\n")
            print("W0000 printed by Python is absl-shaped too", file=sys.stderr)
            os.write(2, b"E0000 00:00:1796161827.459914    3768 cuda_platform.cc:52] cuInit\\n")
            os.write(2, b"kept: the last line, without a newline")
        print("after", file=sys.stderr)
        """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "kept: a line of our own\n"
        "W0000 printed by Python is absl-shaped too\n"
        "kept: the last line, without a newlineafter\n"
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="a tf.data iterator left to interpreter exit"
)
def test_training_releases_its_data_pipeline_before_python_exits(tmp_path):
    """With every TensorFlow log line shown, the demo's recipe (2 loader threads) ends
    without "Error occurred when finalizing GeneratorDataset iterator" (it does end with it
    when flexseg.train.fit.release_data_pipelines does nothing)."""
    root = write_dataset(tmp_path / "data", size=64, count=24, seed=0).root
    code = f"""
        from flexseg.config import config_from_dict
        from flexseg.demo import demo_config
        from flexseg.train import train
        settings = demo_config(epochs=1, minutes=5, seed=0)
        settings["data"]["root"] = {str(root)!r}
        settings["train"]["run_dir"] = {str(tmp_path / "run")!r}
        assert settings["train"]["workers"] == 2
        train(config_from_dict(settings), verbose=0)
        """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "I0000" in done.stderr  # TensorFlow's own lines are shown in this run
    assert "finalizing GeneratorDataset" not in done.stderr, done.stderr[-3000:]
