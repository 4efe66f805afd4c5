"""``python -m bluegreen.rehearsal``: the dress rehearsal (cli.py)."""

import sys

from .cli import main

sys.exit(main())
