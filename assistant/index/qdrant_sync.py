"""Bringing a Qdrant collection to an index version: in place, point by point, or in full into a new one.

A point's id names its chunk's content (``point_id``: doc_id, chunk_id, seq, heading, text, offsets
and dense vector), so a chunk that two index versions share keeps its point, and adding, changing or
removing a document changes only its own chunks' points. ``open_qdrant_backend`` picks the collection:

- serving (``ask``, ``serve``, ``eval``): the alias's collection, else ``<alias>-<version>``, when its
  metadata names this index version and it is complete; otherwise one line says what differs (exit 2);
- building (``assistant index``, an upload, a removal: ``create``): the alias's collection is updated
  in place when it was built with the same model, dimension, tokenizer and BM25 settings, its BM25
  average length is within AVGDL_TOLERANCE of this version's, and at most INCREMENTAL_MAX_SHARE of the
  points change. Otherwise the version is uploaded in full into a new collection ``<alias>-<version>``
  and only then does the alias move: a failed upload leaves the previous collection serving.

An update in place lists the collection's point ids (one ids-only scroll), marks ``updating_to`` in its
metadata, reads the points it will delete, upserts the chunks the collection lacks, deletes the points
this version lacks, and only then writes the version into the metadata. If a call fails, it puts the
collection back (deletes what it added, re-upserts what it deleted) and so the previous version keeps
serving; if that fails too, the mark stays, serving processes refuse the collection by name, and the
next build repairs it (the diff is taken from what the collection holds). While an update runs, a
process serving the previous version can meet the points being added (skipped: not in its version)
and IDF counts that include them. Finding the diff is linear in the collection (every chunk hashed,
every id listed) but uploads only what changed.

BM25's average chunk length (avgdl) is part of every saturated term frequency. A collection keeps the
avgdl it was built with (metadata ``avgdl``) and points added later use it, so unchanged points need
no rewrite; bm25s uses the current avgdl. The gap is bounded by AVGDL_TOLERANCE: past it, the update is
a full rebuild (see the README for the measured effect on COVID-QA).

Just over 300 lines: the diff, its undo and the full upload share one point layout (``Plan``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.index.backend_types import BackendError
from assistant.index.qdrant_backend import (
    DENSE,
    SPARSE,
    TERM_IDS,
    TOKENIZER_VERSION,
    QdrantBackend,
    call,
    connect,
    document_spans,
    sparse_vector,
)
from assistant.lexical import terms
from assistant.models import Chunk

if TYPE_CHECKING:
    from assistant.index.store import LoadedIndex

UPLOAD_BATCH = 256  # points per upsert, ids per delete or read
SCROLL_BATCH = 4096  # ids per page when listing a collection
AVGDL_TOLERANCE = 0.005  # relative avgdl drift an update in place may leave (see the module docstring)
INCREMENTAL_MAX_SHARE = 0.5  # more changed points than this share of the version: a full rebuild
COMPATIBLE = ("model", "dimension", "tokenizer_version", "bm25")  # differ: the collection cannot be updated
REBUILD = "`assistant index --backend qdrant`"

log = logging.getLogger(__name__)


def chunk_terms(chunk: Chunk) -> list[str]:
    """The terms BM25 indexes for a chunk: exactly what ``index/build.py`` gives bm25s."""
    return terms(f"{chunk.heading}\n{chunk.text}") or [""]


def saturated_tf(tokens: list[str], k1: float, b: float, avgdl: float) -> list[tuple[str, float]]:
    """(term, BM25-saturated term frequency) as bm25s's Lucene variant computes it:
    ``tf / (tf + k1 (1 - b + b dl / avgdl))``; Qdrant's IDF modifier supplies the IDF factor."""
    norm = k1 * (1 - b + b * len(tokens) / (avgdl or 1.0))
    return [(term, tf / (tf + norm)) for term, tf in sorted(Counter(tokens).items())]


