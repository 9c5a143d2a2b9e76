"""`python -m checker`: see checker/cli.py."""

import sys

from checker.cli import main

sys.exit(main())
