"""`python -m checker`: see checker/cli.py."""

import sys

from checker import signals
from checker.cli import main

signals.install()  # SIGTERM and SIGHUP stop a run like Ctrl-C (checker/signals.py)
sys.exit(main())
