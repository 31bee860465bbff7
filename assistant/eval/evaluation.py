"""Evaluation runs: answer a question set with several systems and score every answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.answer.abstention import RULES_THRESHOLD, abstention
from assistant.answer.answering import display_text, validate_question
from assistant.answer.phrase import phrase_fields
from assistant.answer.retrieval import retrieve
from assistant.errors import UserInputError
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
from assistant.ingest.reading import jsonl_lines
from assistant.models import (
    Answer,
    Citation,
    EvalQuestion,
    EvalRecord,
    EvalReport,
    Evidence,
    SentenceEvidence,
    System,
)
from assistant.patterns import CITATION_MARKER, citation_marker
from assistant.service import Assistant

SYSTEMS = tuple(s.value for s in System)


def load_questions(path: Path, split: str | None = None, limit: int | None = None) -> list[EvalQuestion]:
    """Read a question set: our JSONL format or COVID-QA's (``qid``, ``gold_spans``)."""
    questions = []
    for number, line in jsonl_lines(path, "question set"):
        try:
            row = json.loads(line)
            if "qid" in row:
                question = EvalQuestion(
                    id=str(row["qid"]), question=row["question"], answers=row.get("answers", []),
                    evidence=[Evidence(doc=str(s["doc_id"]), start=s["start"], end=s["end"])
                              for s in row.get("gold_spans", [])],
                    answerable=row.get("answerable", True), tags=row.get("tags", []), split=row.get("split"))
            else:
                question = EvalQuestion.model_validate(row)
        except (ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"{path.name} line {number}: not a valid question ({str(exc).splitlines()[0]})") from exc
        if split and question.split and question.split != split:
            continue
        questions.append(question)
    if limit:
        questions = questions[:limit]
    if not questions:
        raise UserInputError(f"no questions in {path}" + (f" for split {split}" if split else ""))
    return questions


def evidence_spans(question: EvalQuestion, index: LoadedIndex) -> list[tuple[str, int, int]]:
    """(doc, start, end) of each evidence item; quotes are located in the document text."""
    spans = []
    for item in question.evidence:
        if item.start is not None and item.end is not None:
            spans.append((item.doc, item.start, item.end))
            continue
        document = index.documents.get(item.doc)
        if document is None or not item.quote:
            continue
        at = document.text.find(item.quote)
        if at < 0:
            at = " ".join(document.text.split()).find(" ".join(item.quote.split()))
            if at >= 0:  # whitespace differs; locate by the first words instead
                at = document.text.find(item.quote.split()[0])
        if at >= 0:
            spans.append((item.doc, at, at + len(item.quote)))
    return spans


def naive_answer(assistant: Assistant, question: str) -> Answer:
    """The naive baseline: best sentence (by cosine) of the top dense chunk; abstains only when nothing
    is retrieved."""
    index = assistant.index
    question = validate_question(question, assistant.settings.max_question_chars)
    vector = assistant.embedder.encode([question])[0]
    hits = retrieve(index, question, vector, 1, System.DENSE)
    if not hits:
        _, reason = abstention(question, None, RULES_THRESHOLD, index, abstain=False)
        return Answer(question=question, text="", abstained=True, reason=reason, confidence=0.0)
    chunk = hits[0].chunk
    sid = max(chunk.sentence_ids, key=lambda s: float(index.sentence_vectors[s] @ vector))
    sentence = index.sentences[sid]
    cosine = float(index.sentence_vectors[sid] @ vector)
    citation = Citation(marker=1, doc=sentence.doc_id, title=index.titles.get(sentence.doc_id, ""),
                        start=sentence.start, end=sentence.end, quote=sentence.text, passage=chunk.text,
                        passage_start=chunk.start, passage_end=chunk.end, chunk_id=chunk.chunk_id,
                        evidence=SentenceEvidence(dense_score=cosine, dense_rank=1, chunk_rank=1, score=cosine),
                        **phrase_fields(question, sentence.text, sentence.start))
    return Answer(question=question, text=f"{display_text(sentence.text)} {citation_marker(1)}", abstained=False,
                  confidence=max(0.0, min(1.0, cosine)), citations=[citation], mode=System.DENSE)


def system_answer(assistant: Assistant, system: str, question: str) -> Answer:
    """Answer with one of the compared systems."""
    if system == System.NAIVE:
        return naive_answer(assistant, question)
    if system in (System.DENSE, System.BM25):
        return assistant.ask(question, mode=System(system))
    if system == System.HYBRID:  # plain reciprocal rank fusion, equal weights
        return assistant.ask(question, mode=System.HYBRID, fusion_weights=(1.0, 1.0))
    if system == System.FULL:
        return assistant.ask(question)
    raise UserInputError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")


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


