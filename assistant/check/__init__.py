"""Check: parse a cited text into claims and give each a verdict against the index (``CheckReport``).

Stage 4 of the pipeline (check).
"""

from assistant.check.checking import CitationChecker, fact_differences
from assistant.check.citation_input import ParsedInput, RawClaim, parse_input

__all__ = ["CitationChecker", "ParsedInput", "RawClaim", "fact_differences", "parse_input"]
