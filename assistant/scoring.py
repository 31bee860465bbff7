"""Pure scoring functions: fusion, term coverage, answer typing, MMR and confidence."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

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
_MONEY_A = re.compile(r"[$€£¥]|\b(dollars?|euros?|pounds?|usd|eur)\b|\b\d[\d,.]*\s*(million|billion|thousand)\b", re.I)
_NUMBER_A = re.compile(r"\d+(?:[.,]\d+)*|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                       r"thirty|forty|fifty|hundred|thousand|million|billion|dozen|half)\b", re.I)
_DATE_A = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|"
                     r"october|november|december)\b|\b(century|decade|today|yesterday|year)\b", re.I)


def expected_answer_type(question: str) -> str | None:
    """'money', 'date' or 'number' when the question asks for one, else None."""
    if _MONEY_Q.search(question):
        return "money"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    return None


def answer_type_matches(answer_type: str | None, sentence: str, question: str = "") -> bool:
    """Whether a sentence contains the kind of value the question asks for, other than
    values the question itself already states ("the two trials" does not answer "how many")."""
    pattern = {"money": _MONEY_A, "date": _DATE_A, "number": _NUMBER_A}.get(answer_type or "")
    if pattern is None:
        return True
    given = {m.group(0).lower() for m in pattern.finditer(question)}
    return any(m.group(0).lower() not in given for m in pattern.finditer(sentence))


def sentence_score(dense: float, coverage: float, context_coverage: float, chunk_rank: int,
                   type_match: bool) -> float:
    """Relevance of a candidate sentence to the question (higher is better).

    Dense cosine carries paraphrases; term coverage (in the sentence, and in the sentence
    with its title, heading and preceding sentences) carries names and numbers; the rank of
    its chunk adds the passage-level evidence; a missing expected value type is penalised.
    """
    rank_bonus = 1.0 / (1.0 + 0.25 * max(chunk_rank - 1, 0))
    score = 0.55 * dense + 0.25 * coverage + 0.20 * context_coverage + 0.10 * rank_bonus
    return score if type_match else score - 0.15


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


def confidence(dense: float, context_coverage: float, type_match: bool) -> float:
    """Probability-like confidence that the top sentence answers the question.

    A logistic function of the top sentence's evidence: its cosine to the question (which
    separates off-topic questions), how much of the question its context covers, and whether
    it holds the kind of value asked for. Calibrated on the gene-therapy question set so that
    0.5 separates answerable from unanswerable questions (README, "Abstention").
    """
    z = -5.0 + 10.0 * dense + 1.5 * context_coverage + (0.0 if type_match else -2.0)
    return 1.0 / (1.0 + math.exp(-z))
