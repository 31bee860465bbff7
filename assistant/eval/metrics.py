"""Pure evaluation metrics (SQuAD normalisation, F1, ranking metrics, rates, percentiles)."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("‘’“”–—‑")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(" " if ch in _PUNCT else ch for ch in text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in gold))


def token_f1(prediction: str, gold: Sequence[str]) -> float:
    """Best SQuAD token F1 of the prediction against the gold answers (0 when none)."""
    pred_tokens = normalize_answer(prediction).split()
    best = 0.0
    for answer in gold:
        gold_tokens = normalize_answer(answer).split()
        common = Counter(pred_tokens) & Counter(gold_tokens)
        same = sum(common.values())
        if not pred_tokens or not gold_tokens or same == 0:
            continue
        precision, recall = same / len(pred_tokens), same / len(gold_tokens)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, gold: Sequence[str]) -> bool:
    """Whether the normalised text contains any normalised gold answer."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(g)} " in haystack for g in gold if normalize_answer(g))


def spans_overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether two half-open character spans share at least one character."""
    return a_start < b_end and b_start < a_end


def recall_at_k(relevant_ranks: Sequence[int], k: int) -> float:
    """1.0 when the first relevant item (ranks from 1; empty = none found) is within k."""
    return float(bool(relevant_ranks) and min(relevant_ranks) <= k)


def reciprocal_rank(relevant_ranks: Sequence[int]) -> float:
    """1 / rank of the first relevant item, 0 when none was retrieved."""
    return 1.0 / min(relevant_ranks) if relevant_ranks else 0.0


def ndcg_at_k(relevant_ranks: Sequence[int], k: int, total_relevant: int) -> float:
    """Binary-relevance nDCG@k given the ranks (from 1) of relevant retrieved items."""
    dcg = sum(1.0 / math.log2(r + 1) for r in relevant_ranks if r <= k)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(total_relevant, k) + 1))
    return dcg / ideal if ideal > 0 else 0.0


def rate(numerator: int, denominator: int) -> float:
    """numerator / denominator, 0 when the denominator is 0."""
    return numerator / denominator if denominator else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reliability_bins(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
                     ) -> list[tuple[float, float, int]]:
    """Equal-width confidence bins, each as (mean confidence, accuracy, count); empty bins left out."""
    import numpy as np

    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return [(float(confidence[which == b].mean()), float(correct[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by their counts."""
    table = reliability_bins(confidence, correct, bins)
    total = sum(count for _, _, count in table)
    return sum(abs(acc - conf) * count for conf, acc, count in table) / total if total else 0.0
