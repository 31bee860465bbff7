"""An evaluation's outcomes: every metric of one answer (``score_answer``), the summaries per system and
per tag, and the questions whose outcome flipped since an earlier run."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.eval.metrics import (
    contains_answer,
    expected_calibration_error,
    exact_match,
    ndcg_at_k,
    percentile,
    rate,
    recall_at_k,
    reciprocal_rank,
    spans_overlap,
    token_f1,
)
from assistant.index.store import LoadedIndex
from assistant.models import Answer, Citation, EvalQuestion, EvalRecord
from assistant.patterns import CITATION_MARKER


def score_answer(question: EvalQuestion, answer: Answer, index: LoadedIndex, spans: list[tuple[str, int, int]],
                 ranks: list[int]) -> EvalRecord:
    """Every per-question metric for one answer."""
    record = EvalRecord(id=question.id, system="", question=question.question, answerable=question.answerable,
                        gold_answers=question.answers, tags=question.tags, abstained=answer.abstained, answer=answer, retrieval_ranks=ranks)
    record.citations_valid = all(
        c.doc in index.documents and index.documents[c.doc].text[c.start:c.end] == c.quote for c in answer.citations)
    if answer.abstained or not question.answerable:
        return record
    plain = CITATION_MARKER.sub("", answer.text)
    record.contains_answer = contains_answer(plain, question.answers)
    record.exact_match = exact_match(plain, question.answers)
    record.f1 = token_f1(plain, question.answers)
    phrase = answer.citations[0].answer_phrase if answer.citations else None
    record.phrase_em = exact_match(phrase, question.answers) if phrase else 0.0
    record.phrase_f1 = token_f1(phrase, question.answers) if phrase else 0.0

    def cites_gold(citation: Citation) -> bool:
        return any(doc == citation.doc and spans_overlap(citation.start, citation.end, s, e) for doc, s, e in spans)

    record.cited_gold_first = bool(answer.citations) and cites_gold(answer.citations[0])
    record.cited_gold_any = any(cites_gold(c) for c in answer.citations)
    record.passage_has_gold = any(
        doc == c.doc and c.passage_start <= s and e <= c.passage_end for c in answer.citations for doc, s, e in spans)
    sentences = max(1, len(CITATION_MARKER.findall(answer.text)))
    record.cited_share = min(1.0, len(answer.citations) / sentences)
    record.hit = record.contains_answer and (record.cited_gold_any or not spans)
    return record


def summarize(records: Sequence[EvalRecord]) -> dict[str, float]:
    """Rates and counts over records of one system. Errored rows count as failures everywhere."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    with_gold = [r for r in answerable if r.retrieval_ranks is not None]
    answered = [r for r in records if not r.abstained and not r.errored]
    answered_answerable = [r for r in answered if r.answerable and r.answer is not None and r.answer.citations]
    latencies = [r.latency_ms for r in records]

    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    abstained_unans = sum(1 for r in unanswerable if r.abstained and not r.errored)
    answered_unanswerable = [r for r in answered if not r.answerable and r.answer is not None]
    abstained_all = sum(1 for r in records if r.abstained and not r.errored)
    return {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered": len(answered),
        "abstained": abstained_all,
        "errored": sum(1 for r in records if r.errored),
        "hit_rate": rate(sum(r.hit for r in answerable), len(answerable)),
        "contains_answer": rate(sum(r.contains_answer for r in answerable), len(answerable)),
        "exact_match": mean(r.exact_match for r in answerable),
        "f1": mean(r.f1 for r in answerable),
        # the first citation's answer phrase against the gold answers (0 when it has none)
        "phrase_exact_match": mean(r.phrase_em for r in answerable),
        "phrase_f1": mean(r.phrase_f1 for r in answerable),
        "phrase_coverage": rate(sum(1 for r in answered_answerable if r.answer.citations[0].answer_phrase),
                                len(answered_answerable)),
        "gold_cited_at_1": rate(sum(r.cited_gold_first for r in answerable), len(answerable)),
        "gold_cited_any": rate(sum(r.cited_gold_any for r in answerable), len(answerable)),
        "passage_has_gold": rate(sum(r.passage_has_gold for r in answerable), len(answerable)),
        "citation_validity": rate(sum(r.citations_valid and not r.errored for r in records), len(records)),
        "cited_sentence_share": mean(r.cited_share for r in answered) if answered else 0.0,
        "recall_at_1": mean(recall_at_k(r.retrieval_ranks, 1) for r in with_gold),
        "recall_at_3": mean(recall_at_k(r.retrieval_ranks, 3) for r in with_gold),
        "recall_at_5": mean(recall_at_k(r.retrieval_ranks, 5) for r in with_gold),
        "recall_at_10": mean(recall_at_k(r.retrieval_ranks, 10) for r in with_gold),
        "mrr": mean(reciprocal_rank(r.retrieval_ranks) for r in with_gold),
        "ndcg_at_10": mean(ndcg_at_k(r.retrieval_ranks, 10, max(1, len(r.retrieval_ranks))) for r in with_gold),
        "abstention_recall": rate(abstained_unans, len(unanswerable)),
        "abstention_precision": rate(abstained_unans, abstained_all),
        "false_abstention": rate(sum(1 for r in answerable if r.abstained and not r.errored), len(answerable)),
        # answered answerable questions: confidence against "a citation holds the gold sentence"
        "calibration_error": expected_calibration_error(
            [r.answer.confidence for r in answerable if r.answer and not r.abstained and not r.errored],
            [r.cited_gold_any for r in answerable if r.answer and not r.abstained and not r.errored]),
        # answers warning that their citations never say some specific words of the question (Answer.unmatched):
        # wanted on answered unanswerable questions (near misses), not on answered answerable ones
        "unmatched_warned_unanswerable": rate(sum(1 for r in answered_unanswerable if r.answer.unmatched),
                                              len(answered_unanswerable)),
        "unmatched_warned_answerable": rate(sum(1 for r in answered_answerable if r.answer.unmatched),
                                            len(answered_answerable)),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def summarize_by_tag(records: Sequence[EvalRecord]) -> dict[str, dict[str, dict[str, float]]]:
    """Summary per tag, then per system."""
    tags = sorted({t for r in records for t in r.tags})
    systems = list(dict.fromkeys(r.system for r in records))
    return {tag: {s: summarize([r for r in records if r.system == s and tag in r.tags]) for s in systems}
            for tag in tags}


def compare_records(current: Sequence[EvalRecord], previous: Sequence[EvalRecord]) -> list[tuple[str, str, str, str]]:
    """Questions whose outcome flipped since a previous run: (system, id, 'fixed'|'broken', question).

    An outcome is correct when an answerable question is a hit or an unanswerable one abstained.
    """
    def correct(r: EvalRecord) -> bool:
        return not r.errored and (r.hit if r.answerable else r.abstained)

    before = {(r.system, r.id): correct(r) for r in previous}
    flips = []
    for r in current:
        key = (r.system, r.id)
        if key in before and before[key] != correct(r):
            flips.append((r.system, r.id, "fixed" if correct(r) else "broken", r.question))
    return flips
