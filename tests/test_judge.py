"""The judge: pure feature functions with hand-computed values, the judge file's refusals, and the
answerer and checker deciding by the judge's probabilities (fake embedder, hand-set heads)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.judge import (
    CLAIM_FEATURES,
    FEATURE_VERSION,
    QA_FEATURES,
    Head,
    JudgeModel,
    alignment,
    content_words,
    direction_flip,
    load_judge,
    order_discordance,
)
from assistant.errors import AssistantError
from assistant.index.word_vectors import WordVectors, group_word_pieces
from assistant.eval.metrics import expected_calibration_error


def unit(*rows: list[float]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_word_pieces_are_averaged_into_words_and_special_tokens_dropped():
    text = "AAV9 works"
    hidden = np.array([[9, 9], [1, 0], [0, 1], [3, 4]], dtype=np.float32)  # [CLS], "aav", "##9", "works"
    grouped = group_word_pieces(text, hidden, [(0, 0), (0, 3), (3, 4), (5, 10)], [None, 0, 0, 1])
    assert grouped.words == ("aav9", "works")
    np.testing.assert_allclose(grouped.vectors[0], [2 ** -0.5, 2 ** -0.5], rtol=1e-6)
    np.testing.assert_allclose(grouped.vectors[1], [0.6, 0.8], rtol=1e-6)


def test_content_words_drop_stop_question_words_and_punctuation():
    vectors = WordVectors(("describe", "is", "the", "price", "?"), np.eye(5, dtype=np.float32))
    assert content_words(vectors).words == ("price",)
    assert content_words(vectors, drop_question_words=False).words == ("describe", "price")


def test_alignment_by_hand():
    query = WordVectors(("a", "b"), unit([1, 0], [0, 1]))
    sentence = WordVectors(("x", "y"), unit([1, 0], [1, 1]))
    # best cosines: a -> 1.0 (x), b -> 0.7071 (y); weights 1 and 3
    mean, low, weighted, share_low, rare_min = alignment(query, sentence, {"a": 1.0, "b": 3.0}.__getitem__)
    assert mean == pytest.approx((1 + 2 ** -0.5) / 2)
    assert low == pytest.approx(2 ** -0.5)
    assert weighted == pytest.approx((1 + 3 * 2 ** -0.5) / 4)
    assert share_low == 0.0  # 0.707 is above LOW_ALIGNMENT
    assert rare_min == pytest.approx(2 ** -0.5)  # only "b" is in the rarer half
    assert alignment(WordVectors((), np.zeros((0, 2))), sentence, lambda w: 1.0) == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_direction_flip_and_order_discordance():
    assert direction_flip("Levels increased after treatment.", "Levels decreased after treatment.")
    assert not direction_flip("Levels increased sharply.", "Levels increased after treatment.")
    # shared stems in the claim appear in source order 2,1,0 -> all three pairs discordant
    assert order_discordance("virus binds receptor cells", "cells receptor binds virus") == pytest.approx(1.0)
    assert order_discordance("virus binds receptor", "virus binds receptor") == 0.0
    assert order_discordance("virus", "virus binds") == 0.0  # fewer than three shared terms


def test_head_probabilities_by_hand():
    head = Head(features=["a", "b"], coef=[2.0, -1.0], intercept=0.5, threshold=0.5)
    p = head.probabilities(np.array([[1.0, 1.0], [0.0, 0.0]]))
    assert p == pytest.approx([1 / (1 + np.exp(-1.5)), 1 / (1 + np.exp(-0.5))])
    assert len(head.probabilities(np.zeros((0, 2)))) == 0


def test_expected_calibration_error_by_hand():
    # one bin at 0.9 with accuracy 1/2 -> |0.5 - 0.9| = 0.4; one at 0.15 with accuracy 0 -> 0.15; weights 2:2
    assert expected_calibration_error([0.9, 0.9, 0.1, 0.2], [True, False, False, False]) == pytest.approx(0.275)


def make_judge(answer_coef: list[float] | None = None, encoder: str = "hash-64", threshold: float = 0.5) -> JudgeModel:
    answer = Head(features=list(QA_FEATURES), coef=answer_coef or [0.0] * len(QA_FEATURES), intercept=0.0,
                  threshold=threshold)
    claim = Head(features=list(CLAIM_FEATURES), coef=[0.0] * len(CLAIM_FEATURES), intercept=0.0, threshold=0.5)
    return JudgeModel(feature_version=FEATURE_VERSION, encoder=encoder, trained_on=["test"], answer=answer,
                      claim=claim)


def write(path: Path, judge: JudgeModel) -> Path:
    path.write_text(judge.model_dump_json(), encoding="utf-8")
    return path


def test_judge_file_refusals_name_the_file_and_how_to_retrain(tmp_path: Path):
    with pytest.raises(AssistantError, match=r"missing.*train-judge"):
        load_judge(tmp_path / "none.json", "hash-64")
    damaged = tmp_path / "damaged.json"
    damaged.write_text("{not json", encoding="utf-8")
    with pytest.raises(AssistantError, match=r"damaged.json is damaged.*train-judge"):
        load_judge(damaged, "hash-64")
    other = write(tmp_path / "other.json", make_judge(encoder="bundled:all-MiniLM-L6-v2"))
    with pytest.raises(AssistantError, match=r"trained for the encoder 'bundled:all-MiniLM-L6-v2', not 'hash-64'"):
        load_judge(other, "hash-64")
    old = json.loads(make_judge().model_dump_json())
    old["feature_version"] = "qa-0"
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(AssistantError, match=r"features 'qa-0'"):
        load_judge(tmp_path / "old.json", "hash-64")
    short = json.loads(make_judge().model_dump_json())
    short["answer"]["coef"] = short["answer"]["coef"][:-1]
    (tmp_path / "short.json").write_text(json.dumps(short), encoding="utf-8")
    with pytest.raises(AssistantError, match=r"does not match this version's features"):
        load_judge(tmp_path / "short.json", "hash-64")
    assert load_judge(write(tmp_path / "ok.json", make_judge()), "hash-64").answer.threshold == 0.5


def test_a_missing_judge_file_is_an_error_not_answers(fake_assistant, tmp_path: Path):
    fake_assistant.settings.judge = "model"
    fake_assistant.settings.judge_file = tmp_path / "gone.json"
    with pytest.raises(AssistantError, match="gone.json is missing"):
        fake_assistant.ask("How much does Zolgensma cost?")


def test_the_answerer_abstains_and_cites_by_the_judges_probability(fake_assistant, tmp_path: Path, monkeypatch):
    import assistant.answer.candidates as candidates

    monkeypatch.setattr(candidates, "JUDGE_SHORTLIST", 10)  # the fake embedder's rule scores are noise
    fake_assistant.settings.judge = "model"
    coverage = QA_FEATURES.index("context_coverage")
    coef = [0.0] * len(QA_FEATURES)
    coef[coverage] = 8.0
    fake_assistant.settings.judge_file = write(tmp_path / "j.json", make_judge(coef, threshold=0.9))
    answer = fake_assistant.ask("How much does Zolgensma cost?")
    assert not answer.abstained
    assert answer.confidence >= 0.9  # the judge's probability is the confidence
    assert "Zolgensma" in answer.citations[0].quote or "2.1 million" in answer.citations[0].quote
    fake_assistant._judge = None
    fake_assistant.settings.judge_file = write(tmp_path / "never.json", make_judge(threshold=0.6))
    refused = fake_assistant.ask("How much does Zolgensma cost?")  # every probability is 0.5 < 0.6
    assert refused.abstained and refused.confidence == pytest.approx(0.5)
    # With a confidence map, the answer shows the mapped probability; abstention still reads the raw one.
    fake_assistant._judge = None
    mapped = make_judge(threshold=0.45)
    mapped.confidence_map = [1.0, 1.0]
    fake_assistant.settings.judge_file = write(tmp_path / "mapped.json", mapped)
    shown = fake_assistant.ask("How much does Zolgensma cost?")  # probability 0.5 >= 0.45: answered
    assert not shown.abstained
    assert shown.confidence == pytest.approx(1 / (1 + math.exp(-1.0)), abs=1e-4)  # sigmoid(logit(0.5) + 1)


def test_the_checker_decides_by_the_claim_head(fake_assistant, tmp_path: Path):
    fake_assistant.settings.judge = "model"
    judge = make_judge()
    judge.claim.coef[CLAIM_FEATURES.index("overlap")] = 10.0
    judge.claim.intercept = -7.0  # supported only when most claim terms are in the source
    judge.claim.threshold = 0.5
    fake_assistant.settings.judge_file = write(tmp_path / "j.json", judge)
    doc = "002_8327220291109cc9.txt"
    good = fake_assistant.check(f"Zolgensma has a list price of 2.1 million dollars per dose [1].\n\n[1] {doc}")
    assert good.claims[0].verdict in ("supported", "verbatim")
    assert good.claims[0].probability is not None
    bad = fake_assistant.check(f"Bananas ripen faster when stored next to apples in a paper bag [1].\n\n[1] {doc}")
    assert bad.claims[0].verdict not in ("supported", "verbatim")


def test_a_number_negation_date_or_swapped_term_overrules_the_claim_head() -> None:
    from assistant.check.support import SupportCandidate, says
    from assistant.models import Difference

    def candidate(probability: float, *kinds: str) -> SupportCandidate:
        return SupportCandidate(sentences=[], text="", dense=0.0, lexical=0.0, probability=probability,
                                differences=[Difference(kind=k, claimed="a", source="b") for k in kinds])

    assert says(candidate(0.3), 0.2)
    assert not says(candidate(0.1), 0.2)  # below the head's threshold
    assert not says(candidate(0.9, "number"), 0.2)
    assert not says(candidate(0.9, "negation"), 0.2)
    assert not says(candidate(0.9, "date"), 0.2)
    assert not says(candidate(0.9, "term"), 0.2)  # a name swapped for the source's (``swapped_names``)
    assert not says(candidate(0.9, "direction"), 0.2)  # a direction reversed (``direction.reversed_direction``)
    assert says(candidate(0.9, "name", "unit", "missing"), 0.2)  # these only lower the head's probability


def test_the_word_vector_cache_encodes_each_sentence_once_and_forgets_the_oldest() -> None:
    from assistant.index.word_vectors import WordVectorCache

    calls: list[list[str]] = []

    def encode_words(texts: list[str]) -> list[WordVectors]:
        calls.append(list(texts))
        return [WordVectors((t,), np.ones((1, 2), np.float32)) for t in texts]

    cache = WordVectorCache(size=2)
    asked, read = cache.encode("enc", encode_words, ["q1"], [(1, "s1"), (2, "s2")])
    assert calls == [["q1", "s1", "s2"]] and asked[0].words == ("q1",) and [r.words for r in read] == [("s1",), ("s2",)]
    _, read = cache.encode("enc", encode_words, ["q2"], [(2, "s2"), (3, "s3")])  # 2 cached; 3 pushes 1 out
    assert calls[-1] == ["q2", "s3"] and [r.words for r in read] == [("s2",), ("s3",)]
    cache.encode("enc", encode_words, ["q3"], [(1, "s1")])
    assert calls[-1] == ["q3", "s1"]  # 1 was the least recently used
    cache.encode("other", encode_words, [], [(3, "s3")])
    assert calls[-1] == ["s3"]  # another encoder's vectors are never reused


def test_claim_passes_out_of_fold_uses_the_stored_vetoes_of_the_best_candidate() -> None:
    from assistant.eval.judge_examples import Example
    from assistant.eval.judge_fitting import claim_passes

    features = np.zeros((2, len(CLAIM_FEATURES)), np.float32)
    example = Example("covid-claims:mismatch", "doc", False, features, np.array([True, False]),
                      oof=np.array([0.6, 0.2]), vetoed=np.array([True, False]))
    assert not claim_passes(example, 0.1)  # the best candidate carries a vetoing difference
    example.vetoed = np.array([False, True])
    assert claim_passes(example, 0.1) and not claim_passes(example, 0.7)
    # examples collected before vetoes were stored: the number and negation columns decide
    example.vetoed = None
    example.features[0, CLAIM_FEATURES.index("diff_number")] = 1.0
    assert not claim_passes(example, 0.1)
    assert claim_passes(Example("x", "g", True, features, np.array([False, False]), verbatim=True), 0.9)
    # the sentence the claim restates differs, though the judge prefers another candidate
    example.vetoed, example.features[0, CLAIM_FEATURES.index("diff_number")] = np.array([False, True]), 0.0
    example.contradicted = True
    assert not claim_passes(example, 0.1)


def test_calibrate_is_platts_map_on_the_logit_hand_computed() -> None:
    from assistant.answer.judge import calibrate

    assert calibrate(0.3, None) == 0.3 and calibrate(0.3, []) == 0.3
    assert calibrate(0.5, [1.0, 0.0]) == pytest.approx(0.5)
    # logit(0.2) = -1.386294; 2 * -1.386294 + 1 = -1.772589; sigmoid = 0.145221
    assert calibrate(0.2, [2.0, 1.0]) == pytest.approx(0.145221, abs=1e-6)
    assert calibrate(0.0, [1.0, 0.0]) == pytest.approx(1e-6)  # clipped, never a math error
    assert calibrate(1.0, [1.0, 30.0]) == pytest.approx(1.0)


def test_the_confidence_map_is_fitted_on_answered_covid_dev_questions_and_checked_elsewhere() -> None:
    from assistant.eval.judge_examples import Example
    from assistant.eval.judge_fitting import CALIBRATION_SOURCE, confidence_map

    rng = np.random.default_rng(0)
    examples = []
    for i in range(400):  # under-confident head: its best candidate is right more often than it says
        p = float(rng.uniform(0.05, 0.6))
        right = bool(rng.random() < min(1.0, p + 0.25))
        examples.append(Example(CALIBRATION_SOURCE, f"a{i % 20}", True, np.zeros((2, 1), np.float32),
                                np.array([right, not right]), oof=np.array([p, p / 2])))
    examples.append(Example("gene", "g", True, np.zeros((1, 1), np.float32), np.array([True]), oof=np.array([0.5])))
    mapping, figures = confidence_map(examples, threshold=0.0)
    assert mapping is not None and mapping[1] > 0  # it raises the confidence
    key = f"{CALIBRATION_SOURCE}.ece_answered"
    assert figures[f"{key}_mapped"] < figures[key]  # cross-validated: the map itself is out of fold
    assert "gene.ece_answered_mapped" in figures
    assert confidence_map(examples[:3], threshold=0.0) == (None, {})  # too little to fit