def retrieval_ranks(index: LoadedIndex, question: str, mode: str, weights: tuple[float, float],
                    spans: list[tuple[str, int, int]], vector: np.ndarray | None) -> list[int]:
    """Ranks (from 1, top 10) of retrieved chunks that contain a gold evidence span."""
    hits = retrieve(index, question, vector, 10, mode, weights=weights)  # type: ignore[arg-type]
    return [h.rank for h in hits
            if any(doc == h.chunk.doc_id and spans_overlap(h.chunk.start, h.chunk.end, s, e) for doc, s, e in spans)]


def run_evaluation(assistant: Assistant, questions: Sequence[EvalQuestion], systems: Sequence[str],
                   progress: Callable[[int, int], None] | None = None) -> list[EvalRecord]:
    """Answer every question with every system; an error is recorded, never dropped."""
    index = assistant.index
    records = []
    total = len(questions) * len(systems)
    for q_number, question in enumerate(questions):
        spans = evidence_spans(question, index)
        vector = assistant.query_embedder.encode([question.question])[0] if question.question.strip() else None
        for system in systems:
            mode = {System.NAIVE: System.DENSE, System.DENSE: System.DENSE, System.BM25: System.BM25}.get(
                system, assistant.settings.mode)
            started = time.perf_counter()
            try:
                answer = system_answer(assistant, system, question.question)
                latency = (time.perf_counter() - started) * 1000
                weights = (1.0, 1.0) if system == System.HYBRID else \
                    (assistant.settings.dense_weight, assistant.settings.lexical_weight)
                ranks = retrieval_ranks(index, question.question, mode, weights, spans, vector) if spans else []
                record = score_answer(question, answer, index, spans, ranks)
            except Exception as exc:  # an erroring question is a failure in every metric
                latency = (time.perf_counter() - started) * 1000
                record = EvalRecord(id=question.id, system=system, question=question.question,
                                    answerable=question.answerable, gold_answers=question.answers,
                                    tags=question.tags, errored=True,
                                    citations_valid=False, error=f"{type(exc).__name__}: {exc}")
            record.system = system
            record.latency_ms = latency
            records.append(record)
            if progress:
                progress(q_number * len(systems) + systems.index(system) + 1, total)
    return records


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
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def summarize_by_tag(records: Sequence[EvalRecord]) -> dict[str, dict[str, dict[str, float]]]:
    """Summary per tag, then per system."""
    tags = sorted({t for r in records for t in r.tags})
    systems = list(dict.fromkeys(r.system for r in records))
    return {tag: {s: summarize([r for r in records if r.system == s and tag in r.tags]) for s in systems}
            for tag in tags}


def eval_report(assistant: Assistant, questions_file: str, records: Sequence[EvalRecord], created_at: str,
                config: dict[str, object] | None = None) -> EvalReport:
    """The report of a run (what ``assistant eval`` and the UI's Evaluation tab write): a summary
    per system in the order the records name them, one per tag, and the records themselves."""
    names = list(dict.fromkeys(r.system for r in records))
    manifest = assistant.index.manifest
    return EvalReport(questions_file=questions_file, corpus=manifest.corpus, created_at=created_at,
                      config=config or {}, index_build_seconds=manifest.build_seconds,
                      summary={s: summarize([r for r in records if r.system == s]) for s in names},
                      by_tag=summarize_by_tag(records), records=list(records))


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


def run_holdout(assistant: Assistant, questions: Sequence[EvalQuestion], count: int, seed: int = 13,
                progress: Callable[[int, int], None] | None = None) -> list[EvalRecord]:
    """Abstention without the gold article: for ``count`` sampled answerable questions, answer
    with retrieval restricted to every document except the question's gold documents (as if
    they were not indexed; BM25 statistics still include them) and record whether it abstained.
    """
    import random

    index = assistant.index
    pool = [q for q in questions if q.answerable and q.evidence]
    sample = random.Random(seed).sample(pool, min(count, len(pool)))
    records = []
    for number, question in enumerate(sample, 1):
        gold = {e.doc for e in question.evidence}
        others = [d for d in index.manifest.documents if d not in gold]
        started = time.perf_counter()
        try:
            answer = assistant.ask(question.question, doc_filter=others) if others else None
            record = EvalRecord(id=question.id, system="full-holdout", question=question.question, answerable=False,
                                gold_answers=question.answers, tags=["holdout", *question.tags],
                                abstained=answer is None or answer.abstained, answer=answer)
        except Exception as exc:  # counted as a failure, never dropped
            record = EvalRecord(id=question.id, system="full-holdout", question=question.question, answerable=False,
                                tags=["holdout", *question.tags], errored=True, error=f"{type(exc).__name__}: {exc}")
        record.latency_ms = (time.perf_counter() - started) * 1000
        records.append(record)
        if progress:
            progress(number, len(sample))
    return records
