"""Pure scoring functions: fusion, term coverage, answer typing, MMR and confidence."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from assistant.lexical import QUESTION_WORDS, STOP_WORDS, is_specialised, stem, words
from assistant.patterns import QUESTION_TOKEN, REFERENCE_MARK

RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K,
                           weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum_i w_i / (k + rank_i), ranks from 1; best first.

    Ties keep the order of first appearance, so the result is deterministic.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def score_fusion(ranked: Sequence[Sequence[tuple[int, float]]], weights: Sequence[float] | None = None,
                 depth: int | None = None) -> list[tuple[int, float]]:
    """Fuse scored lists by their scores: score(id) = sum_i w_i * s_i(id) / max_i, best first.

    Each list's scores are divided by its top score, so a BM25 score and a cosine weigh alike, and a
    question whose best lexical match is weak does not let BM25 decide. An id missing from a list that
    was cut at ``depth`` items gets that list's lowest normalised score (it ranked below all of them);
    missing from a shorter list, which holds every match, it gets 0. A list whose top score is not
    positive adds nothing. Ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(ranked)
    normalised: list[tuple[dict[int, float], float, float]] = []
    for scored, weight in zip(ranked, weights):
        top = max((s for _, s in scored), default=0.0)
        if top <= 0:
            continue
        values = {item: score / top for item, score in scored}
        floor = min(values.values()) if depth is not None and len(scored) >= depth else 0.0
        normalised.append((values, floor, weight))
    order = list(dict.fromkeys(item for scored in ranked for item, _ in scored))
    fused = {item: sum(w * values.get(item, floor) for values, floor, w in normalised) for item in order}
    return sorted(fused.items(), key=lambda kv: -kv[1])


def idf(term: str, df: Mapping[str, int], total: int) -> float:
    """BM25's smoothed inverse document frequency: ln(1 + (N - df + 0.5) / (df + 0.5))."""
    n = df.get(term, 0)
    return math.log(1.0 + (total - n + 0.5) / (n + 0.5))


def term_coverage(query_terms: Sequence[str], text_terms: set[str], weights: Mapping[str, float]) -> float:
    """IDF-weighted share of distinct query terms present in a text, in [0, 1]."""
    distinct = set(query_terms)
    total = sum(weights[t] for t in distinct)
    if total <= 0:
        return 0.0
    return sum(weights[t] for t in distinct if t in text_terms) / total


_MONEY_Q = re.compile(r"\b(price|prices|priced|cost|costs|costing|fee|fees)\b", re.I)
_NUMBER_Q = re.compile(r"\b(how (many|much|long|old|often|large|big|small|far)|what (percentage|proportion|fraction|"
                       r"share|number|amount|age|size|rate)|number of|percent)\b", re.I)
_DATE_Q = re.compile(r"^\W*(?:and |so |but )?when\b|\b(what|which) (year|date|decade|month)\b|\bsince when\b|\bhow long ago\b",
                     re.I)
MONEY_A = re.compile(r"[$€£¥]|\b(dollars?|euros?|pounds?|usd|eur)\b|\b\d[\d,.]*\s*(million|billion|thousand)\b", re.I)
NUMBER_A = re.compile(r"\d+(?:[.,]\d+)*|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                       r"thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|tens|half)\b", re.I)
DATE_A = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|"
                     r"october|november|december)\b|\b(century|decade|today|yesterday|year)\b", re.I)


_NAME_Q = re.compile(r"\b(what|which)(?:\s+\w+)?\s+(company|companies|university|universities|institute|institution|"
                     r"organi[sz]ation|city|country|brand|journal|manufacturer|hospital|agency)\b|"
                     r"\bname of the (child|patient|person|man|woman|boy|girl|scientist|researcher|doctor|physician|"
                     r"author|inventor|company|drug|product)\b|\bbrand name\b", re.I)
DATE_VALUE = re.compile(r"\b(?:january|february|march|april|may|june|july|august|september|october|november|"
                         r"december|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)\.?\s+\d{1,2}\b|"
                         r"\b\d{1,2}\s+(?:january|february|march|april|may|june|july|august|september|october|"
                         r"november|december)\b|\b(?:1[5-9]|20)\d\ds?\b", re.I)
CAPITALISED = re.compile(r"(?<![\w.])([A-Z][\w\-‑]*[A-Za-z0-9])")


def expected_answer_type(question: str) -> str | None:
    """'money', 'date', 'number' or 'name' when the question asks for one, else None."""
    if _MONEY_Q.search(question):
        return "money"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    return None


def new_names(sentence: str, question: str) -> list[str]:
    """Capitalised words of the sentence (not its first word) that the question lacks."""
    asked = {w.lower() for w in re.findall(r"[\w\-‑]+", question)}
    asked |= {part for w in asked for part in re.split(r"[-‑]", w)}
    names = []
    for match in CAPITALISED.finditer(sentence):
        word = match.group(1)
        if match.start() == len(sentence) - len(sentence.lstrip()):
            continue  # sentence-initial capital
        if word.lower() not in asked and not set(re.split(r"[-‑]", word.lower())) <= asked:
            names.append(word)
    return names


