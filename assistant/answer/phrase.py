"""The answer phrase: the short span inside a cited sentence that answers a short-fact question.

Pure functions. The question's expected answer type (``scoring.expected_answer_type``, plus
"who ..." and "what ... called/named" as names) decides which spans are candidates: prices,
dates, counts or quantities, or capitalised names. Values the question already states are not
answers, and neither are a source's reference marks ("[12]"). Of the candidates, the one nearest
to the sentence's words that the question also uses is the phrase.
"""

from __future__ import annotations

import re

from assistant.answer.scoring import (
    CAPITALISED,
    DATE_A,
    DATE_VALUE,
    MONEY_A,
    NUMBER_A,
    expected_answer_type,
)
from assistant.lexical import STOP_WORDS, terms
from assistant.patterns import REFERENCE_MARK

_WHO_Q = re.compile(r"^\W*(?:and |so |but )?who\b|\bwho (?:is|was|were|are|led|leads|founded|discovered)\b", re.I)
_CALLED_Q = re.compile(r"\b(?:what|which)\b.*\b(?:called|named|known as)\b", re.I)
# What may follow a number inside its phrase: an ordinal suffix, the rest of a range ("18–32"),
# a hyphenated qualifier ("18-year-old"), a scale word, then a unit, a currency or a percent.
_RANGE = re.compile(r"\s*(?:to|–|—|-|and)\s*[$€£¥]?(?=\d)")
_TAIL = re.compile(
    r"(?:st|nd|rd|th)?(?:-[a-z]+)*(?:\s*(?:hundred|thousand|million|billion|trillion)\b)?"
    r"(?:\s*(?:%|per ?cent\b|(?:us )?dollars?\b|euros?\b|pounds?\b|usd\b|eur\b|"
    r"(?:kilo|mega)?bases?\b|base pairs\b|kb\b|kda\b|mg\b|kg\b|ml\b|µg\b|fold\b|times\b|"
    r"(?:second|minute|hour|day|week|month|year|decade|centur(?:y|ie))s?\b))?", re.I)
_DATE_PREFIX = re.compile(r"(?:early|mid|late)[\s-]+$", re.I)
_DATE_JOIN = re.compile(r"[\s,]*(?:of\s+)?")
_NAME_JOIN = re.compile(r"\s+(?:(?:of|for|and|de|di|del|der|von|van|la|le|&)\s+)?")


def phrase_type(question: str) -> str | None:
    """The kind of short fact asked for: 'money', 'date', 'number', 'name', or None."""
    kind = expected_answer_type(question)
    if kind is None and (_WHO_Q.search(question) or _CALLED_Q.search(question)):
        return "name"
    return kind


def _numbers(text: str, question: str, money: bool) -> list[tuple[int, int]]:
    """Number phrases with their range, scale and unit; not inside a code like AAV9 or
    COVID-19, not dates (for counts), not only numbers the question states."""
    given = {m.group(0).lower() for m in NUMBER_A.finditer(question)}
    dates = [m.span() for m in DATE_VALUE.finditer(text)]
    spans: list[tuple[int, int, bool]] = []  # (start, end, whether the question lacks it)
    for match in NUMBER_A.finditer(text):
        start, end = match.span()
        if (spans and start < spans[-1][1]) or re.search(r"[A-Za-z]-?$", text[max(0, start - 2):start]):
            continue
        tokens = [match.group(0).lower()]
        while (joined := _RANGE.match(text, end)) and (following := NUMBER_A.match(text, joined.end())):
            end = following.end()
            tokens.append(following.group(0).lower())
        end = _TAIL.match(text, end).end()
        if start and text[start - 1] in "$€£¥":
            start -= 1
        spans.append((start, end, not all(t in given for t in tokens)))
    found = [(s, e) for s, e, new in spans if new]
    if money:
        return [(s, e) for s, e in found if text[s] in "$€£¥" or any(MONEY_A.finditer(text, s, e))]
    return [(s, e) for s, e in found if not any(a < e and s < b for a, b in dates)]


def _dates(text: str, question: str) -> list[tuple[int, int]]:
    """Dates (day and month, month, year, "late 2023"), adjacent parts merged, not ones the question states."""
    given = {m.group(0).lower() for p in (DATE_VALUE, DATE_A) for m in p.finditer(question)}
    parts = sorted({m.span() for m in DATE_VALUE.finditer(text)}
                   | {m.span() for m in DATE_A.finditer(text) if m.group(1) or m.group(2)})
    merged: list[list[int]] = []
    for start, end in parts:
        if merged and (start <= merged[-1][1] or _DATE_JOIN.fullmatch(text, merged[-1][1], start)):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out = []
    for start, end in merged:
        if text[start:end].lower() in given:
            continue
        prefix = _DATE_PREFIX.search(text, 0, start)
        out.append((prefix.start() if prefix else start, end))
    return out


def _names(text: str, question: str) -> list[tuple[int, int]]:
    """Runs of capitalised words ("Telethon Institute of Genetics and Medicine") holding a word
    the question lacks; a leading stop word, a lone sentence-initial word and a month are not names."""
    asked = {w for w in re.split(r"[\W_]+", question.lower()) if w}
    words = list(CAPITALISED.finditer(text))
    first = len(text) - len(text.lstrip())
    runs: list[list[re.Match]] = []
    for word in words:
        if runs and _NAME_JOIN.fullmatch(text, runs[-1][-1].end(), word.start()):
            runs[-1].append(word)
        else:
            runs.append([word])
    out = []
    for run in runs:
        while run and run[0].group(1).lower() in STOP_WORDS:
            run = run[1:]
        if not run or (len(run) == 1 and (run[0].start() == first or DATE_A.fullmatch(run[0].group(1)))):
            continue  # no words left, a capital only because it starts the sentence, or a month
        lowered = {w for m in run for w in re.split(r"[\W_]+", m.group(1).lower()) if w}
        if lowered - asked:
            out.append((run[0].start(), run[-1].end()))
    return out


def answer_phrase(question: str, sentence: str) -> tuple[int, int] | None:
    """Character offsets in ``sentence`` of the phrase that answers ``question``, or None when
    the question does not ask for a short fact or the sentence holds no candidate.

    Candidates are spans of the expected type that the question does not already contain; the
    one closest (in characters) to a sentence word sharing a content term with the question
    wins, the earlier on ties.
    """
    kind = phrase_type(question)
    if kind is None:
        return None
    text = REFERENCE_MARK.sub(lambda m: " " * len(m.group(0)), sentence)  # same offsets, no marks
    if kind == "name":
        candidates = _names(text, question)
    elif kind == "date":
        candidates = _dates(text, question)
    else:
        candidates = _numbers(text, question, money=kind == "money")
    if not candidates:
        return None
    wanted = set(terms(question, drop_question_words=True))
    anchors = [m.span() for m in re.finditer(r"\S+", text) if wanted & set(terms(m.group(0)))]

    def distance(span: tuple[int, int]) -> int:
        gaps = [max(a - span[1], span[0] - b) for a, b in anchors if not (a < span[1] and span[0] < b)]
        return min(gaps, default=len(text))

    start, end = min(candidates, key=lambda span: (distance(span), span[0]))
    return start, end


def phrase_fields(question: str, quote: str, start: int) -> dict[str, int | str]:
    """A citation's answer_start, answer_end (file offsets, for a quote at ``start``) and
    answer_phrase; empty when ``quote`` holds no answer phrase for ``question``."""
    span = answer_phrase(question, quote)
    if span is None:
        return {}
    return {"answer_start": start + span[0], "answer_end": start + span[1], "answer_phrase": quote[span[0]:span[1]]}
