"""`python -m flexseg.export ...`: the same as `flexseg export ...` (flexseg/cli/export.py)."""

import sys

from flexseg.cli.export import main

sys.exit(main())