def answer_type_matches(answer_type: str | None, sentence: str, question: str = "") -> bool:
    """Whether a sentence contains the kind of value the question asks for, other than
    values the question itself already states ("the two trials" does not answer "how many").

    Reference marks like [4] are not values; dates are not counts; a name is a capitalised
    word the question does not contain.
    """
    if answer_type is None:
        return True
    sentence = REFERENCE_MARK.sub(" ", sentence)
    if answer_type == "name":
        return bool(new_names(sentence, question))
    if answer_type == "number":
        sentence = DATE_VALUE.sub(" ", sentence)
    pattern = {"money": MONEY_A, "date": DATE_A, "number": NUMBER_A}[answer_type]
    given = {m.group(0).lower() for m in pattern.finditer(question)}
    return any(m.group(0).lower() not in given for m in pattern.finditer(sentence))


def entity_terms(question: str) -> list[str]:
    """Words of the question that name something: capitalised (not the first word) or mixing
    letters and digits (AAV9, CD19). Short all-capital acronyms (DNA, FDA) are usually common
    nouns of a field and are left out. Returned lower-cased."""
    out = []
    tokens = QUESTION_TOKEN.findall(question)
    for i, token in enumerate(tokens):
        has_digit = any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token)
        acronym = token.isupper() and len(token) <= 4
        if has_digit or (i > 0 and token[0].isupper() and not acronym):
            out.append(token.lower())
    return out


def unmatched_terms(question: str, context: Collection[str], known: Callable[[str], bool] = lambda term: True
                    ) -> list[str]:
    """The question's specific words whose stem ``context`` lacks, in question order: its names and codes
    (``entity_terms``), and its words rare in general English that the collection uses (``known``, on a
    stem: a rare word no document uses is the asker's wording, "coaxed", not a term of the collection).
    ``context`` holds the stems of the cited sentences, the sentences before them, their headings and
    titles (``candidates.context_terms``). A hyphenated word counts as said when each of its parts is
    ("CD4-positive" by "CD4 ... positive"). An answer shows them so a reader knows what its citations
    leave unsaid ("the price in Tanzania" answered by a sentence giving a price)."""
    plain = [re.sub(r"['’]s$", "", w) for w in words(question)]  # "the article's" is "article"
    specific = [*(w for w in entity_terms(question) if w not in STOP_WORDS),  # not "The" of "The Scientist"
                *(w for w in plain if w not in STOP_WORDS and w not in QUESTION_WORDS and is_specialised(w)
                  and known(stem(w)))]
    written = {token.lower(): token for token in QUESTION_TOKEN.findall(question)}
    unsaid = []
    for word in dict.fromkeys(specific):
        parts = [p for p in re.split(r"[-‑]", word) if p]
        if stem(word) not in context and not (len(parts) > 1 and all(stem(p) in context for p in parts)):
            unsaid.append(written.get(word, word))
    return unsaid


def sentence_score(dense: float, coverage: float, context_coverage: float, chunk_rank: int,
                   type_match: bool, missing_entity: bool = False, passage_dense: float = 0.0) -> float:
    """Relevance of a candidate sentence to the question (higher is better).

    Dense cosine carries paraphrases; term coverage (in the sentence, and in the sentence
    with its title, heading and preceding sentences) carries names and numbers; the rank of
    its chunk and the chunk's own cosine add the passage-level evidence (a sentence that says
    "it" for the drug named before it still belongs to a passage about that drug); a missing expected value type, or a name from
    the question that the sentence's context lacks, is penalised.
    """
    rank_bonus = 1.0 / (1.0 + 0.25 * max(chunk_rank - 1, 0))
    score = 0.55 * dense + 0.25 * coverage + 0.20 * context_coverage + 0.10 * rank_bonus + 0.20 * passage_dense
    return score - (0.0 if type_match else 0.15) - (0.1 if missing_entity else 0.0)


def select_mmr(candidates: Sequence[int], scores: Sequence[float], vectors: np.ndarray, limit: int,
               min_ratio: float = 0.9, redundancy: float = 0.85, trade_off: float = 0.7) -> list[int]:
    """Pick up to ``limit`` candidates by maximal marginal relevance.

    The best-scoring candidate always comes first; later ones must score at least
    ``min_ratio`` of it and have cosine below ``redundancy`` to everything already picked.
    ``candidates`` index ``scores`` and the rows of ``vectors`` (normalised).
    """
    if not candidates:
        return []
    order = sorted(candidates, key=lambda i: -scores[i])
    chosen = [order[0]]
    best = scores[order[0]]
    while len(chosen) < limit:
        pick, pick_value = None, -math.inf
        for i in order:
            if i in chosen or scores[i] < min_ratio * best:
                continue
            similarity = max(float(vectors[i] @ vectors[j]) for j in chosen)
            if similarity >= redundancy:
                continue
            value = trade_off * scores[i] - (1 - trade_off) * similarity
            if value > pick_value:
                pick, pick_value = i, value
        if pick is None:
            break
        chosen.append(pick)
    return chosen


def confidence(dense: float, passage_dense: float, context_coverage: float, type_match: bool,
               missing_entity: bool = False) -> float:
    """Probability-like confidence that the top sentence answers the question.

    A logistic function of the top sentence's evidence: its cosine to the question and its
    passage's (low for off-topic questions), how much of the question its context covers,
    whether it holds the kind of value asked for (a price, a date, a count), and whether it
    mentions every name in the question that the collection knows (Luxturna's price is not
    in a sentence about Zolgensma). Coefficients are a logistic regression fitted on the
    gene-therapy set, 30 off-topic calibration questions and 300 COVID-QA dev questions,
    rounded (README, "Abstention").
    """
    z = (-2.8 + 3.8 * dense + 3.2 * passage_dense + 1.8 * context_coverage
         - (0.0 if type_match else 3.7) - (1.0 if missing_entity else 0.0))
    return 1.0 / (1.0 + math.exp(-z))
