"""`python -m flexseg.models [PATTERN] [--size N] [--num-classes K] [--architectures]`:
the table of architectures and presets, as `flexseg models` prints it."""

import sys

from flexseg.cli import main

sys.exit(main(["models", *sys.argv[1:]]))
