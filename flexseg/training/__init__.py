"""Training runs driven by a config: `python -m flexseg.train CONFIG`."""

from flexseg.training.run import train

__all__ = ["train"]
