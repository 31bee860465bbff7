"""Check: parse a cited text into claims and give each a verdict against the index (``CheckReport``).

Stage 4 of the pipeline (check): ``citation_input`` parses the text, ``facts`` compares a claim's
numbers, names and polarity with a source sentence, ``checking`` gives the verdicts.
"""

from assistant.check.checking import CitationChecker
from assistant.check.citation_input import ParsedInput, RawClaim, parse_input
from assistant.check.facts import fact_differences

__all__ = ["CitationChecker", "ParsedInput", "RawClaim", "fact_differences", "parse_input"]
