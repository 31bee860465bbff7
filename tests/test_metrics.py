"""Evaluation metrics, with hand-computed expectations."""

from __future__ import annotations

import math

import pytest

from assistant.eval.metrics import (
    contains_answer,
    exact_match,
    ndcg_at_k,
    normalize_answer,
    percentile,
    rate,
    recall_at_k,
    reciprocal_rank,
    spans_overlap,
    token_f1,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat, sat!", "cat sat"),
        ("  A   an THE  ", ""),
        ("An apple a day", "apple day"),
        ("‘Quoted’ – text…", "quoted text…"),
        ("18–32 months", "18 32 months"),
        ("2.1 million", "2 1 million"),
        ("theory and anthem", "theory and anthem"),  # articles only as whole words
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_exact_match() -> None:
    assert exact_match("The cat.", ["cat"]) == 1.0
    assert exact_match("cat", ["dog", "A CAT!"]) == 1.0
    assert exact_match("cats", ["cat"]) == 0.0
    assert exact_match("cat", []) == 0.0


def test_token_f1_hand_computed() -> None:
    # pred tokens {cat, sat} ("the" dropped), gold {cat, sat, down}: P = 1, R = 2/3, F1 = 0.8
    assert token_f1("the cat sat", ["cat sat down"]) == pytest.approx(0.8)
    # the best gold answer counts
    assert token_f1("the cat sat", ["dog", "cat sat down"]) == pytest.approx(0.8)
    # repeated tokens are matched at most as often as they occur: P = 1/2, R = 1, F1 = 2/3
    assert token_f1("cat cat", ["cat"]) == pytest.approx(2 / 3)
    # both copies match when the gold has two: P = 1, R = 2/3, F1 = 0.8
    assert token_f1("cat cat", ["cat cat dog"]) == pytest.approx(0.8)
    # P = 1/4, R = 1/2, F1 = 2 * 1/8 / (3/4) = 1/3
    assert token_f1("lentiviral vectors were used", ["lentiviral approach"]) == pytest.approx(1 / 3)
    assert token_f1("cat", ["cat"]) == 1.0
    assert token_f1("dog", ["cat"]) == 0.0
    assert token_f1("", ["cat"]) == 0.0
    assert token_f1("the", ["a"]) == 0.0  # both normalise to nothing
    assert token_f1("cat", []) == 0.0


def test_contains_answer() -> None:
    assert contains_answer("With a list price of 2.1 million dollars per dose.", ["2.1 million"])
    assert contains_answer("Published in Science (July 11).", ["nature", "science"])
    assert not contains_answer("The category is new.", ["cat"])  # whole words only
    assert not contains_answer("Anything at all.", ["the"])  # empty after normalisation
    assert not contains_answer("Anything at all.", [])


def test_spans_overlap() -> None:
    assert spans_overlap(2, 5, 4, 8)
    assert spans_overlap(4, 8, 2, 5)
    assert spans_overlap(0, 10, 3, 4)
    assert not spans_overlap(2, 5, 5, 8)  # half-open: touching is not overlapping
    assert not spans_overlap(5, 8, 2, 5)


def test_recall_at_k() -> None:
    assert recall_at_k([3, 5], 3) == 1.0
    assert recall_at_k([5, 3], 3) == 1.0
    assert recall_at_k([4], 3) == 0.0
    assert recall_at_k([], 3) == 0.0


def test_reciprocal_rank() -> None:
    assert reciprocal_rank([4, 2]) == 0.5
    assert reciprocal_rank([1]) == 1.0
    assert reciprocal_rank([3]) == pytest.approx(1 / 3)
    assert reciprocal_rank([]) == 0.0


def test_ndcg_at_k_hand_computed() -> None:
    assert ndcg_at_k([1], 5, 1) == pytest.approx(1.0)
    assert ndcg_at_k([2], 5, 1) == pytest.approx(1 / math.log2(3))  # 0.6309
    # DCG = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3)
    assert ndcg_at_k([1, 3], 3, 2) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([1, 2], 2, 2) == pytest.approx(1.0)
    assert ndcg_at_k([4], 3, 1) == 0.0  # outside k
    assert ndcg_at_k([1], 3, 0) == 0.0  # nothing relevant: no ideal
    assert ndcg_at_k([], 3, 2) == 0.0
    # more relevant items than k: the ideal is capped at k
    assert ndcg_at_k([1, 2], 2, 5) == pytest.approx(1.0)


def test_percentile_hand_computed() -> None:
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)  # unsorted input
    assert percentile([1, 2, 3, 4, 5], 90) == pytest.approx(4.6)  # position 3.6
    assert percentile([10, 20, 30], 0) == 10
    assert percentile([10, 20, 30], 100) == 30
    assert percentile([7.5], 95) == 7.5
    assert percentile([], 50) == 0.0


def test_rate() -> None:
    assert rate(1, 4) == 0.25
    assert rate(0, 3) == 0.0
    assert rate(3, 0) == 0.0