def point_id(chunk: Chunk, seq: int, vector: np.ndarray) -> str:
    """The point id of a chunk: a UUID from the hash of everything its point holds but the sparse
    vector, which follows from the text and the collection's BM25 settings."""
    key = json.dumps([chunk.doc_id, chunk.chunk_id, seq, chunk.heading, chunk.text, chunk.start, chunk.end],
                     ensure_ascii=False).encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key + np.asarray(vector, dtype="<f4").tobytes(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest))


@dataclass
class Plan:
    """What a collection holding an index version holds: each chunk's point id and seq, and avgdl."""

    ids: list[str]
    seqs: list[int]
    avgdl: float


def plan(index: LoadedIndex) -> Plan:
    """Point ids, seqs and the BM25 average chunk length of ``index`` (reads every chunk once)."""
    spans = document_spans(index)
    ids: list[str] = []
    seqs: list[int] = []
    lengths: list[int] = []
    for start in range(0, len(index.chunks), SCROLL_BATCH):
        chunks = index.chunks[start:start + SCROLL_BATCH]
        vectors = index.dense.reconstruct_n(start, len(chunks))
        for offset, chunk in enumerate(chunks):
            seq = start + offset - spans[chunk.doc_id][0]
            ids.append(point_id(chunk, seq, vectors[offset]))
            seqs.append(seq)
            lengths.append(len(chunk_terms(chunk)))
    return Plan(ids, seqs, float(np.mean(lengths)) if lengths else 1.0)


def expected_metadata(index: LoadedIndex) -> dict[str, object]:
    """What a collection holding this index version says about itself (``avgdl`` aside)."""
    return {"index_version": index.path.name, "model": index.manifest.model, "dimension": index.manifest.dimension,
            "tokenizer_version": TOKENIZER_VERSION, "chunks": len(index.chunks),
            "bm25": f"lucene k1={index.bm25.k1} b={index.bm25.b} terms={TERM_IDS}"}


def metadata_mismatch(found: dict[str, Any], expected: dict[str, object],
                      keys: Sequence[str] = COMPATIBLE) -> str | None:
    """The first of ``keys`` that differs, as words, else None."""
    for key in keys:
        if found.get(key) != expected[key]:
            return f"{key} {found.get(key)!r} (this index: {expected[key]!r})"
    return None


def _metadata(client: QdrantClient, location: str, name: str) -> dict[str, Any]:
    info = call(location, f"reading collection {name}", lambda: client.get_collection(name))
    return dict(info.config.metadata or {})


def serving_problem(client: QdrantClient, location: str, name: str, expected: dict[str, object]) -> str | None:
    """Why collection ``name`` cannot serve the index version ``expected`` describes, else None."""
    found = _metadata(client, location, name)
    problem = metadata_mismatch(found, expected)
    if problem:
        return f"was built from other data: {problem}; rebuild it with {REBUILD} or set " \
               "ASSISTANT_QDRANT_COLLECTION to another name"
    if found.get("updating_to"):
        return f"is being updated to index {found['updating_to']}, or an update stopped halfway; finish it " \
               f"with {REBUILD}"
    if found.get("index_version") != expected["index_version"]:
        return f"holds index {found.get('index_version')} (this index: {expected['index_version']}); " \
               f"update it with {REBUILD}"
    points = call(location, f"counting points in {name}", lambda: client.count(name, exact=True).count)
    if points != expected["chunks"]:
        return f"is incomplete ({points} of {expected['chunks']} chunks); rebuild it with {REBUILD}"
    return None


