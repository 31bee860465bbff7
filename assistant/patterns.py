"""Text patterns every stage shares, defined once."""

from __future__ import annotations

import re

# A source's own reference marks inside its sentences: "[3]", "[12–14]", "[4, 7]". They are part of the
# quoted text, never our citations, and never values (a count or a date).
# A word of a question as written, names and codes whole (AAV9, CD4-positive, C.difficile).
QUESTION_TOKEN = re.compile(r"[\w\-‑.]*\w")
REFERENCE_MARK = re.compile(r"\[\d+(?:\s?[-–,]\s?\d+)*\]")

# Our own citation markers in an answer's text, "First sentence. [1] Second sentence. [2]", with the white
# space before each (group 1: the number). ``citation_marker`` writes one.
CITATION_MARKER = re.compile(r"\s*\[(\d+)\]")


def display_text(text: str) -> str:
    """A quote with its white space collapsed, for reading in an answer."""
    return " ".join(text.split())


def citation_marker(number: int) -> str:
    """The marker that cites citation ``number`` in an answer's text: ``[number]``."""
    return f"[{number}]"


# Month names and their abbreviations, to their number (1-12): dates in documents and in claims.
MONTHS = {name: number for number, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")], 1) for name in names}


# Opposite words, in two lists for two rules. OPPOSITES: a claim using one where its source uses the other
# says the opposite (the checker's "negation" difference, which overrules the judge), so it holds only
# pairs that never paraphrase each other; a side may list forms of one word ("shorter|shortened"), any of
# which stands against any form of the other side. DIRECTION_PAIRS: words of a direction, broader (high / low,
# before / after), read as a judge feature and used to alter claims for training, never as a veto.
OPPOSITES = (("rarely", "often"), ("rarely", "frequently"), ("rarely", "commonly"), ("seldom", "often"),
             ("never", "always"),
             ("increase|increases|increased|increasing", "decrease|decreases|decreased|decreasing|reduction|reductions"),
             ("increase|increases|increased|increasing|raise|raises|raised|raising", "reduce|reduces|reduced|reducing"),
             ("higher", "lower"), ("larger", "smaller"), ("safe", "unsafe"), ("effective", "ineffective"),
             ("permanent", "temporary"), ("permanently", "temporarily"), ("dominant", "recessive"),
             ("best", "worst"), ("most", "least"), ("large", "small"), ("more", "less"), ("improved", "reduced"),
             ("improve", "reduce"), ("improves", "reduces"), ("improved", "worsened"), ("broader", "narrower"),
             ("wider", "narrower"), ("early", "late"), ("acute", "chronic"), ("benign", "malignant"),
             ("present", "absent"), ("presence", "absence"), ("susceptible", "resistant"), ("maximum", "minimum"),
             ("agonist", "antagonist"), ("inside", "outside"), ("gain", "loss"),
             ("faster", "slower"), ("stronger", "weaker"), ("male|males|men", "female|females|women"),
             ("shorter|shorten|shortens|shortened", "longer|lengthen|lengthens|lengthened|prolong|prolongs|prolonged"),
             ("upregulated|upregulates|upregulation", "downregulated|downregulates|downregulation"),
             ("activates|activated", "inhibits|inhibited"))
DIRECTION_PAIRS = (("increase", "decrease"), ("increased", "decreased"), ("increases", "decreases"),
                   ("increasing", "decreasing"), ("higher", "lower"), ("more", "less"), ("more", "fewer"),
                   ("rise", "fall"), ("gain", "loss"), ("positive", "negative"), ("before", "after"),
                   ("larger", "smaller"), ("longer", "shorter"), ("greater", "lesser"), ("most", "least"),
                   ("maximum", "minimum"), ("earlier", "later"), ("inhibit", "promote"), ("inhibits", "promotes"),
                   ("upregulated", "downregulated"), ("above", "below"), ("high", "low"), ("elevated", "reduced"),
                   ("stronger", "weaker"), ("strong", "weak"))
