"""Answering: pick the sentences that best answer a question and cite them, or abstain."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.answer.abstention import abstain_threshold, abstention, rule_confidence
from assistant.answer.candidates import Candidate, collect_candidates, context_terms, judge_candidates
from assistant.answer.judge import Judge, calibrate
from assistant.answer.phrase import phrase_fields
from assistant.answer.retrieval import retrieve
from assistant.answer.scoring import select_mmr, unmatched_terms
from assistant.errors import UserInputError
from assistant.index.embedding import Embedder
from assistant.index.store import LoadedIndex
from assistant.models import Answer, Citation, Conflict, ConflictSide, FusionMethod, RetrievalMode, SentenceEvidence
from assistant.patterns import citation_marker, display_text
from assistant.settings import Settings


@dataclass(frozen=True)
class AnswerOptions:
    """Per-question knobs. ``Settings`` owns their defaults: build them with ``from_settings``."""

    k: int
    max_sentences: int
    mode: RetrievalMode
    fusion_weights: tuple[float, float]  # (dense, lexical) weights of hybrid mode's fusion
    fusion: FusionMethod
    abstain_threshold: float | None  # None: the judge's own threshold (0.5 for the rules)
    max_question_chars: int
    abstain: bool = True  # False: answer with the best sentences even when unsure (never from Settings)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AnswerOptions:
        """The options ``settings`` give, with the ``overrides`` that are not None on top."""
        options = cls(k=settings.k, max_sentences=settings.max_sentences, mode=settings.mode,
                      fusion_weights=(settings.dense_weight, settings.lexical_weight), fusion=settings.fusion,
                      abstain_threshold=settings.abstain_threshold, max_question_chars=settings.max_question_chars)
        return replace(options, **{name: value for name, value in overrides.items() if value is not None})


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped of surrounding white space and control characters, or UserInputError."""
    if not isinstance(question, str):
        raise UserInputError("the question must be text")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    if not cleaned:
        raise UserInputError("the question is empty")
    if len(cleaned) > max_chars:
        raise UserInputError(f"the question is {len(cleaned)} characters long; the limit is {max_chars}")
    if not any(ch.isalnum() for ch in cleaned):
        raise UserInputError("the question has no words to search for")
    return cleaned


def compose_answer(question: str, chosen: list[Candidate], index: LoadedIndex) -> tuple[str, list[Citation]]:
    """Order chosen sentences for reading (by document, then position) and cite each, with the
    phrase that answers a short-fact question where its sentence holds one."""
    doc_best: dict[str, float] = {}
    for candidate in chosen:
        doc_best[candidate.sentence.doc_id] = max(doc_best.get(candidate.sentence.doc_id, -1e9), candidate.score)
    ordered = sorted(chosen, key=lambda c: (-doc_best[c.sentence.doc_id], c.sentence.doc_id, c.sentence.start))
    parts, citations = [], []
    for marker, candidate in enumerate(ordered, 1):
        sentence, chunk = candidate.sentence, candidate.chunk.chunk
        parts.append(f"{display_text(sentence.text)} {citation_marker(marker)}")
        citations.append(Citation(
            marker=marker,
            doc=sentence.doc_id,
            title=index.titles.get(sentence.doc_id, sentence.doc_id),
            start=sentence.start,
            end=sentence.end,
            quote=sentence.text,
            passage=chunk.text,
            passage_start=chunk.start,
            passage_end=chunk.end,
            chunk_id=chunk.chunk_id,
            evidence=SentenceEvidence(
                dense_score=round(candidate.dense, 4), dense_rank=candidate.chunk.dense_rank,
                lexical_score=round(candidate.chunk.lexical_score, 4), lexical_rank=candidate.chunk.lexical_rank,
                coverage=round(candidate.coverage, 4), chunk_rank=candidate.chunk.rank,
                score=round(candidate.score, 4)),
            **phrase_fields(question, sentence.text, sentence.start),  # the quote is text[start:end]
            **_date_fields(index, sentence.doc_id),
        ))
    return " ".join(parts), citations


def _date_fields(index: LoadedIndex, doc_id: str) -> dict[str, str | None]:
    date, source = index.dates.get(doc_id, (None, None))
    return {"date": date, "date_source": source}


CONFLICT_CANDIDATES = 4  # top candidates besides the chosen sentences that may show a disagreement


