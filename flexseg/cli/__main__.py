"""`python -m flexseg.cli ...`: the `flexseg` command."""

import sys

from flexseg.cli import main

sys.exit(main())
