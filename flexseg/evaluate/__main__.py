"""`python -m flexseg.evaluate ...`: the same as `flexseg evaluate ...`
(flexseg/cli/evaluate.py)."""

import sys

from flexseg.cli.evaluate import main

sys.exit(main())
