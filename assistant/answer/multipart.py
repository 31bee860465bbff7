"""Two-part questions: split one question into the parts that need separate answers, then merge.

``split_question`` finds (a) two questions in one ("When was Luxturna approved and what does it
treat?", or two sentences ending in "?") and (b) one question over two or three named subjects
("Which genes do Luxturna and Zolgensma deliver?"). ``merge_answers`` puts the parts' answers back
together: each answered part's cited sentences in order, citations renumbered, and one "The
documents don't say: ..." sentence per part the documents do not cover.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from assistant.answer.abstention import merged_abstention
from assistant.answer.conversation import resolve_follow_up
from assistant.answer.scoring import entity_terms
from assistant.lexical import QUESTION_WORDS, STOP_WORDS, words
from assistant.models import Answer, Citation, System
from assistant.patterns import QUESTION_TOKEN, citation_marker

MAX_PARTS = 3
MIN_PART_WORDS = 3

_WH = r"(?:what|when|where|which|who|whom|whose|why|how)"
_STARTS_QUESTION = re.compile(
    rf"^\s*(?:{_WH}|is|are|was|were|do|does|did|can|could|will|would|has|have|had|should)\b", re.I)
# "..., and how much ..." / "... and what does ...": a second question inside the first.
_INNER_SPLIT = re.compile(rf",?\s+(?:and|or)\s+(?={_WH}\b)", re.I)
# A question comparing or relating its parts asks one thing: never split it as two questions.
_COMPARISON = re.compile(r"\b(?:between|both|either|neither|differ\w*|compar\w*|versus|vs|than)\b", re.I)
_LEADING_JOIN = re.compile(r"^(?:and|also|or|but|then)\b[\s,]*", re.I)
_PRONOUN = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|him|her|his)\b", re.I)
_JOIN = re.compile(r"^\s*,?\s*(?:and|or|versus|vs\.?|compared\s+(?:with|to))\s+$", re.I)
_AGREEMENT = {"do": "does", "are": "is", "have": "has", "were": "was"}
_DROPPED_BEFORE = {"both", "either"}
# A lower-case link inside a long proper name ("Society for Gene and Cell Therapy", "Institute of ...").
_NAME_LINK = re.compile(r"\s+(?:for|of|on|de|del|der|la|le|du|und|and the|of the|for the)\s+")
# A lower-case content word right before the names: they are a title or apposition ("the novel Pride and Prejudice").
_AFTER_NOUN = re.compile(r"\b(?!(?:%s)\b)[a-z]+\s+$" % "|".join(w for w in STOP_WORDS | QUESTION_WORDS if w.isalpha()))
# "the review by Bueren and Auricchio", "between A and B": the names act or relate together.
_JOINT_BEFORE = re.compile(r"\b(?:by|from|with|between|among|according\s+to)\s+(?:both\s+)?$", re.I)


def _as_question(text: str) -> str:
    """A part cleaned up to read as a question of its own: capitalised, ending in "?"."""
    text = _LEADING_JOIN.sub("", text.strip(" \t\n,;:")).rstrip(" ?.!,;:")
    return (text[:1].upper() + text[1:] + "?") if text else ""


def _self_contained(part: str, previous: str) -> str | None:
    """``part`` with a pronoun replaced by the previous part's named subject; None when it leans on
    a pronoun and no name can be carried over (then the question is better left whole)."""
    if entity_terms(part) or not _PRONOUN.search(part):
        return part
    if not entity_terms(previous):
        return None
    resolved = resolve_follow_up(part, [previous])
    return resolved if resolved != part else None


def _split_questions(question: str) -> list[str]:
    """(a): two questions in one, each made self-contained; [question] when there are not."""
    sentences = [s for s in re.split(r"(?<=\?)\s+", question.strip()) if s.strip()]
    if len(sentences) >= 2 and all(s.rstrip().endswith("?") for s in sentences):
        raw = sentences
    elif _STARTS_QUESTION.match(question) and not _COMPARISON.search(question):
        pieces, last = [], 0
        for match in _INNER_SPLIT.finditer(question):
            pieces.append(question[last:match.start()])
            last = match.end()
        raw = pieces + [question[last:]]
    else:
        return [question]
    parts = [_as_question(p) for p in raw]
    if len(parts) < 2 or len(parts) > MAX_PARTS or any(len(words(p)) < MIN_PART_WORDS for p in parts):
        return [question]
    out = [parts[0]]
    for part in parts[1:]:
        resolved = _self_contained(part, out[-1])
        if resolved is None:
            return [question]
        out.append(resolved)
    return out


def _split_subjects(question: str) -> list[str]:
    """(b): one question over named subjects joined by and/or/versus/compared with, asked once per
    subject; [question] when there is no such pair."""
    tokens = list(QUESTION_TOKEN.finditer(question))
    if any(t.group(0)[0].isupper() and t.group(0).lower() in STOP_WORDS and t.group(0) != "I" for t in tokens[1:]):
        return [question]  # Title Case Or SHOUTING: capitals say nothing about names
    runs: list[tuple[int, int]] = []  # character spans of consecutive name tokens
    for i, token in enumerate(tokens):
        name = token.group(0).lower()  # a name as ``entity_terms`` decides, and no stop word
        if i == 0 or name not in entity_terms("x " + token.group(0)) or name in STOP_WORDS:
            continue
        if runs and runs[-1][1] == tokens[i - 1].end() and not question[runs[-1][1]:token.start()].strip():
            runs[-1] = (runs[-1][0], token.end())
        else:
            runs.append((token.start(), token.end()))
    for first in range(len(runs) - 1):
        chain = [runs[first]]
        for nxt in runs[first + 1:]:
            gap = question[chain[-1][1]:nxt[0]]
            if _JOIN.match(gap):
                chain.append(nxt)
                break
            if gap.strip() != ",":  # a list "A, B and C" goes on; anything else ends the chain
                break
            chain.append(nxt)
        if len(chain) < 2 or not _JOIN.match(question[chain[-2][1]:chain[-1][0]]):
            continue
        if len(chain) > MAX_PARTS:
            return [question]
        before, after = question[:chain[0][0]], question[chain[-1][1]:]
        if first > 0 and _NAME_LINK.fullmatch(question[runs[first - 1][1]:chain[0][0]]):
            return [question]  # "European Society for Gene and Cell Therapy": one long name, not two subjects
        if _JOINT_BEFORE.search(before) or _AFTER_NOUN.search(before):
            return [question]
        head = before.rstrip().rsplit(" ", 1)
        if len(head) == 2 and head[1].lower() in _DROPPED_BEFORE:
            before = head[0] + " "
            head = before.rstrip().rsplit(" ", 1)
        verb = head[-1]
        if verb.lower() in _AGREEMENT:  # "Which genes do A and B deliver?" -> "Which genes does A deliver?"
            fixed = _AGREEMENT[verb.lower()]
            before = before.rstrip()[: -len(verb)] + (fixed.capitalize() if verb[0].isupper() else fixed) + " "
        parts = [_as_question(before + question[s:e] + after) for s, e in chain]
        if any(len(words(p)) < MIN_PART_WORDS for p in parts):
            return [question]
        return parts
    return [question]


def split_question(question: str) -> list[str]:
    """The parts of a question that need separate answers: [question] unless it clearly asks two
    (or three) things, at most ``MAX_PARTS`` parts of at least ``MIN_PART_WORDS`` words each."""
    parts = _split_questions(question)
    out = [p for part in parts for p in (_split_subjects(part) if len(parts) < MAX_PARTS else [part])]
    out = parts if len(out) > MAX_PARTS else out
    return out if len(out) >= 2 else [question]


def _not_covered(part: str) -> str:
    """The sentence that says a part is not answered by the documents."""
    text = part.strip().rstrip("?.!")
    text = text[:1].lower() + text[1:] if text[1:2].islower() else text  # "What is" -> "what is"; AAV9 stays
    return f"The documents don't say: {text}."


def _segments(answer: Answer) -> list[tuple[str, Citation]]:
    """The answer text cut into one piece per citation, each piece ending with its own marker."""
    out, position = [], 0
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        marker = citation_marker(citation.marker)
        expected = f"{' '.join(citation.quote.split())} {marker}"
        at = answer.text.find(expected, position)
        if at >= 0:
            end = at + len(expected)
        else:  # composed differently: the next marker preceded by white space ends the piece
            match = re.compile(rf"\s{re.escape(marker)}").search(answer.text, position)
            end = match.end() if match else len(answer.text)
            at = position
        out.append((answer.text[at:end].strip(), citation))
        position = end
    return out


def merge_answers(question: str, parts: Sequence[str], answers: Sequence[Answer]) -> Answer:
    """One answer to ``question`` from the answers to its ``parts`` (same order): answered parts'
    sentences in order with citations renumbered 1..n (a sentence cited by two parts appears once),
    then "The documents don't say: <part>." for each part that abstained. Abstains only when every
    part does; ``reason`` names the parts not covered; confidence is the lowest of the answered."""
    pieces, citations, seen = [], [], set()
    answered = [a for a in answers if not a.abstained]
    for answer in answered:
        for piece, citation in _segments(answer):
            key = (citation.doc, citation.start, citation.end)
            if key in seen:
                continue
            seen.add(key)
            marker = len(citations) + 1
            old = citation_marker(citation.marker)
            pieces.append(piece[: len(piece) - len(old)] + citation_marker(marker) if piece.endswith(old) else piece)
            citations.append(citation.model_copy(update={"marker": marker}))
    pieces.extend(_not_covered(p) for p, a in zip(parts, answers) if a.abstained)
    timings: Counter[str] = Counter()
    for answer in answers:
        timings.update(answer.timings_ms)
    abstained, confidence, reason = merged_abstention(parts, answers)
    return Answer(question=question, text=" ".join(pieces), abstained=abstained, reason=reason,
                  confidence=confidence, citations=citations, mode=answers[0].mode if answers else System.HYBRID,
                  timings_ms=dict(timings), parts=list(parts),
                  conflicts=[c for a in answered for c in a.conflicts],
                  unmatched=list(dict.fromkeys(w for a in answered for w in a.unmatched)))
