"""Candidate sentences: every answerable sentence of the retrieved chunks, with the evidence for it, and
the judge's features and probability for the best of them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.cross_encoder import CrossEncoder, cross_passage
from assistant.answer.judge import (
    Judge,
    QAEvidence,
    alignment,
    content_words,
    max_missing_idf,
    qa_feature_rows,
)
from assistant.answer.scoring import (
    answer_type_matches,
    entity_terms,
    expected_answer_type,
    idf,
    sentence_score,
    term_coverage,
)
from assistant.index.embedding import Embedder
from assistant.index.store import LoadedIndex
from assistant.lexical import stem, terms
from assistant.models import RetrievedChunk, Sentence

CONTEXT_SENTENCES = 2
# Candidates (by rule score) the judge reads. Reading the word pieces of each costs ~5 ms; on COVID-QA dev and
# the gene-therapy set, 3 and 5 gave the same gold-first, abstention and false abstention as 10 (the training
# shortlist), at a third and half of the time.
JUDGE_SHORTLIST = 3


@dataclass
class Candidate:
    """A sentence under consideration, with the evidence for it."""

    sentence: Sentence
    chunk: RetrievedChunk
    dense: float
    coverage: float
    context_coverage: float
    type_match: bool
    missing_entity: list[str] = field(default_factory=list)
    passage_dense: float = 0.0
    score: float = 0.0
    probability: float | None = None  # the judge's, when it has read this candidate


def context_terms(index: LoadedIndex, sentence: Sentence) -> set[str]:
    """Terms of the sentence, its section heading, its title and the sentences just before it."""
    context = set(index.sentence_terms(sentence.sentence_id))
    context |= index.text_terms(sentence.heading)
    context |= index.text_terms(index.manifest.documents[sentence.doc_id].title)
    sid = sentence.sentence_id
    for back in range(1, CONTEXT_SENTENCES + 1):
        if sid - back >= 0 and index.sentences[sid - back].doc_id == sentence.doc_id:
            context |= index.sentence_terms(sid - back)
    return context


def collect_candidates(index: LoadedIndex, question: str, query_vector: np.ndarray | None,
                       retrieved: list[RetrievedChunk]) -> list[Candidate]:
    """Every answerable sentence of the retrieved chunks, scored against the question."""
    query_terms = terms(question, drop_question_words=True)
    weights = {t: idf(t, index.sentence_df, index.sentence_df_total) for t in set(query_terms)}
    # Names in the question that the collection knows must appear around the answer.
    known_entities = {word: stem(word) for word in entity_terms(question) if index.sentence_df.get(stem(word), 0) > 0}
    answer_type = expected_answer_type(question)
    seen: set[int] = set()
    candidates = []
    for hit in retrieved:
        passage_dense = 0.0
        if query_vector is not None:
            passage_dense = float(index.dense.reconstruct(hit.position) @ query_vector)
        for sid in hit.chunk.sentence_ids:
            sentence = index.sentences[sid]
            if sid in seen or not sentence.answerable:
                continue
            seen.add(sid)
            context = context_terms(index, sentence)
            candidate = Candidate(
                sentence=sentence,
                chunk=hit,
                dense=float(index.sentence_vectors[sid] @ query_vector) if query_vector is not None else 0.0,
                passage_dense=passage_dense,
                coverage=term_coverage(query_terms, index.sentence_terms(sid), weights),
                context_coverage=term_coverage(query_terms, context, weights),
                type_match=answer_type_matches(answer_type, sentence.text, question),
                missing_entity=[word for word, term in known_entities.items() if term not in context],
            )
            candidate.score = sentence_score(candidate.dense, candidate.coverage, candidate.context_coverage,
                                             hit.rank, candidate.type_match, bool(candidate.missing_entity),
                                             passage_dense)
            candidates.append(candidate)
    return candidates




def shortlist(candidates: Sequence[Candidate], limit: int = JUDGE_SHORTLIST) -> list[Candidate]:
    """The ``limit`` best candidates by rule score (stable for ties)."""
    return sorted(candidates, key=lambda c: -c.score)[:limit]


def judge_features(index: LoadedIndex, embedder: Embedder, question: str, candidates: Sequence[Candidate],
                   cross: CrossEncoder | None = None) -> np.ndarray:
    """The answer head's feature matrix for ``candidates`` (one ``encode_words`` call for all, and one
    cross-encoder batch when there is one)."""
    if not candidates:
        return qa_feature_rows([], [], [], 0)
    (asked,), read = index.word_vectors.encode(embedder.name, embedder.encode_words, [question],
                                               [(c.sentence.sentence_id, c.sentence.text) for c in candidates])
    question_words = content_words(asked)
    df, total = index.sentence_df, index.sentence_df_total

    def weight(word: str) -> float:
        return idf(stem(word), df, total)

    question_terms = set(terms(question, drop_question_words=True))
    ceiling = math.log(1.0 + (total + 0.5) / 0.5)
    needs_type = expected_answer_type(question) is not None
    evidence, aligned, missing = [], [], []
    for candidate, words in zip(candidates, read):
        evidence.append(QAEvidence(
            dense=candidate.dense, passage_dense=candidate.passage_dense, coverage=candidate.coverage,
            context_coverage=candidate.context_coverage, missing_entity=bool(candidate.missing_entity),
            type_needed_missing=needs_type and not candidate.type_match, chunk_rank=candidate.chunk.rank,
            lexical_rank=candidate.chunk.lexical_rank, dense_rank=candidate.chunk.dense_rank,
            score=candidate.score, length=len(candidate.sentence.text)))
        aligned.append(alignment(question_words, words, weight))
        missing.append(max_missing_idf(question_terms, context_terms(index, candidate.sentence),
                                       lambda t: idf(t, df, total), ceiling))
    read = None
    if cross is not None:
        read = cross.probabilities(question, [cross_passage(c.sentence.text, previous_text(index, c.sentence))
                                              for c in candidates])
    return qa_feature_rows(evidence, aligned, missing, len(question_words.words), read)


def previous_text(index: LoadedIndex, sentence: Sentence) -> str | None:
    """The text of the sentence before ``sentence`` in its document, if any."""
    sid = sentence.sentence_id
    if sid > 0 and index.sentences[sid - 1].doc_id == sentence.doc_id:
        return index.sentences[sid - 1].text
    return None


def judge_candidates(index: LoadedIndex, embedder: Embedder, question: str, candidates: Sequence[Candidate],
                     judge: Judge) -> list[Candidate]:
    """The shortlist, each with the judge's probability that it answers the question, best first."""
    chosen = shortlist(candidates, JUDGE_SHORTLIST)
    rows = judge_features(index, embedder, question, chosen, judge.cross)
    for candidate, p in zip(chosen, judge.answer.probabilities(rows)):
        candidate.probability = float(p)
    return sorted(chosen, key=lambda c: -(c.probability or 0.0))
