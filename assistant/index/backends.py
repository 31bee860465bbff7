"""The retrieval backend seam: which engine finds a question's chunks.

- ``local`` (the default): FAISS + bm25s files in the index folder, searched in this process by
  ``answer/retrieval.py`` exactly as before; ``LoadedIndex.backend`` is None.
- ``qdrant``: one Qdrant collection holds each chunk's dense vector, its BM25 sparse vector (our
  tokenizer, IDF by Qdrant) and its payload; the dense and sparse lists come back in one
  request and are fused as the local ones are (``qdrant_backend``). ``ASSISTANT_QDRANT_URL`` is ``:memory:``, a folder (Qdrant's local
  mode, the same client API) or ``http(s)://`` a server or cluster, with ``ASSISTANT_QDRANT_API_KEY``.

Texts, sentences and sentence vectors stay in the index folder on the answering machine either way
(answering reads them row by row); only the chunk search moves. Everything above the seam (answering,
judge, checker, eval) gets the same ``RetrievedChunk`` values from ``retrieve``.

qdrant-client is imported only when the qdrant backend is chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.index.backend_types import BACKENDS, BackendError, BackendName, SearchBackend

if TYPE_CHECKING:
    from assistant.index.store import LoadedIndex
    from assistant.settings import Settings

__all__ = ["BACKENDS", "BackendError", "BackendName", "SearchBackend", "attach_backend", "check_backend"]


def _api_key(settings: Settings) -> str | None:
    return settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None


def check_backend(settings: Settings) -> None:
    """Reach the settings' backend once (BackendError naming it when it cannot be reached or refuses
    the API key): a build calls it before it writes anything, so a bad URL leaves the index as it was."""
    if settings.backend == "local":
        return
    from assistant.index.qdrant_backend import connect

    connect(settings.qdrant_url, _api_key(settings))


def attach_backend(index: LoadedIndex | None, settings: Settings, create: bool = False) -> LoadedIndex | None:
    """Give a loaded index the backend the settings choose (none for ``local``).

    ``create``: build the backend's copy of this index version when it is missing (``assistant index``,
    a rebuild); otherwise a missing collection is a ``BackendError`` naming it. In ``:memory:`` mode the
    collection is always built on demand (the store lives only as long as this process).
    """
    if index is None:
        return None
    if settings.backend == "local":
        index.backend = None
        return index
    from assistant.index.qdrant_sync import open_qdrant_backend

    index.backend = open_qdrant_backend(index, settings.qdrant_url, _api_key(settings), settings.qdrant_collection,
                                        create=create)
    return index
