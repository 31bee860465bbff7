"""Chunk search in Qdrant: a server or cluster by URL, or its local mode (``:memory:`` or a folder).

A collection (kept up to date by ``qdrant_sync``, reached through the alias ``<collection>``) holds
one point per chunk:

- ``dense``: the chunk vector (the same normalised vector as ``dense.faiss``), dot product;
- ``bm25``: a sparse vector of BM25-saturated term frequencies ``tf / (tf + k1 (1 - b + b dl/avgdl))``
  over the same terms (``assistant.lexical.terms``), k1 and b as the bm25s index; a term's id is a
  32-bit hash of the term (``term_id``), the same in every index version, so an update never renumbers
  the points it keeps. Qdrant multiplies by IDF (``modifier=IDF``: ln(1 + (N - df + 0.5) / (df + 0.5))),
  so a score equals bm25s's Lucene BM25;
- payload: doc_id, chunk_id, seq (the chunk's number within its document), heading, text, start, end.

A question is one ``query_batch_points`` call: the dense list and the sparse list, which the answering
stage's fusion (by score, the default) combines here; with ``fusion=rrf`` the same request also asks for
Qdrant's RRF fusion (``Rrf(k=61)``: Qdrant counts ranks from 0, so it scores like our k=60 from 1). A hit becomes a chunk
of the loaded index version through its payload (doc_id, seq), not its point id: point ids name a
chunk's content (``qdrant_sync.point_id``), positions belong to one version. A hit that the version
does not hold (a point an update is adding right now) is skipped.
"""

from __future__ import annotations

import atexit
import hashlib
import time
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.index.backend_types import BackendError, Fuse, ranked_chunks
from assistant.models import RetrievalMode, RetrievedChunk

if TYPE_CHECKING:
    from assistant.index.store import LoadedIndex

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 61  # Qdrant ranks from 0: 1 / (61 + rank0) == 1 / (60 + rank), our RRF_K in answer/scoring.py
TOKENIZER_VERSION = 1  # raise when assistant.lexical.terms changes the terms it yields
TERM_IDS = "blake2b-32"  # how term_id numbers terms; part of a collection's metadata
HIT_PAYLOAD = ["doc_id", "seq"]  # what a search reads back to find a hit's chunk
TIMEOUT_S = 10

T = TypeVar("T")

_CLIENTS: dict[tuple[str, str | None], QdrantClient] = {}


def _reason(exc: BaseException) -> str:
    """The most specific one-line reason in an exception chain."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        inner = exc.__cause__ or exc.__context__
        assert inner is not None
        if not str(inner).strip():
            break
        exc = inner
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def call(location: str, what: str, action: Callable[[], T]) -> T:
    """Run one client call; any failure becomes a one-line BackendError naming what and where."""
    try:
        return action()
    except BackendError:
        raise
    except Exception as exc:
        raise _failure(location, exc, f"Qdrant at {location}: {what} failed") from exc


def _failure(location: str, exc: Exception, prefix: str) -> BackendError:
    """One line for a failed call: a refused API key by name, anything else after ``prefix``."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return BackendError(f"Qdrant at {location} refused the API key (HTTP {status}); check ASSISTANT_QDRANT_API_KEY")
    return BackendError(f"{prefix}: {_reason(exc)}")


def connect(location: str, api_key: str | None = None) -> QdrantClient:
    """A client for ``location`` (``:memory:``, a folder, or an http(s) URL), checked with one call.
    Clients are kept per location: a ``:memory:`` store lives as long as its client, and a local
    folder may be opened by one client at a time."""
    key = (location, api_key)
    if key in _CLIENTS:
        return _CLIENTS[key]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "api key used with an insecure connection"
            if location == ":memory:":
                client = QdrantClient(location=":memory:")
            elif location.startswith(("http://", "https://")):
                client = QdrantClient(url=location, api_key=api_key, timeout=TIMEOUT_S, check_compatibility=False)
            else:
                client = QdrantClient(path=location)
    except Exception as exc:
        raise BackendError(f"cannot open Qdrant at {location}: {_reason(exc)}") from exc
    try:
        client.get_collections()
    except Exception as exc:
        raise _failure(location, exc, f"cannot reach Qdrant at {location}") from exc
    _CLIENTS[key] = client
    return client


def forget_client(location: str, api_key: str | None = None) -> None:
    """Close and drop a kept client (tests; a local folder can then be opened again)."""
    client = _CLIENTS.pop((location, api_key), None)
    if client is not None:
        client.close()


@atexit.register
def _close_clients() -> None:
    """Close kept clients before shutdown: a local folder's client closed by its ``__del__`` during
    interpreter teardown prints an ImportError traceback."""
    for key in list(_CLIENTS):
        forget_client(*key)