def _upsert(client: QdrantClient, location: str, name: str, index: LoadedIndex, layout: Plan, avgdl: float,
            positions: Sequence[int]) -> None:
    """Upload the chunks at ``positions`` (sparse vectors with the collection's ``avgdl``)."""
    k1, b = float(index.bm25.k1), float(index.bm25.b)
    for start in range(0, len(positions), UPLOAD_BATCH):
        batch = positions[start:start + UPLOAD_BATCH]
        points = []
        for pos in batch:
            chunk = index.chunks[pos]
            points.append(models.PointStruct(
                id=layout.ids[pos],
                vector={DENSE: index.dense.reconstruct(int(pos)).tolist(),
                        SPARSE: sparse_vector(saturated_tf(chunk_terms(chunk), k1, b, avgdl))},
                payload={"doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "seq": layout.seqs[pos],
                         "heading": chunk.heading, "text": chunk.text, "start": chunk.start, "end": chunk.end}))
        call(location, f"uploading chunks to {name}", lambda: client.upsert(name, points=points, wait=True))


def _delete(client: QdrantClient, location: str, name: str, ids: Sequence[str]) -> None:
    for start in range(0, len(ids), UPLOAD_BATCH):
        selector = models.PointIdsList(points=list(ids[start:start + UPLOAD_BATCH]))
        call(location, f"deleting chunks from {name}", lambda: client.delete(name, points_selector=selector, wait=True))


def _set_metadata(client: QdrantClient, location: str, name: str, values: dict[str, Any]) -> None:
    call(location, f"writing the metadata of {name}", lambda: client.update_collection(name, metadata=values))


def point_ids(client: QdrantClient, location: str, name: str) -> set[str]:
    """Every point id in collection ``name`` (no payloads, no vectors)."""
    found: set[str] = set()
    offset = None
    while True:
        records, offset = call(location, f"listing the points of {name}", lambda: client.scroll(
            name, limit=SCROLL_BATCH, offset=offset, with_payload=False, with_vectors=False))
        found.update(str(r.id) for r in records)
        if offset is None:
            return found


def publish(client: QdrantClient, location: str, name: str, index: LoadedIndex, layout: Plan) -> None:
    """Create collection ``name`` and upload every chunk of ``index`` into it; the metadata names the
    version only once the upload is complete."""
    bm25 = index.bm25
    if getattr(bm25, "method", "lucene") != "lucene":
        raise BackendError(f"the bm25s index uses method {bm25.method!r}; the qdrant backend mirrors 'lucene' only")
    metadata = expected_metadata(index) | {"index_version": None, "updating_to": index.path.name,
                                           "avgdl": layout.avgdl}
    call(location, f"creating collection {name}", lambda: client.create_collection(
        name, vectors_config={DENSE: models.VectorParams(size=index.manifest.dimension, distance=models.Distance.DOT)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)}, metadata=metadata))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode: "payload indexes have no effect"
        call(location, f"indexing doc_id in {name}", lambda: client.create_payload_index(
            name, "doc_id", models.PayloadSchemaType.KEYWORD))
    _upsert(client, location, name, index, layout, layout.avgdl, range(len(index.chunks)))
    _set_metadata(client, location, name, {"index_version": index.path.name, "updating_to": None})


