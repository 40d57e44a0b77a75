"""A tiny trained run (synthetic data, one epoch) for tests of what comes after training."""

from pathlib import Path

from flexseg import cli
from flexseg.data.synthetic import write_dataset


def tiny_trained_run(folder: Path, seed: int, extra: str = "") -> tuple[Path, Path]:
    """Write data and a config under `folder`, train one epoch; return (config, data root)."""
    root = write_dataset(folder / "data", size=32, count=12, seed=seed).root
    config = folder / "run.toml"
    config.write_text(
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\n'
        f'[data]\nroot = "{root}"\npalette = "mvtec_screw"\n'
        '[train]\nepochs = 1\nbatch_size = 4\nrun_dir = "runs/r"\nepoch_change_images = 0\n' + extra
    )
    assert cli.main(["train", str(config)]) == 0
    return config, root
