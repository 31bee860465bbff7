"""The facts a paraphrase must keep, and how a claim's differ from a source sentence's.

Numbers and their units, names (capitalised words, acronyms, codes, rare terms of the field) and
polarity (negation, opposites); plus the similarity that says how closely a sentence restates a
claim. Pure functions of text: ``checking`` turns them into verdicts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from assistant.lexical import STOP_WORDS, is_specialised, key_stems, place_forms, spelling_stem, stem, words
from assistant.models import Difference
from assistant.patterns import MONTHS, OPPOSITES, REFERENCE_MARK

_NEGATIONS = frozenset("not no never none nothing neither nor without cannot can't won't isn't aren't wasn't "
                       "weren't doesn't don't didn't hasn't haven't hadn't shouldn't wouldn't couldn't fail fails "
                       "failed unable lack lacks lacking absence absent missing".split())

_NEGATION_SKIP = frozenset("yet even always only still ever been be being very so too also just really longer "
                           "more".split())
# Verbs that carry no content of their own: "did not show any cross-reactivity" negates the noun after them;
# "has not been shown to be safe" (no content word near) negates "shown".
_LIGHT_VERBS = frozenset("show shows showed shown exhibit exhibits exhibited display displays displayed have has "
                         "had".split())

# A number joined to lower-case words is a quantity, not a name: "6-fold", "3-year-old", "28-day".
_COUNTED_WORD = re.compile(r"\d+(?:-[a-z]+)+")
_UNTIL = frozenset({"until", "till"})  # "not ... until X" bounds a time: no negation

# Where a negation's reach ends: a comma, semicolon, colon, bracket or sentence end (not a decimal point).
_PUNCTUATION_BREAK = re.compile(r"[,;:()\[\]]|\.(?!\d)")

_NEGATED_FORMS = {"unknown": "not known", "unlikely": "not likely", "unsafe": "not safe", "unclear": "not clear",
                  "unable": "not able", "unsuccessful": "not successful", "ineffective": "not effective",
                  "impossible": "not possible", "inefficient": "not efficient", "insufficient": "not sufficient"}

_NUMBER_WORDS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
                 "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
                 "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
                 "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                 "eighty": "80", "ninety": "90", "hundred": "100"}

# Shares said in words, as percentages: "half", "two-thirds", "a quarter", "one in four". Compared with a
# percentage within FRACTION_TOLERANCE points, as words round ("just over three-quarters" for 76.7%).
# A third, quarter, fifth or tenth needs a count before it (not "the third patient", "the first quarter"),
# and none may start a compound ("a third-generation assay", "half-life").
_FRACTIONS = {"half": 50.0, "third": 100 / 3, "thirds": 100 / 3, "quarter": 25.0, "quarters": 25.0,
              "fourth": 25.0, "fourths": 25.0, "fifth": 20.0,
              "fifths": 20.0, "tenth": 10.0, "tenths": 10.0}
_FRACTION = re.compile(r"\b(?:(a|one|two|three|four)[\s-]+(?=[a-z]+\b(?!-))|(?=half\b(?!-)))"
                       r"(half|thirds?|quarters?|fourths?|fifths?|tenths?)\b(?!-)|"
                       r"\b(?:one|1) in (two|three|four|five|six|seven|eight|nine|ten|\d+)\b", re.I)
FRACTION_TOLERANCE = 2.5
# Units that are a multiple of another: a paraphrase may say "three decades" for "30 years".
_SCALED_UNITS = {"decade": (10, "years"), "decades": (10, "years"), "dozen": (12, ""), "dozens": (12, "")}
# Units of time, as a multiple of their group's smallest unit: a source's "72 hours" also allows a claim's
# "three days", and "30 months" allows "2.5 years" (months and years are not converted to days: they vary).
_TIME_UNITS = {**{u: ("s", 1) for u in ("second", "seconds", "sec", "s")},
               **{u: ("s", 60) for u in ("minute", "minutes", "min", "mins")},
               **{u: ("s", 3600) for u in ("hour", "hours", "hr", "hrs", "h")},
               **{u: ("s", 86400) for u in ("day", "days", "d")},
               **{u: ("s", 604800) for u in ("week", "weeks", "wk", "wks")},
               "fortnight": ("s", 1209600), "fortnights": ("s", 1209600),
               **{u: ("mo", 1) for u in ("month", "months", "mo", "mos")},
               **{u: ("mo", 12) for u in ("year", "years", "yr", "yrs", "y")},
               "century": ("mo", 1200), "centuries": ("mo", 1200)}
# One unit of time said with an article ("a week", "the past decade") is a quantity a claim may write in
# digits ("7 days", "10 years"); read on the source side only, so a claim's "once a year" is no number.
_ONE_TIME_UNIT = re.compile(r"\b(?:a|an|one|per|the (?:past|last|previous|next|following|first))\s+"
                            r"(hour|day|week|fortnight|month|year|decade|century)\b", re.I)
# Scale words are kept as a number's unit ("2.1 million"), for display, and multiplied out for comparison,
# so that "94 million" and "94,000,000" are one quantity.
_SCALE_WORDS = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}

_NUMBER_WORD = re.compile(r"(?<![\w-])(?:" + "|".join(_NUMBER_WORDS) + r")(?![\w-])", re.I)
_UNIT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TENS_AND_UNITS = re.compile(r"(?<![\w-])(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[-‑ ]("
                             + "|".join(_UNIT_WORDS) + r")(?![\w-])", re.I)  # "thirty-two", "forty five"
# The first number of a range whose second is a percentage is one too ("20 to 50 percent", "20-50%").
_PERCENT_RANGE_END = re.compile(r"\s*(?:-|–|—|to)\s*\d+(?:\.\d+)?\s*(?:%|percent\b|per cent\b)", re.I)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(%|percent|[a-zA-Z]+))?")
# A number joined by a hyphen to letters before it (COVID-19, IL-6), or to a word with a capital after it
# (2019-nCoV), is part of a name, not a quantity; "3-year-old" and "5-fold" stay numbers.
_CODE_BEFORE = re.compile(r"[A-Za-z]-$")
_CODE_AFTER = re.compile(r"-[a-z]*[A-Z]")
# One lower-case letter glued to a number names a variant (protein 3a, compound 5b, panel 1e) unless it is a
# unit's symbol (24h, 3d, 5s, 2m, 10g, 20l, 5x, 3k, 2w, 1y, 37c).
_UNIT_LETTERS = frozenset("hdsmglxkwyc")


_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[\w‑-]*\w")


@dataclass(frozen=True)
class Vocabulary:
    """What the collection says about words: which ones it writes in lower case (so a
    capitalised first word of a claim is not taken for a name)."""

    lowercase: frozenset[str] = frozenset()



def normalize_text(text: str) -> str:
    """Text for verbatim comparison: NFKC, plain quotes and hyphens, no reference marks,
    single spaces, lower case, no trailing punctuation."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "‑": "-", "\u2010": "-", "–": "-",
                                         "—": "-", "\u00a0": " "}))
    text = REFERENCE_MARK.sub(" ", text)
    return " ".join(text.split()).lower().strip(" .;,:")



