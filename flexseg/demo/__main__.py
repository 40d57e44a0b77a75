"""`python -m flexseg.demo ...`: the same as `flexseg demo ...` (flexseg/cli/demo.py)."""

import sys

from flexseg.cli.demo import main

sys.exit(main())
