"""Answer-quality regression gate on the gene-therapy question set (real model).

Thresholds are the figures last measured with `assistant eval` (README, "Results") minus a
small margin, so a change that makes answers, abstention or citations worse fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.eval.evaluation import load_questions, run_evaluation, summarize

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "evals" / "questions" / "gene_therapy.jsonl"

# Last measured (130 questions, full system, default settings, the fitted judge in assistant/answer/judge.json):
# hit 0.789, abstention 0.600 (off-topic 14/14, near misses 7/21), false abstention 0.032
# (`assistant eval --questions evals/questions/gene_therapy.jsonl`; evals/reports/gene_therapy/).
# The judge was trained on this set among others; its out-of-fold figures are in its model card.
MARGIN = 0.05
MIN_HIT_RATE = 0.789 - MARGIN
MIN_ABSTENTION = 0.600 - MARGIN
MAX_FALSE_ABSTENTION = 0.032 + MARGIN


@pytest.fixture(scope="module")
def quality_assistant(judged_assistant):
    """The real model and the fitted judge over the bundled corpus (indexed once per session)."""
    return judged_assistant


@pytest.fixture(scope="module")
def gene_therapy_records(quality_assistant):
    """Every question of the set answered by the full system and the naive baseline."""
    questions = load_questions(QUESTIONS)
    return questions, run_evaluation(quality_assistant, questions, ["naive", "full"])


@pytest.mark.model
def test_question_set_is_big_enough_and_honest():
    questions = load_questions(QUESTIONS)
    unanswerable = [q for q in questions if not q.answerable]
    paraphrased = [q for q in questions if "paraphrased" in q.tags]
    assert len(questions) >= 60 and len(unanswerable) >= 15 and len(paraphrased) >= 20
    for q in questions:
        for item in q.evidence:
            text = (ROOT / "corpus" / item.doc).read_text(encoding="utf-8")
            assert item.quote and item.quote in text, f"{q.id}: evidence quote not verbatim in {item.doc}"


@pytest.mark.model
def test_full_system_meets_measured_quality(gene_therapy_records):
    _, records = gene_therapy_records
    full = summarize([r for r in records if r.system == "full"])
    naive = summarize([r for r in records if r.system == "naive"])
    print(f"\nfull: hit {full['hit_rate']:.3f} abstention {full['abstention_recall']:.3f} "
          f"false abstention {full['false_abstention']:.3f} | naive: hit {naive['hit_rate']:.3f}")
    assert full["errored"] == 0
    assert full["citation_validity"] == 1.0
    assert full["hit_rate"] >= MIN_HIT_RATE
    assert full["abstention_recall"] >= MIN_ABSTENTION
    assert full["false_abstention"] <= MAX_FALSE_ABSTENTION
    assert full["hit_rate"] > naive["hit_rate"]


@pytest.mark.model
def test_off_topic_questions_always_abstain(gene_therapy_records):
    _, records = gene_therapy_records
    off_topic = [r for r in records if r.system == "full" and "off-topic" in r.tags]
    assert off_topic
    assert all(r.abstained and r.answer and r.answer.reason for r in off_topic)


@pytest.mark.model
def test_near_misses_are_refused_with_a_reason(gene_therapy_records):
    """Near misses (the subject is in the documents, the fact asked for is not): at least a quarter
    abstained (measured 7/21), each with a one-line reason."""
    _, records = gene_therapy_records
    near = [r for r in records if r.system == "full" and "near-miss" in r.tags]
    refused = [r for r in near if r.abstained]
    assert len(refused) >= len(near) / 4
    assert all(r.answer and r.answer.reason and "\n" not in r.answer.reason for r in refused)


@pytest.mark.model
def test_every_answer_cites_verbatim_sentences(gene_therapy_records):
    _, records = gene_therapy_records
    corpus = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "corpus").iterdir()}
    for record in records:
        if record.system != "full" or record.answer is None or record.answer.abstained:
            continue
        answer = record.answer
        assert 1 <= len(answer.citations) <= 2
        for citation in answer.citations:
            assert corpus[citation.doc][citation.start:citation.end] == citation.quote
            assert citation.quote in citation.passage
            assert f"[{citation.marker}]" in answer.text
        assert 0.0 <= answer.confidence <= 1.0


@pytest.mark.model
def test_every_answer_passes_its_own_citation_checker(gene_therapy_records, quality_assistant):
    """Self-consistency: each answer sentence is quoted verbatim from the document it cites."""
    _, records = gene_therapy_records
    checked = 0
    for record in records:
        if record.system != "full" or record.answer is None or record.answer.abstained:
            continue
        report = quality_assistant.check(record.answer.model_dump_json())
        verdicts = [c.verdict for c in report.claims]
        assert verdicts and set(verdicts) == {"verbatim"}, (record.id, verdicts, report.errors)
        assert report.ok and len(verdicts) == len(record.answer.citations)
        checked += 1
    assert checked >= 60