def term_id(term: str) -> int:
    """The sparse index of a term: the first 4 bytes of its BLAKE2b hash (Qdrant's indices are u32).
    Stable across index versions, unlike the bm25s vocabulary's numbering."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=4).digest(), "big")


def sparse_vector(weights: Iterable[tuple[str, float]]) -> models.SparseVector:
    """A sparse vector from (term, weight) pairs; terms whose ids collide add up (Qdrant refuses a
    repeated index)."""
    summed: dict[int, float] = {}
    for term, weight in weights:
        key = term_id(term)
        summed[key] = summed.get(key, 0.0) + float(weight)
    ordered = sorted(summed.items())
    return models.SparseVector(indices=[i for i, _ in ordered], values=[v for _, v in ordered])


def document_spans(index: LoadedIndex) -> dict[str, tuple[int, int]]:
    """Document id to (position of its first chunk, number of chunks): chunks follow their documents."""
    rows = np.asarray(index.chunk_doc)
    order = np.arange(len(index.doc_ids))
    starts, ends = np.searchsorted(rows, order, side="left"), np.searchsorted(rows, order, side="right")
    return {doc: (int(s), int(e - s)) for doc, s, e in zip(index.doc_ids, starts, ends)}


class QdrantBackend:
    """Searches one collection for one loaded index version; see the module docstring."""

    name = "qdrant"

    def __init__(self, client: QdrantClient, location: str, collection: str) -> None:
        self.client = client
        self.location = location
        self.collection = collection
        self._spans: tuple[str, dict[str, tuple[int, int]]] | None = None  # (index version, document_spans)

    def positions(self, index: LoadedIndex, points: Sequence[Any]) -> list[tuple[int, float]]:
        """(chunk position in ``index``, score) of each hit, in order; hits that ``index`` does not
        hold are skipped, and a position seen twice keeps its first (best) score."""
        if self._spans is None or self._spans[0] != index.path.name:
            self._spans = (index.path.name, document_spans(index))
        spans = self._spans[1]
        hits: list[tuple[int, float]] = []
        seen: set[int] = set()
        for point in points:
            payload = point.payload or {}
            first, count = spans.get(payload.get("doc_id"), (0, 0))
            seq = payload.get("seq")
            if isinstance(seq, int) and 0 <= seq < count and first + seq not in seen:
                seen.add(first + seq)
                hits.append((first + seq, float(point.score)))
        return hits

    def retrieve(self, index: LoadedIndex, question_terms: list[str], query_vector: np.ndarray | None, k: int,
                 depth: int, mode: RetrievalMode, doc_filter: Collection[str] | None,
                 weights: tuple[float, float], timings: dict[str, float] | None,
                 fuse: Fuse | None = None) -> list[RetrievedChunk]:
        clock = time.perf_counter()
        where = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=sorted(doc_filter)))]
                              ) if doc_filter else None
        vocabulary = index.bm25.vocab_dict  # the terms bm25s knows: the same query as the local backend
        counts = Counter(t for t in question_terms if t in vocabulary)
        sparse = sparse_vector(counts.items()) if counts and mode != "dense" else None
        dense = [float(x) for x in np.asarray(query_vector, dtype=np.float32).ravel()] \
            if query_vector is not None and mode != "bm25" else None
        searches = [(DENSE, dense), (SPARSE, sparse)]
        requests = [models.QueryRequest(query=q, using=using, limit=depth, filter=where, with_payload=HIT_PAYLOAD)
                    for using, q in searches if q is not None]
        prefetch = [models.Prefetch(query=q, using=using, limit=depth, filter=where) for using, q in searches
                    if q is not None]
        if mode == "hybrid" and prefetch and fuse is None:
            rrf = models.Rrf(k=RRF_K, weights=None if weights == (1.0, 1.0) else
                             [w for (_, q), w in zip(searches, weights) if q is not None])
            requests.append(models.QueryRequest(prefetch=prefetch, query=models.RrfQuery(rrf=rrf), limit=k,
                                                with_payload=HIT_PAYLOAD))
        responses = call(self.location, f"searching collection {self.collection}",
                          lambda: self.client.query_batch_points(self.collection, requests)) if requests else []
        answered = time.perf_counter()
        lists = iter(responses)
        dense_hits = self.positions(index, next(lists).points) if dense is not None else []
        lexical_hits = self.positions(index, next(lists).points) if sparse is not None else []
        if mode == "dense":
            fused = dense_hits
        elif mode == "bm25":
            fused = lexical_hits
        elif fuse is not None:  # fused here, from the two lists the same request returned
            fused = fuse(dense_hits, lexical_hits)
        else:
            fused = self.positions(index, next(lists).points) if prefetch else []
            # Equal fused scores in the order of first appearance (dense list first), as our RRF does.
            first_seen = {pos: i for i, (pos, _) in reversed(list(enumerate(dense_hits + lexical_hits)))}
            fused.sort(key=lambda hit: (-hit[1], first_seen.get(hit[0], len(first_seen))))
        results = ranked_chunks(index.chunks, fused, dense_hits, lexical_hits, k)
        if timings is not None:  # one request answers all three searches
            timings["dense_search_ms"] = (answered - clock) * 1000
            timings["lexical_search_ms"] = 0.0
            timings["fusion_ms"] = (time.perf_counter() - answered) * 1000
        return results
