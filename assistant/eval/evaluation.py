"""Evaluation runs: answer a question set with several systems and score every answer (``outcomes``)."""

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
from assistant.eval.metrics import spans_overlap
from assistant.eval.outcomes import score_answer, summarize, summarize_by_tag
from assistant.index.store import LoadedIndex
from assistant.ingest.reading import jsonl_lines
from assistant.models import (
    Answer,
    Citation,
    EvalQuestion,
    EvalRecord,
    EvalReport,
    Evidence,
    FusionMethod,
    SentenceEvidence,
    System,
)
from assistant.patterns import citation_marker
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
        return assistant.ask(question, mode=System.HYBRID, fusion_weights=(1.0, 1.0), fusion="rrf")
    if system == System.FULL:
        return assistant.ask(question)
    raise UserInputError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")


def retrieval_ranks(index: LoadedIndex, question: str, mode: str, weights: tuple[float, float],
                    spans: list[tuple[str, int, int]], vector: np.ndarray | None,
                    fusion: FusionMethod = "scores") -> list[int]:
    """Ranks (from 1, top 10) of retrieved chunks that contain a gold evidence span."""
    hits = retrieve(index, question, vector, 10, mode, weights=weights, fusion=fusion)  # type: ignore[arg-type]
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
                settings = assistant.settings
                weights, fusion = ((1.0, 1.0), "rrf") if system == System.HYBRID else \
                    ((settings.dense_weight, settings.lexical_weight), settings.fusion)
                ranks = retrieval_ranks(index, question.question, mode, weights, spans, vector,
                                        fusion) if spans else []  # type: ignore[arg-type]
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
