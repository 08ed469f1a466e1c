"""``python -m workers.video FILE --json``."""

import sys

from .cli import main

sys.exit(main())
