"""Retrieval of chunks: dense (FAISS), lexical (BM25) or hybrid (the two fused by score, or by reciprocal rank)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

import faiss
import numpy as np

from assistant.answer.scoring import reciprocal_rank_fusion, score_fusion
from assistant.index.backend_types import ranked_chunks
from assistant.index.store import LoadedIndex
from assistant.lexical import terms
from assistant.models import FusionMethod, RetrievalMode, RetrievedChunk, System

CANDIDATE_DEPTH = 50


def allowed_chunks(index: LoadedIndex, doc_filter: Collection[str] | None) -> np.ndarray | None:
    """Positions of chunks whose document is in ``doc_filter`` (None = no filter)."""
    if not doc_filter:
        return None
    wanted = set(doc_filter)
    rows = [i for i, doc_id in enumerate(index.doc_ids) if doc_id in wanted]
    return np.flatnonzero(np.isin(index.chunk_doc, rows)).astype(np.int64)


def dense_search(index: LoadedIndex, query_vector: np.ndarray, depth: int,
                 allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Top chunks by inner product with the query vector, as (position, score)."""
    if index.dense.ntotal == 0 or (allowed is not None and len(allowed) == 0):
        return []
    depth = min(depth, index.dense.ntotal)
    query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
    # One OpenMP thread for one query (a per-thread setting, so builds keep every core): flat
    # search over 100k vectors took 10 ms p50 with two threads and 6 ms with one.
    faiss.omp_set_num_threads(1)
    if allowed is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = index.dense.search(query, depth, params=params)
    else:
        scores, ids = index.dense.search(query, depth)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def lexical_search(index: LoadedIndex, question: str, depth: int,
                   allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Top chunks by BM25 over stemmed terms, as (position, score); zero scores dropped."""
    vocabulary = index.bm25.vocab_dict
    query = [t for t in terms(question, drop_question_words=True) if t in vocabulary]
    if not query or not len(index.chunks):
        return []
    scores = index.bm25.get_scores(query)
    if allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[allowed] = True
        scores = np.where(mask, scores, 0.0)
    depth = min(depth, len(scores))
    top = np.argpartition(-scores, depth - 1)[:depth]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def retrieve(index: LoadedIndex, question: str, query_vector: np.ndarray | None, k: int,
             mode: RetrievalMode = System.HYBRID, doc_filter: Collection[str] | None = None,
             weights: tuple[float, float] = (1.0, 1.0), timings: dict[str, float] | None = None,
             fusion: FusionMethod = "scores") -> list[RetrievedChunk]:
    """The ``k`` best chunks for a question in the given mode, with ranks from each retriever.

    ``weights`` are the (dense, lexical) weights of hybrid mode's ``fusion`` (``fuse``);
    ``timings`` (if given) receives the milliseconds of each stage.
    """
    depth = max(CANDIDATE_DEPTH, 4 * k)
    if index.backend is not None:  # another engine (index/backends.py) answers all three searches at once
        query_terms = terms(question, drop_question_words=True) if mode != "dense" else []
        fuse_here = None if fusion == "rrf" else (lambda d, lex: fuse(d, lex, weights, fusion, depth))
        return index.backend.retrieve(index, query_terms, query_vector, k, depth, mode, doc_filter, weights, timings,
                                      fuse_here)
    clock = time.perf_counter()
    allowed = allowed_chunks(index, doc_filter)
    dense = dense_search(index, query_vector, depth, allowed) if mode != "bm25" and query_vector is not None else []
    after_dense = time.perf_counter()
    lexical = lexical_search(index, question, depth, allowed) if mode != "dense" else []
    after_lexical = time.perf_counter()
    if mode == "dense":
        fused = dense
    elif mode == "bm25":
        fused = lexical
    else:
        fused = fuse(dense, lexical, weights, fusion, depth)
    results = ranked_chunks(index.chunks, fused, dense, lexical, k)
    if timings is not None:
        timings["dense_search_ms"] = (after_dense - clock) * 1000
        timings["lexical_search_ms"] = (after_lexical - after_dense) * 1000
        timings["fusion_ms"] = (time.perf_counter() - after_lexical) * 1000
    return results


def fuse(dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], weights: tuple[float, float],
         fusion: FusionMethod, depth: int) -> list[tuple[int, float]]:
    """Hybrid mode's fused (position, score) list from the dense and lexical ones (each searched ``depth``
    deep), best first."""
    if fusion == "rrf":
        return reciprocal_rank_fusion([[p for p, _ in dense], [p for p, _ in lexical]], weights=list(weights))
    return score_fusion([dense, lexical], weights=list(weights), depth=depth)
