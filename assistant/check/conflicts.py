"""Sources that disagree: two sentences of different documents about the same subject, one
negating what the other says or giving another number for the same unit.

Pure functions of the sentences (``ConflictSide``); the fact rules are the checker's
(``facts``: names, negation, numbers). Used by answering to flag "Sources disagree". It lives in
``check`` rather than ``answer`` because those rules do, and a lower stage may not import a
higher one (``tests/test_layers.py``); answering receives it as a function from the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from assistant.check.facts import fact_differences, names, numbers_with_units, tokens
from assistant.lexical import STOP_WORDS, is_specialised, stem, words
from assistant.models import Conflict, ConflictSide

MIN_SHARED = 0.5  # share of the shorter sentence's content terms the other must contain


def content_stems(text: str) -> set[str]:
    """Stems of a sentence's content words."""
    return {stem(w) for w in words(text) if w not in STOP_WORDS}


def shared_subject(a: str, b: str) -> list[str]:
    """What both sentences name: shared names (Luxturna, FDA) and rare terms of the field, in
    ``a``'s order; empty when they share none."""
    shared_names = {n.lower() for n in names(a)} & {n.lower() for n in names(b)}
    b_words = set(words(b))
    found = [t for t in tokens(a) if t.lower() in shared_names
             or (t.lower() in b_words and t.lower() not in STOP_WORDS and is_specialised(t.lower()))]
    return list(dict.fromkeys(found))


def same_subject(a: str, b: str) -> bool:
    """Both sentences name the same thing and most of the shorter one's terms are in the other."""
    sa, sb = content_stems(a), content_stems(b)
    if not sa or not sb or not shared_subject(a, b):
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= MIN_SHARED


def _word_for(stemmed: str, text: str) -> str:
    return next((w for w in words(text) if stem(w) == stemmed), stemmed)


def negation_conflict(a: str, b: str) -> str | None:
    """'approved' in one, 'not approved' in the other (or opposites such as increase/decrease),
    as a short description (``a``'s side first); None when their polarity agrees."""
    for claim, source in ((a, b), (b, a)):
        for diff in fact_differences(claim, source):
            if diff.kind != "negation":
                continue
            said = [diff.claimed, diff.source]
            shown = [" ".join(_word_for(part, claim + " " + source) for part in s.split()) for s in said]
            first, second = shown if claim is a else shown[::-1]
            return f"“{first}” / “{second}”"
    return None


def number_conflict(a: str, b: str) -> str | None:
    """The same unit with different values in each sentence ("2.1 million" / "1.9 million");
    bare numbers (years, counts) are left out: too often about different events."""
    na, nb = numbers_with_units(a, spelled=False), numbers_with_units(b, spelled=False)
    for unit in dict.fromkeys(u for _, u in na):
        if not unit:
            continue
        va = [v for v, u in na if u == unit]
        vb = [v for v, u in nb if u == unit]
        if vb and not set(va) & set(vb):
            return f"“{va[0]} {unit}” / “{vb[0]} {unit}”"
    return None


def _newest_first(sides: Sequence[ConflictSide]) -> list[ConflictSide]:
    dated = sorted((s for s in sides if s.date), key=lambda s: s.date or "", reverse=True)
    return dated + [s for s in sides if not s.date]


def find_conflicts(sides: Sequence[ConflictSide]) -> list[Conflict]:
    """Every pair of sentences from different documents that disagree about the same subject
    (one conflict per pair of documents, the first pair found in the given order), each with
    its sides newest first. At least one side of each pair is cited when any side is."""
    any_cited = any(s.cited for s in sides)
    conflicts: list[Conflict] = []
    seen: set[frozenset[str]] = set()
    for a, b in combinations(sides, 2):
        pair = frozenset((a.doc, b.doc))
        if a.doc == b.doc or pair in seen or (any_cited and not (a.cited or b.cited)):
            continue
        if not same_subject(a.quote, b.quote):
            continue
        newer, older = _newest_first([a, b])
        detail = negation_conflict(newer.quote, older.quote)
        kind = "negation"
        if detail is None:
            detail, kind = number_conflict(newer.quote, older.quote), "number"
        if detail is None:
            continue
        seen.add(pair)
        conflicts.append(Conflict(kind=kind, subject=" ".join(shared_subject(a.quote, b.quote)), detail=detail,
                                  sides=[newer, older]))
    return conflicts
