"""`python -m flexseg ...` is the `flexseg` command."""

import sys

from flexseg.cli import main

sys.exit(main())