def update_in_place(client: QdrantClient, location: str, name: str, index: LoadedIndex, layout: Plan) -> bool:
    """Bring collection ``name`` to ``index`` by upserting and deleting only the points that differ;
    False (nothing touched) when a full rebuild is due instead. See the module docstring."""
    found = _metadata(client, location, name)
    expected = expected_metadata(index)
    avgdl = found.get("avgdl")
    if metadata_mismatch(found, expected) or not isinstance(avgdl, (int, float)) or avgdl <= 0 \
            or abs(layout.avgdl / avgdl - 1) > AVGDL_TOLERANCE:
        return False
    existing = point_ids(client, location, name)
    wanted = set(layout.ids)
    added = [pos for pos, pid in enumerate(layout.ids) if pid not in existing]
    removed = sorted(existing - wanted)
    if len(added) + len(removed) > INCREMENTAL_MAX_SHARE * max(len(layout.ids), 1):
        return False
    was_updating = found.get("updating_to")
    _set_metadata(client, location, name, {"updating_to": index.path.name})
    kept: list[Any] = []
    try:
        for start in range(0, len(removed), UPLOAD_BATCH):  # read first: a failure puts them back
            kept += call(location, f"reading chunks of {name}", lambda: client.retrieve(
                name, ids=removed[start:start + UPLOAD_BATCH], with_payload=True, with_vectors=True))
        _upsert(client, location, name, index, layout, float(avgdl), added)
        _delete(client, location, name, removed)
        _set_metadata(client, location, name, {"index_version": index.path.name, "chunks": len(layout.ids),
                                                "updating_to": None})
    except BackendError:
        try:
            _delete(client, location, name, [layout.ids[pos] for pos in added])
            for start in range(0, len(kept), UPLOAD_BATCH):
                points = [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload)
                          for r in kept[start:start + UPLOAD_BATCH]]
                call(location, f"restoring chunks of {name}", lambda: client.upsert(name, points=points, wait=True))
            _set_metadata(client, location, name, {"updating_to": was_updating})
        except BackendError:
            pass  # the mark stays: serving refuses the collection and the next build repairs it
        raise
    log.info("Qdrant collection %s at %s updated in place to %s: %d points upserted, %d deleted", name, location,
             index.path.name, len(added), len(removed))
    return True


def alias_target(client: QdrantClient, location: str, alias: str) -> str | None:
    """The collection ``alias`` points at, or None."""
    aliases = call(location, "listing aliases", client.get_aliases).aliases
    return next((a.collection_name for a in aliases if a.alias_name == alias), None)


def _switch_alias(client: QdrantClient, location: str, alias: str, name: str) -> None:
    """Point ``alias`` at ``name`` (one atomic request), then drop older versions but the replaced one."""
    previous = alias_target(client, location, alias)
    if previous == name:
        return
    operations: list[models.AliasOperations] = []
    if previous is not None:
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=name, alias_name=alias)))
    call(location, f"pointing alias {alias} at {name}",
          lambda: client.update_collection_aliases(change_aliases_operations=operations))
    existing = call(location, "listing collections", client.get_collections).collections
    for collection in existing:
        if collection.name.startswith(f"{alias}-v-") and collection.name not in (name, previous):
            call(location, f"deleting old collection {collection.name}",
                  lambda: client.delete_collection(collection.name))


def open_qdrant_backend(index: LoadedIndex, location: str, api_key: str | None, alias: str,
                        create: bool = False) -> QdrantBackend:
    """The backend for this index version's collection; with ``create`` (or ``:memory:``) the alias's
    collection is first brought to this version (see the module docstring). Otherwise a collection
    that does not hold this version is refused with one line naming it and what differs."""
    client = connect(location, api_key)
    expected = expected_metadata(index)
    target = alias_target(client, location, alias)
    own = f"{alias}-{index.path.name}"
    problems = []
    for name in dict.fromkeys(n for n in (target, own) if n):
        if not call(location, f"looking up collection {name}", lambda: client.collection_exists(name)):
            continue
        problem = serving_problem(client, location, name, expected)
        if problem is None:
            if create and name != target:
                _switch_alias(client, location, alias, name)
            return QdrantBackend(client, location, name)
        problems.append(f"Qdrant collection {name} at {location} {problem}")
    if not (create or location == ":memory:"):
        raise BackendError(problems[0] if problems else f"Qdrant at {location} has no collection {own} (nor alias "
                           f"{alias}) for index {index.path.name}; build it with {REBUILD}")
    layout = plan(index)
    if target is not None and update_in_place(client, location, target, index, layout):
        return QdrantBackend(client, location, target)
    if own == target:  # cannot be rebuilt in place while the alias serves it
        raise BackendError(problems[0])
    if call(location, f"looking up collection {own}", lambda: client.collection_exists(own)):
        call(location, f"deleting incomplete collection {own}", lambda: client.delete_collection(own))
    publish(client, location, own, index, layout)
    _switch_alias(client, location, alias, own)
    return QdrantBackend(client, location, own)
