"""Text patterns every stage shares, defined once."""

from __future__ import annotations

import re

# A source's own reference marks inside its sentences: "[3]", "[12–14]", "[4, 7]". They are part of the
# quoted text, never our citations, and never values (a count or a date).
REFERENCE_MARK = re.compile(r"\[\d+(?:\s?[-–,]\s?\d+)*\]")
