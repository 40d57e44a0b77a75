"""`python -m flexseg.train ...`: the same as `flexseg train ...` (flexseg/cli/train.py)."""

import sys

from flexseg.cli.train import main

sys.exit(main())
