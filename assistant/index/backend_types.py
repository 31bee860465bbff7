"""The types of the retrieval backend seam (see ``backends``): what a backend must do, and its error.

Imported by ``store`` (``LoadedIndex.backend``) and by each backend; imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal, Protocol

import numpy as np

from assistant.errors import AssistantError
from assistant.models import Chunk, RetrievalMode, RetrievedChunk

# ``index`` below is a ``store.LoadedIndex``; not imported here, as store imports this module.

BackendName = Literal["local", "qdrant"]
BACKENDS: tuple[BackendName, ...] = ("local", "qdrant")


class BackendError(AssistantError):
    """The search backend cannot be reached, refuses us, or lacks the collection (exit code 2).

    Not an ``IndexError_``: an unreachable server must not make ``ensure_index`` rebuild the local index.
    """

    exit_code = 2


# Hybrid fusion handed down by the answering stage: (dense, lexical) (position, score) lists -> fused, best first.
Fuse = Callable[[list[tuple[int, float]], list[tuple[int, float]]], list[tuple[int, float]]]


class SearchBackend(Protocol):
    """A search engine outside the index folder that ranks an index's chunks."""

    name: str

    def retrieve(self, index: Any, question_terms: list[str], query_vector: np.ndarray | None, k: int,
                 depth: int, mode: RetrievalMode, doc_filter: Collection[str] | None,
                 weights: tuple[float, float], timings: dict[str, float] | None,
                 fuse: Fuse | None = None) -> list[RetrievedChunk]:
        """The ``k`` best chunks with their dense and lexical ranks, like ``answer.retrieval.retrieve``
        (each retriever looks ``depth`` deep). Hybrid mode fuses the two (position, score) lists with
        ``fuse`` when given (the answering stage's fusion), else by the engine's weighted reciprocal rank."""
        ...


def ranked_chunks(chunks: Sequence[Chunk], fused: Sequence[tuple[int, float]], dense: Sequence[tuple[int, float]],
                  lexical: Sequence[tuple[int, float]], k: int) -> list[RetrievedChunk]:
    """The first ``k`` of ``fused`` (position, score) as RetrievedChunk, each with its rank (from 1) and score
    in the ``dense`` and ``lexical`` lists, or 0 where it is not in one."""
    dense_info = {pos: (rank, score) for rank, (pos, score) in enumerate(dense, 1)}
    lexical_info = {pos: (rank, score) for rank, (pos, score) in enumerate(lexical, 1)}
    results = []
    for rank, (pos, score) in enumerate(fused[:k], 1):
        d_rank, d_score = dense_info.get(pos, (0, 0.0))
        l_rank, l_score = lexical_info.get(pos, (0, 0.0))
        results.append(RetrievedChunk(chunk=chunks[pos], score=score, rank=rank, position=pos, dense_rank=d_rank,
                                      dense_score=d_score, lexical_rank=l_rank, lexical_score=l_score))
    return results
