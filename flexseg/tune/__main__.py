"""`python -m flexseg.tune ...`: the same as `flexseg tune ...` (flexseg/cli/tune.py)."""

import sys

from flexseg.cli.tune import main

sys.exit(main())
