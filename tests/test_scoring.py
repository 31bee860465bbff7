"""Pure scoring functions, with hand-computed expectations."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from assistant.scoring import (
    answer_type_matches,
    confidence,
    expected_answer_type,
    idf,
    reciprocal_rank_fusion,
    select_mmr,
    term_coverage,
)


def call_confidence(dense: float, coverage: float = 0.5, context_coverage: float = 0.5,
                    type_match: bool = True) -> float:
    """``confidence`` with whichever of these evidence arguments its signature takes (its exact
    inputs are being tuned; the properties tested here hold for any of them)."""
    given = {"dense": dense, "coverage": coverage, "context_coverage": context_coverage, "type_match": type_match}
    params = inspect.signature(confidence).parameters
    return confidence(**{name: value for name, value in given.items() if name in params})


# --- reciprocal rank fusion --------------------------------------------------------------------


def test_rrf_hand_computed() -> None:
    fused = reciprocal_rank_fusion([[1, 2], [2, 3]], k=60)
    assert [item for item, _ in fused] == [2, 1, 3]
    scores = dict(fused)
    assert scores[2] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[3] == pytest.approx(1 / 62)


def test_rrf_weights_and_k() -> None:
    fused = dict(reciprocal_rank_fusion([[7, 8], [8]], k=1, weights=[2.0, 1.0]))
    assert fused == pytest.approx({7: 2.0 / 2, 8: 2.0 / 3 + 1.0 / 2})


def test_rrf_ties_keep_first_appearance_and_empty_inputs() -> None:
    assert reciprocal_rank_fusion([[5], [4]]) == [(5, pytest.approx(1 / 61)), (4, pytest.approx(1 / 61))]
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([[], [9]]) == [(9, pytest.approx(1 / 61))]


# --- idf and coverage --------------------------------------------------------------------------


def test_idf_hand_computed() -> None:
    assert idf("gene", {"gene": 2}, 10) == pytest.approx(math.log(1 + 8.5 / 2.5))  # ln 4.4
    assert idf("rare", {}, 10) == pytest.approx(math.log(22.0))  # ln(1 + 10.5 / 0.5)
    assert idf("all", {"all": 10}, 10) == pytest.approx(math.log(1 + 0.5 / 10.5))
    assert idf("rare", {}, 10) > idf("gene", {"gene": 2}, 10) > idf("all", {"all": 10}, 10) > 0


def test_term_coverage_hand_computed() -> None:
    weights = {"a": 1.0, "b": 3.0, "c": 0.0}
    assert term_coverage(["a", "b", "a"], {"a"}, weights) == pytest.approx(0.25)
    assert term_coverage(["a", "b"], {"a", "b", "z"}, weights) == pytest.approx(1.0)
    assert term_coverage(["a", "b"], set(), weights) == 0.0
    assert term_coverage([], {"a"}, weights) == 0.0
    assert term_coverage(["c"], {"c"}, weights) == 0.0  # zero total weight


# --- answer types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much does Zolgensma cost?", "money"),
        ("What is the price of Hemgenix?", "money"),
        ("When was Luxturna approved?", "date"),
        ("In what year was the first gene therapy trial conducted?", "date"),
        ("How many patients were treated in the trials?", "number"),
        ("What percentage of patients are excluded by antibody screening?", "number"),
        ("What is gene therapy?", None),
        ("Which vector did the team use?", None),
    ],
)
def test_expected_answer_type(question: str, expected: str | None) -> None:
    assert expected_answer_type(question) == expected


@pytest.mark.parametrize(
    ("answer_type", "sentence", "expected"),
    [
        ("money", "With a list price of 2.1 million dollars per dose, it was expensive.", True),
        ("money", "It costs $850,000.", True),
        ("money", "Zolgensma was approved in 2019.", False),
        ("date", "Zolgensma was approved in 2019.", True),
        ("date", "The trial ended in March.", True),
        ("date", "The vector is an engineered virus.", False),
        ("number", "The trial treated 18 patients.", True),
        ("number", "The trial treated twelve patients.", True),
        ("number", "The vector is an engineered virus.", False),
        (None, "Anything at all.", True),
    ],
)
def test_answer_type_matches(answer_type: str | None, sentence: str, expected: bool) -> None:
    assert answer_type_matches(answer_type, sentence) is expected


# --- MMR ---------------------------------------------------------------------------------------


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_mmr_excludes_near_duplicates() -> None:
    vectors = np.stack([unit(1, 0), unit(1, 0.01), unit(0, 1)])
    assert select_mmr([0, 1, 2], [1.0, 0.99, 0.95], vectors, limit=2) == [0, 2]
    assert select_mmr([0, 1, 2], [1.0, 0.99, 0.95], vectors, limit=3) == [0, 2]  # 1 never fits


def test_mmr_respects_min_ratio() -> None:
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    assert select_mmr([0, 1], [1.0, 0.5], vectors, limit=2) == [0]
    assert select_mmr([0, 1], [1.0, 0.5], vectors, limit=2, min_ratio=0.5) == [0, 1]
    assert select_mmr([0, 1], [1.0, 0.95], vectors, limit=2, min_ratio=0.9) == [0, 1]


def test_mmr_best_first_limit_and_empty() -> None:
    vectors = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    assert select_mmr([0, 1, 2], [0.92, 1.0, 0.95], vectors, limit=1) == [1]
    assert select_mmr([0, 1, 2], [0.92, 1.0, 0.95], vectors, limit=3) == [1, 2, 0]
    assert select_mmr([], [], np.zeros((0, 3)), limit=3) == []
    assert select_mmr([2], [0.92, 1.0, 0.95], vectors, limit=3) == [2]  # only the given candidates


def test_mmr_prefers_the_more_different_of_two_equal_scores() -> None:
    vectors = np.stack([unit(1, 0), unit(1, 1), unit(0, 1)])
    # 1 is at cosine 0.707 to 0, 2 at cosine 0: with equal scores 2 wins the second place.
    assert select_mmr([0, 1, 2], [1.0, 0.95, 0.95], vectors, limit=2) == [0, 2]


# --- confidence --------------------------------------------------------------------------------


def test_confidence_is_monotone_in_dense_similarity() -> None:
    values = [call_confidence(d) for d in np.linspace(-1.0, 1.0, 21)]
    assert all(a < b for a, b in zip(values, values[1:]))


def test_confidence_is_monotone_in_coverage_and_type_match() -> None:
    low = call_confidence(0.5, coverage=0.0, context_coverage=0.0)
    high = call_confidence(0.5, coverage=1.0, context_coverage=1.0)
    assert low < high
    assert call_confidence(0.5, type_match=False) < call_confidence(0.5, type_match=True)


@pytest.mark.parametrize("dense", [-1.0, 0.0, 0.3, 0.6, 1.0])
@pytest.mark.parametrize("coverage", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("type_match", [True, False])
def test_confidence_is_within_unit_interval(dense: float, coverage: float, type_match: bool) -> None:
    value = call_confidence(dense, coverage, coverage, type_match)
    assert 0.0 <= value <= 1.0
    assert math.isfinite(value)


def test_confidence_spans_abstain_and_answer() -> None:
    assert call_confidence(0.0, 0.0, 0.0, False) < 0.5 < call_confidence(1.0, 1.0, 1.0, True)