def conflict_sides(index: LoadedIndex, chosen: list[Candidate], others: list[Candidate]) -> list[ConflictSide]:
    """The chosen sentences (cited) and the best other candidates, with their documents' dates,
    for a ``find_conflicts`` function."""
    picked = {c.sentence.sentence_id for c in chosen}
    rest = [c for c in others if c.sentence.sentence_id not in picked][:CONFLICT_CANDIDATES]
    return [ConflictSide(doc=c.sentence.doc_id, title=index.titles.get(c.sentence.doc_id, c.sentence.doc_id),
                         start=c.sentence.start, end=c.sentence.end, quote=c.sentence.text,
                         cited=c.sentence.sentence_id in picked, **_date_fields(index, c.sentence.doc_id))
            for c in [*chosen, *rest]]


def answer_question(index: LoadedIndex, embedder: Embedder | None, question: str, options: AnswerOptions,
                    doc_filter: Collection[str] | None = None, judge: Judge | None = None,
                    find_conflicts: Callable[[list[ConflictSide]], list[Conflict]] | None = None) -> Answer:
    """Answer a question from the index with cited sentences, or abstain with a reason.

    With a ``judge``, its calibrated probability chooses the sentences and decides abstention;
    without one (``ASSISTANT_JUDGE=rules``), the rule-based score and confidence do. With
    ``find_conflicts`` (``check.conflicts.find_conflicts``), an answer lists the disagreements
    between its sentences and the top candidates.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    question = validate_question(question, options.max_question_chars)
    if doc_filter:
        unknown = sorted(d for d in set(doc_filter) if d not in index.manifest.documents)
        if unknown:
            raise UserInputError(f"unknown document in filter: {unknown[0]}")
    query_vector = None
    if embedder is not None:  # sentence scoring uses it in every retrieval mode
        query_vector = embedder.encode([question])[0]
    timings["embed_ms"] = (time.perf_counter() - clock) * 1000
    retrieved = retrieve(index, question, query_vector, options.k, options.mode, doc_filter, options.fusion_weights,
                         timings, options.fusion)
    clock = time.perf_counter()
    candidates = collect_candidates(index, question, query_vector, retrieved)
    relevance, gate = None, 0.0
    if judge is not None and embedder is not None and candidates:
        # A topic gate on the best rule-scored sentence, then the judge reads the rule score's shortlist and
        # decides; its probability is the confidence.
        relevance, gate = rule_confidence(max(candidates, key=lambda c: c.score)), judge.model.relevance_gate
        candidates = judge_candidates(index, embedder, question, candidates, judge)
        scores = [c.probability or 0.0 for c in candidates]
        threshold = abstain_threshold(options.abstain_threshold, judge)
    else:
        scores = [c.score for c in candidates]
        threshold = abstain_threshold(options.abstain_threshold, None)
    timings["sentence_scoring_ms"] = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    best_at = max(range(len(candidates)), key=lambda i: scores[i]) if candidates else None
    best = candidates[best_at] if best_at is not None else None
    conf, reason = abstention(question, best, threshold, index, options.abstain, relevance, gate)
    if relevance is not None and judge is not None:  # the judge decided: show its calibrated confidence
        conf = calibrate(conf, judge.model.confidence_map)
    if reason is not None:
        timings["composition_ms"] = (time.perf_counter() - clock) * 1000
        return Answer(question=question, text="The documents don't say.", abstained=True,
                      reason=reason, confidence=round(conf, 4),
                      mode=options.mode, timings_ms=timings)
    vectors = np.stack([index.sentence_vectors[c.sentence.sentence_id] for c in candidates])
    picked = select_mmr(list(range(len(candidates))), scores, vectors, options.max_sentences)
    text, citations = compose_answer(question, [candidates[i] for i in picked], index)
    said = set().union(*(context_terms(index, candidates[i].sentence) for i in picked))
    conflicts = []
    if find_conflicts is not None:
        ranked = [candidates[i] for i in sorted(range(len(candidates)), key=lambda i: -scores[i])]
        conflicts = find_conflicts(conflict_sides(index, [candidates[i] for i in picked], ranked))
    timings["composition_ms"] = (time.perf_counter() - clock) * 1000
    return Answer(question=question, text=text, abstained=False, reason=None, confidence=round(conf, 4),
                  citations=citations, mode=options.mode, timings_ms=timings, conflicts=conflicts,
                  unmatched=unmatched_terms(question, said, lambda term: index.sentence_df.get(term, 0) > 0))
