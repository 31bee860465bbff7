"""The types of the retrieval backend seam (see ``backends``): what a backend must do, and its error.

Imported by ``store`` (``LoadedIndex.backend``) and by each backend; imports neither.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal, Protocol

import numpy as np

from assistant.errors import AssistantError
from assistant.models import RetrievalMode, RetrievedChunk

# ``index`` below is a ``store.LoadedIndex``; not imported here, as store imports this module.

BackendName = Literal["local", "qdrant"]
BACKENDS: tuple[BackendName, ...] = ("local", "qdrant")


class BackendError(AssistantError):
    """The search backend cannot be reached, refuses us, or lacks the collection (exit code 2).

    Not an ``IndexError_``: an unreachable server must not make ``ensure_index`` rebuild the local index.
    """

    exit_code = 2


class SearchBackend(Protocol):
    """A search engine outside the index folder that ranks an index's chunks."""

    name: str

    def retrieve(self, index: Any, question_terms: list[str], query_vector: np.ndarray | None, k: int,
                 depth: int, mode: RetrievalMode, doc_filter: Collection[str] | None,
                 weights: tuple[float, float], timings: dict[str, float] | None) -> list[RetrievedChunk]:
        """The ``k`` best chunks with their dense and lexical ranks, like ``answer.retrieval.retrieve``
        (each retriever looks ``depth`` deep; hybrid fuses them by weighted reciprocal rank)."""
        ...
