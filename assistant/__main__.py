"""``python -m assistant``."""

import sys

from assistant.serve.cli import main

sys.exit(main())
