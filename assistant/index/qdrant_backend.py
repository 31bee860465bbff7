"""Chunk search in Qdrant: a server or cluster by URL, or its local mode (``:memory:`` or a folder).

One collection per index version, named ``<collection>-<version folder>`` and reached through the
alias ``<collection>``, holds one point per chunk (point id = the chunk's position in ``chunks.jsonl``):

- ``dense``: the chunk vector (the same normalised vector as ``dense.faiss``), dot product;
- ``bm25``: a sparse vector of BM25-saturated term frequencies ``tf / (tf + k1 (1 - b + b dl/avgdl))``
  over the same terms (``assistant.lexical.terms``), k1 and b as the bm25s index, term ids from its
  vocabulary; Qdrant multiplies by IDF (``modifier=IDF``: ln(1 + (N - df + 0.5) / (df + 0.5))), so a
  score equals bm25s's Lucene BM25;
- payload: doc_id, chunk_id, heading, text, start, end, sentence_ids.

A question is one ``query_batch_points`` call: the dense list, the sparse list and their RRF fusion
(``Rrf(k=61)``: Qdrant counts ranks from 0, so it scores like our k=60 from 1). The collection's metadata
names the model, dimension, tokenizer version and index version; a collection that differs is refused.
A new version is uploaded into a new collection and only then does the alias move, so a failed
upload leaves the previous collection serving; older collections (but the one just replaced) are dropped.

Just over 300 lines: one client's whole contract (collection layout, upload, alias switch, one-request
hybrid search, the errors it names) reads best in one place.
"""

from __future__ import annotations

import atexit
import time
import warnings
from collections import Counter
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.index.backend_types import BackendError, ranked_chunks
from assistant.lexical import terms
from assistant.models import Chunk, RetrievalMode, RetrievedChunk

if TYPE_CHECKING:
    from assistant.index.store import LoadedIndex

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 61  # Qdrant ranks from 0: 1 / (61 + rank0) == 1 / (60 + rank), our RRF_K in answer/scoring.py
TOKENIZER_VERSION = 1  # raise when assistant.lexical.terms changes the terms it yields
UPLOAD_BATCH = 256
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


def _call(location: str, what: str, action: Callable[[], T]) -> T:
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


def chunk_terms(chunk: Chunk) -> list[str]:
    """The terms BM25 indexes for a chunk: exactly what ``index/build.py`` gives bm25s."""
    return terms(f"{chunk.heading}\n{chunk.text}") or [""]


def bm25_sparse(token_lists: list[list[str]], vocabulary: dict[str, int], k1: float, b: float
                ) -> list[tuple[list[int], list[float]]]:
    """Per document, (term ids, BM25-saturated term frequencies) as bm25s's Lucene variant computes
    them: ``tf / (tf + k1 (1 - b + b dl / avgdl))``; Qdrant's IDF modifier supplies the IDF factor."""
    if not token_lists:
        return []
    lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.float64)
    average = float(lengths.mean()) or 1.0
    extra: dict[str, int] = {}
    vectors = []
    for tokens, length in zip(token_lists, lengths):
        norm = k1 * (1 - b + b * length / average)
        ids, values = [], []
        for term, tf in sorted(Counter(tokens).items()):
            term_id = vocabulary.get(term)
            if term_id is None:  # not in the bm25s vocabulary (never for our own build): a fresh id
                term_id = extra.setdefault(term, len(vocabulary) + len(extra))
            ids.append(int(term_id))
            values.append(tf / (tf + norm))
        vectors.append((ids, values))
    return vectors


def expected_metadata(index: LoadedIndex) -> dict[str, object]:
    """What a collection built for this index version must say about itself."""
    return {"index_version": index.path.name, "model": index.manifest.model, "dimension": index.manifest.dimension,
            "tokenizer_version": TOKENIZER_VERSION, "chunks": len(index.chunks),
            "bm25": f"lucene k1={index.bm25.k1} b={index.bm25.b}"}


