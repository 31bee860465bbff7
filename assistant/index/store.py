"""Loading the live index folder into a ``LoadedIndex`` (see ``manifest`` for the layout).

Texts stay in the JSONL files and sentence vectors in their .npy file; only the rows a question
touches are read (``columns``). Every file is checked against the manifest's checksums first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import bm25s
import faiss
import numpy as np

from assistant.errors import IndexError_
from assistant.index.backend_types import SearchBackend
from assistant.index.columns import JsonlMapping, JsonlRows, VectorRows
from assistant.index.manifest import (
    MANIFEST,
    REQUIRED_FILES,
    current_version,
    read_manifest,
    sha256_file,
)
from assistant.index.word_vectors import WordVectorCache
from assistant.lexical import terms
from assistant.models import Chunk, Document, Manifest, Sentence

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build and load at DEBUG

TERMS_CACHE_SIZE = 200_000


@dataclass
class LoadedIndex:
    """An index ready for retrieval and answering. Texts stay in the JSONL files and sentence
    vectors in their .npy file; only the rows a question touches are read (``index_columns``)."""

    path: Path
    manifest: Manifest
    documents: Mapping[str, Document]
    chunks: Sequence[Chunk]
    sentences: Sequence[Sentence]
    dense: faiss.Index
    sentence_vectors: VectorRows  # read on demand; np.asarray() gives the whole matrix
    bm25: bm25s.BM25
    sentence_df: dict[str, int]
    sentence_df_total: int
    chunk_of_sentence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    chunk_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # row of each chunk's document
    doc_ids: list[str] = field(default_factory=list)  # in the order of documents.jsonl
    backend: SearchBackend | None = None  # another engine that ranks the chunks (backends.py); None: local

    _terms_cache: dict[int | str, frozenset[str]] = field(default_factory=dict, repr=False)
    word_vectors: WordVectorCache = field(default_factory=WordVectorCache, repr=False)  # the judge's reads

    @cached_property
    def titles(self) -> dict[str, str]:
        """Document id to title (built once)."""
        return {doc_id: entry.title for doc_id, entry in self.manifest.documents.items()}

    @cached_property
    def dates(self) -> dict[str, tuple[str | None, str | None]]:
        """Document id to (date, where the date came from), both None when unknown (built once)."""
        return {doc_id: (entry.date, entry.date_source) for doc_id, entry in self.manifest.documents.items()}

    def _cached_terms(self, key: int | str, text: str) -> frozenset[str]:
        cached = self._terms_cache.get(key)
        if cached is None:
            if len(self._terms_cache) >= TERMS_CACHE_SIZE:  # bounded: a large index must not grow without end
                self._terms_cache.clear()
            cached = self._terms_cache[key] = frozenset(terms(text))
        return cached

    def sentence_terms(self, sentence_id: int) -> frozenset[str]:
        """Stemmed content terms of a sentence (cached)."""
        cached = self._terms_cache.get(sentence_id)
        return cached if cached is not None else self._cached_terms(sentence_id, self.sentences[sentence_id].text)

    def text_terms(self, text: str) -> frozenset[str]:
        """Stemmed content terms of a title or heading (cached by text)."""
        return self._cached_terms("t:" + text, text)


HNSW_THRESHOLD = 50_000  # flat search over 50k vectors: ~3 ms per query on one core
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256


def make_dense_index(dimension: int, size: int, approximate: bool | None = None,
                     threshold: int = HNSW_THRESHOLD) -> faiss.Index:
    """An empty FAISS index for normalised vectors (inner product): exact (flat) for small
    collections, HNSW32 (approximate, recall@10 ~0.95+) above ``threshold`` vectors or when
    ``approximate`` says so."""
    if approximate is None:
        approximate = size > threshold
    if not approximate:
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index

def load_index(index_dir: Path, verify: bool = True, version: Path | None = None) -> LoadedIndex | None:
    """Load the live index (or the ``version`` folder given), or None when ``index_dir`` holds none.

    With ``verify`` every file's checksum is compared with the manifest, because FAISS and
    NumPy can load a damaged file without complaint. Raises IndexError_ naming the file.
    """
    manifest = read_manifest(index_dir, version)
    if manifest is None:
        return None
    version = version or current_version(index_dir)
    assert version is not None
    if verify:
        unlisted = [name for name in REQUIRED_FILES if name not in manifest.files]
        if unlisted or not any(name.startswith("bm25/") for name in manifest.files):
            raise IndexError_(f"{version / MANIFEST} lists no checksum for {unlisted[0] if unlisted else 'bm25/'}; "
                              "rebuild with `assistant index`")
        for name, expected in manifest.files.items():
            path = version / name
            try:
                actual = sha256_file(path)
            except OSError as exc:
                raise IndexError_(f"index file {path} is missing or unreadable; rebuild with `assistant index`") from exc
            if actual != expected:
                raise IndexError_(f"index file {path} is corrupt (checksum differs from {MANIFEST}); "
                                  "rebuild with `assistant index`")
    current = version / "columns.npz"
    try:
        with np.load(current, allow_pickle=False) as columns:
            arrays = {name: columns[name] for name in columns.files}
        doc_ids = [str(d) for d in arrays["doc_ids"]]
        current = version / "documents.jsonl"
        documents = JsonlMapping(JsonlRows(current, arrays["documents_offsets"], Document), doc_ids)
        current = version / "chunks.jsonl"
        chunks = JsonlRows(current, arrays["chunks_offsets"], Chunk)
        current = version / "sentences.jsonl"
        sentences = JsonlRows(current, arrays["sentences_offsets"], Sentence)
        current = version / "dense.faiss"
        dense = faiss.read_index(str(current))
        if isinstance(dense, faiss.IndexHNSWFlat):
            dense.hnsw.efSearch = HNSW_EF_SEARCH
        current = version / "sentence_vectors.npy"
        sentence_vectors = VectorRows(current)
        current = version / "bm25"
        lexical = bm25s.BM25.load(str(current), mmap=True)
        current = version / "sentence_df.json"
        df = json.loads(current.read_text(encoding="utf-8"))
    except Exception as exc:  # any parse failure of any file means the same thing to a user
        raise IndexError_(f"index file {current} is unreadable or corrupt; rebuild with `assistant index`") from exc
    if dense.d != manifest.dimension or sentence_vectors.ndim != 2 or sentence_vectors.shape[1] != dense.d:
        raise IndexError_(f"index in {version} is inconsistent: {MANIFEST} says dimension {manifest.dimension}, "
                          f"dense.faiss has {dense.d}, sentence_vectors.npy has "
                          f"{sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else sentence_vectors.shape}; "
                          "rebuild with `assistant index`")
    if dense.ntotal != len(chunks) or len(sentence_vectors) != len(sentences) \
            or len(arrays["chunk_doc"]) != len(chunks) or len(arrays["chunk_of_sentence"]) != len(sentences):
        raise IndexError_(f"index in {version} is inconsistent (vector and chunk counts differ); rebuild it")
    return LoadedIndex(path=version, manifest=manifest, documents=documents, chunks=chunks, sentences=sentences,
                       dense=dense, sentence_vectors=sentence_vectors, bm25=lexical,
                       sentence_df=df["df"], sentence_df_total=int(df["n"]),
                       chunk_of_sentence=arrays["chunk_of_sentence"], chunk_doc=arrays["chunk_doc"], doc_ids=doc_ids)
