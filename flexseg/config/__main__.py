"""`python -m flexseg.config convert|check ...`: the same as `flexseg config`
(flexseg/cli/config.py)."""

import sys

from flexseg.cli.config import main

sys.exit(main())