def metadata_mismatch(found: dict[str, object], expected: dict[str, object]) -> str | None:
    """The first field that differs, as words, else None."""
    for key in ("model", "dimension", "tokenizer_version", "bm25", "index_version", "chunks"):
        if found.get(key) != expected[key]:
            return f"{key} {found.get(key)!r} (this index: {expected[key]!r})"
    return None


class QdrantBackend:
    """Searches one index version's collection; see the module docstring."""

    name = "qdrant"

    def __init__(self, client: QdrantClient, location: str, collection: str) -> None:
        self.client = client
        self.location = location
        self.collection = collection

    def retrieve(self, index: LoadedIndex, question_terms: list[str], query_vector: np.ndarray | None, k: int,
                 depth: int, mode: RetrievalMode, doc_filter: Collection[str] | None,
                 weights: tuple[float, float], timings: dict[str, float] | None) -> list[RetrievedChunk]:
        clock = time.perf_counter()
        where = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=sorted(doc_filter)))]
                              ) if doc_filter else None
        vocabulary = index.bm25.vocab_dict
        counts = Counter(t for t in question_terms if t in vocabulary)
        sparse = models.SparseVector(indices=[int(vocabulary[t]) for t in counts],
                                     values=[float(c) for c in counts.values()]) if counts and mode != "dense" else None
        dense = [float(x) for x in np.asarray(query_vector, dtype=np.float32).ravel()] \
            if query_vector is not None and mode != "bm25" else None
        searches = [(DENSE, dense), (SPARSE, sparse)]
        requests = [models.QueryRequest(query=q, using=using, limit=depth, filter=where, with_payload=False)
                    for using, q in searches if q is not None]
        prefetch = [models.Prefetch(query=q, using=using, limit=depth, filter=where) for using, q in searches
                    if q is not None]
        if mode == "hybrid" and prefetch:
            rrf = models.Rrf(k=RRF_K, weights=None if weights == (1.0, 1.0) else
                             [w for (_, q), w in zip(searches, weights) if q is not None])
            requests.append(models.QueryRequest(prefetch=prefetch, query=models.RrfQuery(rrf=rrf), limit=k,
                                                with_payload=False))
        responses = _call(self.location, f"searching collection {self.collection}",
                          lambda: self.client.query_batch_points(self.collection, requests)) if requests else []
        answered = time.perf_counter()
        lists = iter(responses)
        dense_hits = [(int(p.id), float(p.score)) for p in next(lists).points] if dense is not None else []
        lexical_hits = [(int(p.id), float(p.score)) for p in next(lists).points] if sparse is not None else []
        if mode == "dense":
            fused = dense_hits
        elif mode == "bm25":
            fused = lexical_hits
        else:
            fused = [(int(p.id), float(p.score)) for p in next(lists).points] if prefetch else []
            # Equal fused scores in the order of first appearance (dense list first), as our RRF does.
            first_seen = {pos: i for i, (pos, _) in reversed(list(enumerate(dense_hits + lexical_hits)))}
            fused.sort(key=lambda hit: (-hit[1], first_seen.get(hit[0], len(first_seen))))
        results = ranked_chunks(index.chunks, fused, dense_hits, lexical_hits, k)
        if timings is not None:  # one request answers all three searches
            timings["dense_search_ms"] = (answered - clock) * 1000
            timings["lexical_search_ms"] = 0.0
            timings["fusion_ms"] = (time.perf_counter() - answered) * 1000
        return results


def _points(index: LoadedIndex, start: int, stop: int, vectors: np.ndarray,
            sparse: list[tuple[list[int], list[float]]]) -> list[models.PointStruct]:
    points = []
    for pos in range(start, stop):
        chunk = index.chunks[pos]
        ids, values = sparse[pos]
        points.append(models.PointStruct(
            id=pos,
            vector={DENSE: vectors[pos].tolist(), SPARSE: models.SparseVector(indices=ids, values=values)},
            payload={"doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "heading": chunk.heading,
                     "text": chunk.text, "start": chunk.start, "end": chunk.end,
                     "sentence_ids": list(chunk.sentence_ids)}))
    return points


