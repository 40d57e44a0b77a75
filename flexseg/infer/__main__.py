"""`python -m flexseg.infer ...`: the same as `flexseg infer ...` (flexseg/cli/infer.py)."""

import sys

from flexseg.cli.infer import main

sys.exit(main())
