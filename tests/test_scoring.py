"""Pure scoring functions, with hand-computed expectations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.answer.scoring import (
    answer_type_matches,
    confidence,
    entity_terms,
    expected_answer_type,
    idf,
    reciprocal_rank_fusion,
    score_fusion,
    select_mmr,
    term_coverage,
    unmatched_terms,
)
from assistant.lexical import stem

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


# --- score fusion ------------------------------------------------------------------------------


def test_score_fusion_hand_computed() -> None:
    # dense cosines (top 0.8) and BM25 scores (top 10), both cut at depth 2: each list is divided by its top
    dense = [(1, 0.8), (2, 0.4)]
    lexical = [(2, 10.0), (3, 5.0)]
    fused = score_fusion([dense, lexical], depth=2)
    # 1: 0.8/0.8 + the lexical floor 5/10; 2: 0.4/0.8 + 10/10; 3: the dense floor 0.4/0.8 + 5/10
    assert dict(fused) == pytest.approx({1: 1.5, 2: 1.5, 3: 1.0})
    assert [item for item, _ in fused] == [1, 2, 3]  # tie: first appearance


def test_score_fusion_lists_shorter_than_depth_hold_every_match() -> None:
    # cut at depth 3, the two-item lists are complete: a missing id scored nothing there
    fused = dict(score_fusion([[(1, 0.8), (2, 0.4)], [(2, 10.0), (3, 5.0)]], depth=3))
    assert fused == pytest.approx({1: 1.0, 2: 1.5, 3: 0.5})


def test_score_fusion_weights_and_scale_free() -> None:
    dense = [(1, 0.8), (2, 0.4)]
    lexical = [(2, 10.0), (3, 5.0)]
    assert dict(score_fusion([dense, lexical], weights=[2.0, 1.0], depth=2)) == pytest.approx({1: 2.5, 2: 2.0, 3: 1.5})
    # multiplying one list's scores by a constant changes nothing
    assert dict(score_fusion([dense, [(i, 7 * s) for i, s in lexical]])) == pytest.approx(
        dict(score_fusion([dense, lexical])))


def test_score_fusion_empty_and_non_positive_lists() -> None:
    assert score_fusion([[], []]) == []
    assert score_fusion([[], [(9, 3.0)]]) == [(9, pytest.approx(1.0))]
    # a list whose best score is not positive adds nothing; its ids still appear, below
    assert score_fusion([[(4, -0.2)], [(5, 2.0)]]) == [(5, pytest.approx(1.0)), (4, pytest.approx(0.0))]


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


# --- words of the question the citations never say -------------------------------------------------


def test_unmatched_terms_lists_specific_question_words_the_context_lacks() -> None:
    said = {stem(w) for w in ("zolgensma", "cost", "million", "dollar", "cd4", "positive", "cells")}
    # names and codes (as written in the question) and rare words; everyday words are not listed
    assert unmatched_terms("How much does Zolgensma cost in Tanzania for AAV9 transduction?", said) == [
        "Tanzania", "AAV9", "transduction"]
    # a word said in another form, or a hyphenated word whose parts are all said, is said
    assert unmatched_terms("How many CD4-positive cells did Zolgensma's costs cover?", said) == []
    assert unmatched_terms("What does it cost?", said) == []
    # a capitalised stop word is not a name, and a possessive is the word itself
    assert unmatched_terms("Which trials did The Scientist describe in the article's cost table?", said) == [
        "Scientist"]
    # a rare word no document uses is the asker's wording; a name is listed all the same
    assert unmatched_terms("How much does Zolgensma cost in Tanzania for AAV9 transduction?", said,
                           known=lambda term: term != stem("transduction")) == ["Tanzania", "AAV9"]


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


def test_confidence_hand_computed() -> None:
    # z = -2.8 + 3.8*0.5 + 3.2*0.5 + 1.8*0.5 = 1.6
    assert confidence(0.5, 0.5, 0.5, True) == pytest.approx(1 / (1 + math.exp(-1.6)))
    # a missing value type subtracts 3.7, a missing name 1.0
    assert confidence(0.5, 0.5, 0.5, False) == pytest.approx(1 / (1 + math.exp(2.1)))
    assert confidence(0.5, 0.5, 0.5, True, True) == pytest.approx(1 / (1 + math.exp(-0.6)))


def test_confidence_is_monotone_in_dense_similarity() -> None:
    values = [confidence(d, d, 0.5, True) for d in np.linspace(-1.0, 1.0, 21)]
    assert values == sorted(values)
    assert values[0] < values[-1]


def test_confidence_is_monotone_in_coverage_type_match_and_names() -> None:
    assert confidence(0.5, 0.4, 0.0, True) < confidence(0.5, 0.4, 1.0, True)
    assert confidence(0.5, 0.4, 0.5, False) < confidence(0.5, 0.4, 0.5, True)
    assert confidence(0.5, 0.4, 0.5, True, True) < confidence(0.5, 0.4, 0.5, True, False)


@pytest.mark.parametrize("dense", [-1.0, 0.0, 0.3, 0.6, 1.0])
@pytest.mark.parametrize("coverage", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("type_match", [True, False])
def test_confidence_is_within_unit_interval(dense: float, coverage: float, type_match: bool) -> None:
    value = confidence(dense, dense, coverage, type_match)
    assert 0.0 <= value <= 1.0


def test_confidence_spans_abstain_and_answer() -> None:
    assert confidence(0.0, 0.0, 0.0, False) < 0.5 < confidence(1.0, 1.0, 1.0, True)




# --- answer typing details -------------------------------------------------------------------


def test_values_stated_in_the_question_do_not_count() -> None:
    question = "How many patients took part in the two trials?"
    assert not answer_type_matches("number", "The two studies were published today.", question)
    assert answer_type_matches("number", "The two studies enrolled 41 patients.", question)


def test_reference_marks_and_dates_are_not_counts() -> None:
    question = "How many patients were treated?"
    assert not answer_type_matches("number", "It was one of the first therapies.[4][5]", question)
    assert not answer_type_matches("number", "The trials were published on July 11 in 2013.", question)
    assert answer_type_matches("number", "In all, twelve patients were treated.", question)


def test_name_questions_need_a_new_capitalised_name() -> None:
    question = "Which university ran the trial in which Jesse Gelsinger died?"
    assert expected_answer_type(question) == "name"
    assert not answer_type_matches("name", "In 1999 Jesse Gelsinger died during a study.", question)
    assert answer_type_matches("name", "The study was run by the University of Pennsylvania.", question)


def test_entity_terms_are_names_not_field_acronyms() -> None:
    assert entity_terms("What is the list price of Luxturna?") == ["luxturna"]
    assert entity_terms("Which AAV9 vector carries the DNA?") == ["aav9"]
    assert entity_terms("What does DNA encode?") == []
