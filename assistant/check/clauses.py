"""Differences read clause by clause: two terms of a claim that trade places against its source ("MVA
induces CD4-dominant responses, while NYVAC induces both" where the source says it of NYVAC, and both of
MVA), and an opposite word against the clause the claim restates ("shortened" where that clause says
"longer", though another clause of the sentence says "shorter").

Pure functions, no parser. Each text is cut into clauses at contrast and consequence words (while,
whereas, but, thus, thereby, ";", ", and") and between sentences (a candidate may be two). A claim clause
is matched to the source clause that shares the most of its content words, leaving out the two terms
under test; a match needs ``CLAUSE_OVERLAP`` shared words and a lead of ``CLAUSE_MARGIN`` over the next
clause, and no two claim clauses may match the same one. Two terms (names, field terms, or direction
words such as high / low), each in one claim clause and not the other's, have traded roles when the source
clause matched to each one's clause holds the other term, and at least one of the two is missing from
where the claim put it.

A paraphrase that only reorders the clauses moves each term with its clause, so it is never read as a swap.
Swaps inside one clause ("A binds B" / "B binds A") are not read here: a passive rewording says the same.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from assistant.check.facts import Vocabulary, names, opposite_word, tokens
from assistant.lexical import STOP_WORDS, is_specialised, spelling_stem
from assistant.models import Difference
from assistant.patterns import DIRECTION_PAIRS

CLAUSE_BREAK = re.compile(
    r"\s*(?:;"
    r"|(?<=[a-z]{3}[.!?])\s+(?=(?-i:[A-Z]))"  # a sentence's end, not an abbreviation's (U.S., e.g.)
    r"|,?\s*\b(?:and\s+)?(?:while|whereas|but|although|thus|thereby|hence|so that)\b"
    r"|,\s*and\b)\s*", re.I)
SLASHED = re.compile(r"\w+(?:/\w+)+")  # "SFPQ/PTBP2" names one complex, not its two parts
CLAUSE_OVERLAP = 2  # content words a claim clause shares with its source clause, at least
CLAUSE_MARGIN = 1  # and more than it shares with any other source clause by this many
MIN_CLAUSE_TOKENS = 3  # shorter pieces are not clauses ("thus", "and so")
_DIRECTION_WORDS = frozenset(word for pair in DIRECTION_PAIRS for word in pair)


@dataclass(frozen=True)
class Clause:
    """A clause's text as written, its lower-cased words (hyphenated words also in their parts) and the
    stems of its content words."""

    text: str
    words: frozenset[str]
    frame: frozenset[str]


def _words(text: str) -> frozenset[str]:
    joined = SLASHED.sub(lambda m: m.group(0).replace("/", "_"), text)
    return frozenset(part.lower() for token in tokens(joined) for part in (token, *token.split("-")) if part)


def clauses(text: str) -> list[Clause]:
    """The clauses of ``text``, cut at ``CLAUSE_BREAK``; pieces under ``MIN_CLAUSE_TOKENS`` words are dropped."""
    found = []
    for part in CLAUSE_BREAK.split(text):
        if part and len(tokens(part)) >= MIN_CLAUSE_TOKENS:
            words = _words(part)
            found.append(Clause(part.strip(), words,
                                frozenset(spelling_stem(w) for w in words if w not in STOP_WORDS and len(w) > 1)))
    return found


def role_terms(text: str, vocabulary: Vocabulary = Vocabulary()) -> set[str]:
    """The words of ``text`` that can fill a role (lower case): names, specialised terms, direction words."""
    named = {n.lower() for n in names(text, vocabulary)}
    return {w for w in _words(text) if w in named or w in _DIRECTION_WORDS or is_specialised(w)}


def match_clauses(claim: list[Clause], source: list[Clause], left_out: set[str]) -> dict[int, int]:
    """Claim clause -> the source clause saying the same around it (content words shared, ``left_out``
    not counted); clauses without a clear match are left out, and nothing when two claim the same one."""
    skipped = {spelling_stem(w) for w in left_out}
    matched = {}
    for i, clause in enumerate(claim):
        frame = clause.frame - skipped
        shared = sorted(((len(frame & other.frame), j) for j, other in enumerate(source)), reverse=True)
        best, at = shared[0]
        runner_up = shared[1][0] if len(shared) > 1 else 0
        if best >= CLAUSE_OVERLAP and best - runner_up >= CLAUSE_MARGIN:
            matched[i] = at
    return matched if len(set(matched.values())) == len(matched) else {}


def swapped_roles(claim: str, source: str, vocabulary: Vocabulary = Vocabulary()) -> list[Difference]:
    """A "role" difference when two terms of ``claim`` trade clauses against ``source`` (see the module
    docstring); the claim's clause and the source clause it matches are quoted."""
    ours, theirs = clauses(claim), clauses(source)
    if len(ours) < 2 or len(theirs) < 2:
        return []
    shared_terms = sorted(role_terms(claim, vocabulary) & role_terms(source, vocabulary))
    placed = {t: [i for i, c in enumerate(ours) if t in c.words] for t in shared_terms}
    for a, b in itertools.permutations(shared_terms, 2):
        with_a = [i for i in placed[a] if b not in ours[i].words]
        with_b = [i for i in placed[b] if a not in ours[i].words]
        if len(with_a) != 1 or len(with_b) != 1:
            continue
        matched = match_clauses(ours, theirs, {a, b})
        i, k = with_a[0], with_b[0]
        if i not in matched or k not in matched:
            continue
        where_a, where_b = theirs[matched[i]], theirs[matched[k]]
        if b in where_a.words and a in where_b.words and (a not in where_a.words or b not in where_b.words):
            return [Difference(kind="role", claimed=ours[i].text, source=where_a.text)]
    return []


def clause_opposite(claim: str, source: str) -> list[Difference]:
    """A "negation" difference when a claim clause uses one side of an ``OPPOSITES`` pair where the source
    clause it matches uses only the other. Read only where the source has two clauses or more: on the whole
    sentence, another clause saying the claim's word would hide it (``facts.opposite_word``)."""
    ours, theirs = clauses(claim), clauses(source)
    if len(theirs) < 2:
        return []
    for i, j in match_clauses(ours, theirs, set()).items():
        found = opposite_word(set(ours[i].words), set(theirs[j].words))
        if found is not None:
            return [found]
    return []
