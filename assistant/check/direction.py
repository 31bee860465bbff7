"""A claim that reverses the direction of its source: "slower" where the source says "more rapid", "8 to 22
times more active" where it says "8- to 22-fold lower". Pure functions, no parser.

A text's direction words are its ``patterns.RISING`` and ``FALLING`` words; a bound ("more than 50", "less
than half") is a quantity, not a direction, and is left out. The claim reverses its source when it says words
of one direction only and the source words of the other only, and the two sit beside the same thing: the
word one side's direction word points at (the next content word, "larger ventricles") shares its first
``ROOT_LETTERS`` letters, after stemming, with a word within ``DIRECTION_REACH`` of the other side's
direction word ("the ventricles ... were smaller"). Without that, "reduced mortality" and "increased
survival" would be read as opposites.

Measured on the labelled claims' own source sentences (both dev sets and the blind sets A-C, whose misses
the word lists were written after, so in-sample): 9 of 22 direction changes read, none of 202 true
paraphrases; reading any shared word within reach instead read 11, also with none, but would take "reduced
mortality in treated mice" for the opposite of "increased survival in treated mice".
"""

from __future__ import annotations

import re

from assistant.lexical import STOP_WORDS, spelling_stem, words
from assistant.models import Difference
from assistant.patterns import FALLING, RISING

DIRECTION_REACH = 5  # words either side of a direction word that say what it is about
ROOT_LETTERS = 5  # "activ(e)" and "activ(ity)" are one root
# "more than 50", "fewer than one in ten", "less than half": bounds on a quantity.
BOUND = re.compile(r"\b(?:more|less|fewer|greater|higher|lower)\s+than\s+(?=\d|(?:one|two|three|four|five|six|seven|"
                   r"eight|nine|ten|twenty|a|an|half|a\s+third|a\s+quarter)\b)", re.I)


def direction_words(text: str) -> tuple[list[str], set[str], set[str]]:
    """The text's words (bounds removed), and its rising and falling words."""
    said = words(BOUND.sub(" ", text))
    present = set(said)
    return said, present & RISING, present & FALLING


def _content(word: str) -> bool:
    """A word that can say what a direction is about (no stop word, no direction word, not a bare number)."""
    return word not in STOP_WORDS and word not in RISING | FALLING and any(c.isalpha() for c in word)


def _about(said: list[str], pointing: set[str]) -> tuple[set[str], set[str]]:
    """Roots of the content words within ``DIRECTION_REACH`` of the ``pointing`` words, and of the one each
    points at: the first content word after it ("reduced mortality"), or the last before it when none follows."""
    near, heads = set(), set()
    for i, word in enumerate(said):
        if word not in pointing:
            continue
        near |= {_root(w) for w in said[max(0, i - DIRECTION_REACH):i + DIRECTION_REACH + 1] if _content(w)}
        after = [w for w in said[i + 1:i + 1 + DIRECTION_REACH] if _content(w)]
        before = [w for w in said[max(0, i - DIRECTION_REACH):i] if _content(w)]
        if after or before:
            heads.add(_root(after[0] if after else before[-1]))
    return near, heads


def _root(word: str) -> str:
    return spelling_stem(word)[:ROOT_LETTERS]


def reversed_direction(claim: str, source: str) -> list[Difference]:
    """A "direction" difference when ``claim`` points one way only and ``source`` the other way only, about the
    same thing (see the module docstring); empty otherwise."""
    claim_words, claim_up, claim_down = direction_words(claim)
    source_words, source_up, source_down = direction_words(source)
    for said, stated, unsaid, unstated in ((claim_up, source_down, claim_down, source_up),
                                           (claim_down, source_up, claim_up, source_down)):
        if said and stated and not unsaid and not unstated:
            claim_near, claim_heads = _about(claim_words, said)
            source_near, source_heads = _about(source_words, stated)
            # about the same thing: one side's word points at something the other says beside its own word
            if claim_heads & source_near or source_heads & claim_near:
                return [Difference(kind="direction", claimed=min(said), source=min(stated))]
    return []