def numbers_with_units(text: str, spelled: bool = True) -> list[tuple[str, str]]:
    """(value, unit) pairs: '2.1 million dollars' -> ('2.1', 'million'), 'three decades' -> ('30', 'years');
    with ``spelled``, number words count too ('two' -> ('2', ''))."""
    return [(n.value, n.unit) for n in _numbers(text) if spelled or not n.spelled]


def _percentage(value: str) -> float | None:
    """A percentage's value ("76.7" -> 76.7), or None for a token that is no number ("1.2.3", a version)."""
    try:
        return float(value)
    except ValueError:
        return None


def _near(percent: float | None, others: Sequence[float]) -> bool:
    """Whether ``percent`` is within FRACTION_TOLERANCE points of one of ``others``."""
    return percent is not None and any(abs(percent - other) <= FRACTION_TOLERANCE for other in others)


def quantity(value: str, unit: str) -> str:
    """A number with its scale word multiplied out, for comparison: ('2.1', 'million') -> '2100000'."""
    if unit not in _SCALE_WORDS:
        return value
    try:
        scaled = Decimal(value) * _SCALE_WORDS[unit]  # exact: 128.2 thousand is 128200, not 128199.99...
    except InvalidOperation:
        return value
    return str(int(scaled)) if scaled == scaled.to_integral_value() else str(scaled.normalize())


