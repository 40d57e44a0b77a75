"""`python -m flexseg.models [PATTERN] [--size N] [--num-classes K] [--architectures]`:
the same as `flexseg models` (flexseg/cli/models.py)."""

import sys

from flexseg.cli import main

sys.exit(main(["models", *sys.argv[1:]]))