def publish(client: QdrantClient, location: str, name: str, index: LoadedIndex) -> None:
    """Create collection ``name`` and upload every chunk of ``index`` into it."""
    bm25 = index.bm25
    if getattr(bm25, "method", "lucene") != "lucene":
        raise BackendError(f"the bm25s index uses method {bm25.method!r}; the qdrant backend mirrors 'lucene' only")
    count = len(index.chunks)
    vectors = index.dense.reconstruct_n(0, index.dense.ntotal) if index.dense.ntotal else \
        np.zeros((0, index.manifest.dimension), np.float32)
    sparse = bm25_sparse([chunk_terms(c) for c in index.chunks], bm25.vocab_dict, float(bm25.k1), float(bm25.b))
    _call(location, f"creating collection {name}", lambda: client.create_collection(
        name, vectors_config={DENSE: models.VectorParams(size=index.manifest.dimension, distance=models.Distance.DOT)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        metadata=expected_metadata(index)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode: "payload indexes have no effect"
        _call(location, f"indexing doc_id in {name}", lambda: client.create_payload_index(
            name, "doc_id", models.PayloadSchemaType.KEYWORD))
    for start in range(0, count, UPLOAD_BATCH):
        batch = _points(index, start, min(count, start + UPLOAD_BATCH), vectors, sparse)
        _call(location, f"uploading chunks to {name}", lambda: client.upsert(name, points=batch, wait=True))


def _alias_target(client: QdrantClient, location: str, alias: str) -> str | None:
    aliases = _call(location, "listing aliases", client.get_aliases).aliases
    return next((a.collection_name for a in aliases if a.alias_name == alias), None)


def _switch_alias(client: QdrantClient, location: str, alias: str, name: str) -> None:
    """Point ``alias`` at ``name`` (one atomic request), then drop older versions but the replaced one."""
    previous = _alias_target(client, location, alias)
    if previous == name:
        return
    operations: list[models.AliasOperations] = []
    if previous is not None:
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=name, alias_name=alias)))
    _call(location, f"pointing alias {alias} at {name}",
          lambda: client.update_collection_aliases(change_aliases_operations=operations))
    existing = _call(location, "listing collections", client.get_collections).collections
    for collection in existing:
        if collection.name.startswith(f"{alias}-v-") and collection.name not in (name, previous):
            _call(location, f"deleting old collection {collection.name}",
                  lambda: client.delete_collection(collection.name))


def open_qdrant_backend(index: LoadedIndex, location: str, api_key: str | None, alias: str,
                        create: bool = False) -> QdrantBackend:
    """The backend for this index version's collection, built first when missing and ``create`` (or
    ``:memory:``). Refuses a collection built from other data with one line naming the difference."""
    client = connect(location, api_key)
    name = f"{alias}-{index.path.name}"
    expected = expected_metadata(index)
    if _call(location, f"looking up collection {name}", lambda: client.collection_exists(name)):
        info = _call(location, f"reading collection {name}", lambda: client.get_collection(name))
        problem = metadata_mismatch(dict(info.config.metadata or {}), expected)
        if problem:
            raise BackendError(f"Qdrant collection {name} at {location} was built from other data: {problem}; "
                               f"delete it or set ASSISTANT_QDRANT_COLLECTION to another name")
        points = _call(location, f"counting points in {name}", lambda: client.count(name, exact=True).count)
        if points != len(index.chunks):  # an upload that stopped halfway
            if not (create or location == ":memory:"):
                raise BackendError(f"Qdrant collection {name} at {location} is incomplete ({points} of "
                                   f"{len(index.chunks)} chunks); rebuild it with `assistant index --backend qdrant`")
            _call(location, f"deleting incomplete collection {name}", lambda: client.delete_collection(name))
            publish(client, location, name, index)
    elif create or location == ":memory:":
        publish(client, location, name, index)
    else:
        raise BackendError(f"Qdrant at {location} has no collection {name} for index {index.path.name}; "
                           "build it with `assistant index --backend qdrant`")
    _switch_alias(client, location, alias, name)
    return QdrantBackend(client, location, name)