def shares(text: str) -> list[tuple[str, float]]:
    """Shares a text says in words, as (phrase, percentage): "two-thirds" -> 66.7, "one in four" -> 25;
    not the half of "two and a half"."""
    found = []
    for match in _FRACTION.finditer(text):
        if match.group(2):
            count = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4}.get((match.group(1) or "a").lower(), 1)
            if match.group(2).lower() == "half" and (count > 1 or text[:match.start()].lower().endswith("and ")):
                continue  # "two and a half years" is no share
            if match.group(2).lower().startswith("fourth") and (match.group(1) or "a").lower() == "a":
                continue  # "a fourth dose" is an ordinal; "one fourth", "three fourths" are shares
            found.append((match.group(0), count * _FRACTIONS[match.group(2).lower()]))
        else:
            base = match.group(3).lower()
            whole = float(base) if base.isdigit() else float(_NUMBER_WORDS.get(base, 0))
            if whole > 0:
                found.append((match.group(0), 100 / whole))
    return found


class _Number(NamedTuple):
    value: str
    unit: str
    amount: str  # ``quantity``: the value with its scale word multiplied out
    beside: frozenset[str]  # stems of the words just before and after it
    spelled: bool  # written as a word ("four"), not in digits


def _numbers(text: str) -> list[_Number]:
    """The numbers of ``numbers_with_units``, digits first, each with what comparing them needs."""
    cleaned = REFERENCE_MARK.sub(" ", unicodedata.normalize("NFKC", text)).replace("‑", "-")
    in_shares = [m.span() for m in _FRACTION.finditer(cleaned)]  # "one in 4", "three quarters" (``shares``)

    def number(value_unit: tuple[str, str], start: int, end: int, spelled: bool) -> _Number:
        beside = words(cleaned[max(0, start - 40):start])[-1:] + words(cleaned[end:end + 40])[:1]
        return _Number(*value_unit, quantity(*value_unit), frozenset(stem(w) for w in beside), spelled)

    def in_share(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in in_shares)

    found = []
    for match in _NUMBER.finditer(cleaned):
        start, end = match.start(), match.end(1)
        if _CODE_BEFORE.search(cleaned, max(0, start - 2), start) or _CODE_AFTER.match(cleaned, end):
            continue  # part of a name: COVID-19, SARS-CoV-2, IL-6, 2019-nCoV
        if in_share(start, end):
            continue
        glued = match.group(2) or ""
        if len(glued) == 1 and glued.islower() and glued not in _UNIT_LETTERS and match.start(2) == end:
            continue  # a variant's name: 3a, 5b
        unit = glued.lower()
        if unit == "percent" or (unit == "per" and cleaned[match.end():match.end() + 5].lower() == " cent"):
            unit = "%"
        if not unit or unit in STOP_WORDS:
            unit = "%" if _PERCENT_RANGE_END.match(cleaned, end) else ""
        found.append(number(_scaled(match.group(1).replace(",", ""), unit), start, end, spelled=False))
    compounds = []
    for match in _TENS_AND_UNITS.finditer(cleaned):
        compounds.append(match.span())
        value = int(_NUMBER_WORDS[match.group(1).lower()]) + _UNIT_WORDS[match.group(2).lower()]
        found.append(number((str(value), ""), *match.span(), spelled=True))
    for match in _NUMBER_WORD.finditer(cleaned):
        if in_share(*match.span()) or any(a <= match.start() < b for a, b in compounds):
            continue
        after = words(cleaned[match.end():match.end() + 40])[:1]
        unit = after[0] if after and (after[0] in _SCALED_UNITS or after[0] in _SCALE_WORDS) else ""
        found.append(number(_scaled(_NUMBER_WORDS[match.group(0).lower()], unit), *match.span(), spelled=True))
    return found


def time_equivalents(text: str, numbers: Sequence[_Number] | None = None) -> set[str]:
    """Amounts the text's durations come to in the other units of their group (pure): "72 hours" -> 3 (days)
    and 4,320 (minutes)...; "30 months" -> 2.5 (years); "the last decade" -> 10 (years), 120 (months).
    Only whole numbers and exact decimals of at most two places. ``numbers``: the text's ``_numbers``, when
    already read."""
    found: set[str] = set()
    durations = [(n.value, n.unit) for n in (_numbers(text) if numbers is None else numbers)
                 if n.unit in _TIME_UNITS]
    # "decade" is no unit of a count ("three decades" is already read as 30 years), so one is 10 years
    durations += [("10", "years") if m.group(1).lower() == "decade" else ("1", m.group(1).lower())
                  for m in _ONE_TIME_UNIT.finditer(text)]
    for value, unit in durations:
        try:
            amount = Decimal(value) * _TIME_UNITS[unit][1]
        except InvalidOperation:
            continue
        for group, size in set(_TIME_UNITS.values()):
            if group == _TIME_UNITS[unit][0]:
                converted = amount / size
                if converted == converted.quantize(Decimal("0.01")) and converted > 0:
                    found.add(str(int(converted)) if converted == converted.to_integral_value()
                              else str(converted.normalize()))
    return found


def is_count(word: str) -> bool:
    """A numeral or number word, "one" included (which ``numbers_with_units`` skips, as it is often a
    pronoun)."""
    return word == "one" or bool(numbers_with_units(word))


def _scaled(value: str, unit: str) -> tuple[str, str]:
    """A count of a unit that stands for a multiple of another (three decades -> 30 years)."""
    if unit not in _SCALED_UNITS:
        return value, unit
    factor, base = _SCALED_UNITS[unit]
    try:
        scaled = float(value) * factor
    except ValueError:
        return value, unit
    return (str(int(scaled)) if scaled.is_integer() else str(scaled)), base



def tokens(text: str) -> list[str]:
    """Word tokens keeping case, inner hyphens and dotted abbreviations (U.S.)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", REFERENCE_MARK.sub(" ", text)).replace("‑", "-"))



_LETTER = re.compile(r"(?<=[a-z] )[A-Z](?![\w'’‑-])(?!\.\s*[a-z])")  # not a genus: C. difficile


def letters(text: str) -> set[str]:
    """Single capitals that name a variant after a lower-case word (hemophilia A, type B); not an
    article opening a sentence or a list entry ("Casgevy – A CRISPR-based therapy"), nor a genus
    (C. difficile)."""
    return set(_LETTER.findall(unicodedata.normalize("NFKC", REFERENCE_MARK.sub(" ", text))))


def names(text: str, vocabulary: Vocabulary = Vocabulary()) -> set[str]:
    """Name-like tokens in their original case: capitalised words (a sentence's first word only
    when it is a specialised term), acronyms, variant letters (``letters``: hemophilia A), and tokens
    mixing letters and digits (AAV9, SMN1)."""
    found = set()
    variants = letters(text)
    for position, token in enumerate(tokens(text)):
        lower = token.lower()
        mixed = (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
                 and not _COUNTED_WORD.fullmatch(token))  # "6-fold" (of "1.6-fold"), "3-year-old": a quantity
        if mixed or (token.isupper() and len(token) > 1):
            found.add(token)  # AAV9, CRISPR, FDA
        elif token[0].isupper():
            if position == 0 and (lower in vocabulary.lowercase or lower in STOP_WORDS or not is_specialised(lower)):
                continue
            if len(token) == 1:
                if token in variants:
                    found.add(token)
            elif lower not in STOP_WORDS:
                found.add(token)
    return found



def _negation_words(text: str) -> list[str]:
    """Lower-case words with 'unknown' spelled 'not known' (and the like)."""
    out = []
    for word in words(text.replace("’", "'")):
        out.extend(_NEGATED_FORMS.get(word, word).split())
    return out



def _cues(text: str) -> list[tuple[list[str], int]]:
    """Each negation cue as (the words of its stretch between punctuation marks, its position there). A bound
    is no negation: "no later than", "not more than" (a comparative and "than" after the cue), and "not
    available until September" (which says when it was, as "only in September available" does); nor is a
    comparison ("not as widespread as"), nor the "nor" of "neither ... nor"."""
    found = []
    for stretch in _PUNCTUATION_BREAK.split(text):
        tokens_ = _negation_words(stretch)
        for i, word in enumerate(tokens_):
            if not (word in _NEGATIONS or word.endswith("n't")):
                continue
            if tokens_[i + 2:i + 3] == ["than"] or any(t in _UNTIL for t in tokens_[i + 1:]):
                continue
            if word == "nor" and "neither" in tokens_[:i]:
                continue  # "neither a market nor a person" is one negation
            if tokens_[i + 1:i + 2] == ["as"] and "as" in tokens_[i + 3:i + 5]:
                continue  # "not as widespread as" compares, as "less widespread" does
            if tokens_[i + 1:] == ["shown"]:
                continue  # "(data not shown)" reports on the paper, not on what it found
            found.append((tokens_, i))
    return found


def negation_count(text: str) -> int:
    """Number of negation cues (not, never, without, n't, un-known...), bounds left out (``_cues``)."""
    return len(_cues(text))



def negated_words(text: str) -> list[str]:
    """The words a negation applies to, lower-cased: the first content word after each cue, in the same
    stretch of text between punctuation marks ("data are lacking, particularly in ..." negates no word)."""
    found = []
    for tokens_, i in _cues(text):
        after = [w for w in tokens_[i + 1:i + 5] if w not in STOP_WORDS and w not in _NEGATION_SKIP]
        content = [w for w in after if w not in _LIGHT_VERBS]
        if content or after:
            found.append((content or after)[0])
    return found


def negated_terms(text: str) -> set[str]:
    """Stems of the words a negation applies to: the first content word after each cue."""
    return {stem(word) for word in negated_words(text)}


_FULL_MONTHS = {number: max((n for n, m in MONTHS.items() if m == number), key=len).capitalize()
                for number in set(MONTHS.values())}  # 9 -> "September"
# Full names, and "Sept"; other abbreviations (Mar, Jan) are too often something else.
_MONTH_NAME = re.compile(r"\b(" + "|".join(sorted((n for n in MONTHS if len(n) > 3 or n == "may"), key=len,
                                                   reverse=True)) + r")\b", re.I)
_NEAR_DIGIT = re.compile(r"\d")


def months(text: str) -> set[int]:
    """Months a text names in full (1-12); "May" only capitalised and next to a number (May 2019, 3 May)."""
    found = set()
    for match in _MONTH_NAME.finditer(text):
        name = match.group(1)
        if name.lower() == "may" and not (name[0] == "M" and _NEAR_DIGIT.search(
                text[max(0, match.start() - 4):match.start()] + text[match.end():match.end() + 5])):
            continue
        found.add(MONTHS[name.lower()])
    return found



def fact_differences(claim: str, source: str, source_context: str = "",
                     vocabulary: Vocabulary = Vocabulary()) -> list[Difference]:
    """Numbers, units, months, names and polarity in which a claim departs from its source sentence.

    Names may also come from ``source_context`` (the sentences before it, the title), since
    a sentence often says "it" for the drug named just before. Facts the claim leaves out
    are not differences; a rare term of the collection that the claim adds is (a swapped
    disease, gene or vector).
    """
    diffs: list[Difference] = []
    source_numbers, claim_numbers = _numbers(source), _numbers(claim)
    source_digits = {n.amount for n in source_numbers if not n.spelled}
    spelled_by_source: dict[str, set[str]] = {}  # a number the source spells out -> the words beside it
    for n in source_numbers:
        if n.amount not in source_digits:
            spelled_by_source.setdefault(n.amount, set()).update(n.beside)
    source_shares = shares(source)
    source_percents = [_percentage(n.amount) for n in source_numbers if n.unit == "%"]
    said = {n.amount for n in claim_numbers}
    durations = time_equivalents(source, source_numbers)  # "three days" for "72 hours", "10 years" for "the last decade"
    unmatched_source = [f"{n.value} {n.unit}".strip() for n in source_numbers if n.amount not in said]
    for n in claim_numbers:
        # a digit in the claim stands for a number the source spells out only beside a word the two share
        # ("only 4 were included" / "only four were included"; "type 2" is not "age two")
        if n.spelled:
            allowed = {m.amount for m in source_numbers} | durations
        else:
            allowed = source_digits | durations | (
                {n.amount} if spelled_by_source.get(n.amount, set()) & n.beside else set())
        if n.amount not in allowed and not (
                n.unit == "%" and _near(_percentage(n.amount), [share for _, share in source_shares])):
            diffs.append(Difference(kind="number", claimed=f"{n.value} {n.unit}".strip(),
                                    source=", ".join(unmatched_source) or "(not stated)"))
        elif n.unit and n.unit not in _SCALE_WORDS:
            units = {"" if m.unit in _SCALE_WORDS else m.unit for m in source_numbers if m.amount == n.amount}
            if units and "" not in units and n.unit not in units and stem(n.unit) not in {stem(u) for u in units}:
                diffs.append(Difference(kind="unit", claimed=f"{n.value} {n.unit}",
                                        source=f"{n.value} {sorted(units)[0]}"))
    # a share the claim says in words must be near a percentage or share of the source, when it gives any
    if source_percents or source_shares:
        near = [p for p in source_percents if p is not None] + [share for _, share in source_shares]
        for phrase, share in shares(claim):
            if not _near(share, near):
                diffs.append(Difference(kind="number", claimed=phrase, source=", ".join(
                    [f"{n.value}%" for n in source_numbers if n.unit == "%"] + [p for p, _ in source_shares])))
    said_months = months(source) or months(source_context)  # a date a sentence leaves to its context
    for month in sorted(months(claim) - said_months):
        diffs.append(Difference(kind="date", claimed=_FULL_MONTHS[month],
                                source=", ".join(_FULL_MONTHS[m] for m in sorted(said_months)) or "(not stated)"))
    context_tokens = set(tokens(f"{source} {source_context}"))
    context_stems = {spelling_stem(w) for w in words(f"{source} {source_context}")}
    claim_names = names(claim, vocabulary)
    source_names = sorted(names(source, vocabulary) - claim_names)
    context_parts = {p for t in context_tokens for p in re.split(r"-", t) if p}
    context_lower = {t.lower() for t in context_tokens}
    source_letters = letters(source)
    for name in sorted(claim_names):
        if len(name) == 1:  # "hemophilia A": only the source sentence itself, not an initial article
            if name not in source_letters:
                diffs.append(Difference(kind="name", claimed=name, source=", ".join(sorted(source_letters))
                                        or "(not named)"))
            continue
        parts = [p for p in re.split(r"-", name) if p]
        if name in context_tokens or (len(parts) > 1 and all(p in context_parts for p in parts)):
            continue
        if place_forms(name) & context_lower:  # "Ireland" where the source says "Irish"
            continue
        diffs.append(Difference(kind="name", claimed=name, source=", ".join(source_names) or "(not named)"))
    units = {n.unit for n in claim_numbers}
    for word in dict.fromkeys(words(claim)):
        term = spelling_stem(word)
        if word in units or not any(c.isalpha() for c in word):  # a number ("2.56") is the number rule's
            continue
        if (word not in STOP_WORDS and term not in context_stems and word not in {n.lower() for n in claim_names}
                and is_specialised(word)):
            diffs.append(Difference(kind="name", claimed=word, source=", ".join(source_names) or "(not stated)"))
    claim_negated, source_negated = negated_terms(claim), negated_terms(source)
    claim_stems = {stem(w) for w in _negation_words(claim)}
    source_stems = {stem(w) for w in _negation_words(source)}
    flipped: list[str] = []
    if negation_count(claim) % 2 != negation_count(source) % 2:
        # Only a negation that bears on what both sentences say counts (not one in an omitted clause).
        flipped = sorted(_rooted_in(claim_negated - source_negated, source_stems)
                         | _rooted_in(source_negated - claim_negated, claim_stems))
    if flipped:
        diffs.append(Difference(kind="negation", claimed=("not " if flipped[0] in claim_negated else "") + flipped[0],
                                source=("not " if flipped[0] in source_negated else "") + flipped[0]))
    else:
        opposite = opposite_word(set(words(claim)), set(words(source)))
        if opposite is not None:
            diffs.append(opposite)
    return diffs


def _rooted_in(terms: set[str], stems: set[str], letters: int = 7) -> set[str]:
    """The ``terms`` (stems) that ``stems`` holds, or holds a stem of the same root: the first ``letters``
    letters ("transmiss" of transmission and "transmit" of transmitted, which the stemmer keeps apart)."""
    roots = {s[:letters] for s in stems if len(s) >= letters}
    return {t for t in terms if t in stems or (len(t) >= letters and t[:letters] in roots)}


def opposite_word(claim_words: set[str], source_words: set[str]) -> Difference | None:
    """The first ``OPPOSITES`` pair whose one side the claim uses where the source uses only the other
    (any form of either side: "shortened" against "longer"), as a "negation" difference."""
    for one, other in OPPOSITES:
        a, b = set(one.split("|")), set(other.split("|"))
        for said, opposite in ((a, b), (b, a)):
            claimed, stated = said & claim_words, opposite & source_words
            if claimed and stated and not said & source_words:
                return Difference(kind="negation", claimed=min(claimed), source=min(stated))
    return None



def lexical_overlap(claim: str, sentence: str) -> float:
    """Share of the claim's content stems that the sentence contains."""
    claim_terms = key_stems(claim)
    if not claim_terms:
        return 0.0
    sentence_terms = key_stems(sentence)
    return len(claim_terms & sentence_terms) / len(claim_terms)



def similarity(dense: float, lexical: float) -> float:
    """How closely a sentence restates a claim: cosine and term overlap, weighted."""
    return 0.5 * dense + 0.5 * lexical
