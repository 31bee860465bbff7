"""The index folder's layout, its manifest and the ``CURRENT`` pointer.

Layout (every file readable by a person except the vector files)::

    index/CURRENT                  name of the live version folder (replaced atomically)
    index/v-<time>-<id>/manifest.json     format version, model, dimension, chunking settings,
                                          per-document hashes, per-file checksums
    index/v-.../documents.jsonl    doc_id, title, text (offsets index this text)
    index/v-.../chunks.jsonl       one Chunk per line
    index/v-.../sentences.jsonl    one Sentence per line
    index/v-.../columns.npz        line offsets of the three JSONL files (rows are read on demand),
                                   document ids, each chunk's document and each sentence's chunk
    index/v-.../dense.faiss        chunk vectors: the normalised mean of their sentences' vectors
    index/v-.../sentence_vectors.npy   one vector per sentence, for answer scoring
    index/v-.../bm25/              bm25s lexical index over chunks
    index/v-.../sentence_df.json   document frequency of terms over sentences (for IDF)

``build`` writes a version folder, ``store`` loads the live one.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from pydantic import ValidationError

from assistant.errors import IndexError_
from assistant.ingest.faults import fault_point
from assistant.models import FORMAT_VERSION, ChunkingSettings, Document, Manifest

CURRENT = "CURRENT"

MANIFEST = "manifest.json"

REQUIRED_FILES = ("documents.jsonl", "chunks.jsonl", "sentences.jsonl", "columns.npz", "dense.faiss",
                  "sentence_vectors.npy", "sentence_df.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

def current_version(index_dir: Path) -> Path | None:
    """The live version folder named by ``CURRENT``, or None when there is no index."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexError_(f"cannot read {pointer}: {exc.strerror or exc}") from exc
    if not name or "/" in name or name.startswith("."):
        raise IndexError_(f"{pointer} is corrupt; rebuild with `assistant index`")
    return index_dir / name

def previous_version(index_dir: Path) -> Path | None:
    """The newest version folder other than the live one (kept by ``remove_stale_versions`` so that a
    damaged live version can be replaced while it is rebuilt), or None."""
    try:
        live = current_version(index_dir)
    except IndexError_:
        live = None
    older = sorted(p for p in index_dir.glob("v-*") if p.is_dir() and p != live) if index_dir.is_dir() else []
    return older[-1] if older else None


def read_manifest(index_dir: Path, version: Path | None = None) -> Manifest | None:
    """The manifest of the live index (or of the ``version`` folder given), or None when there is none."""
    version = version or current_version(index_dir)
    if version is None:
        return None
    path = version / MANIFEST
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexError_(f"{path} is missing; rebuild with `assistant index`") from exc
    except ValidationError as exc:
        raise IndexError_(f"{path} is damaged ({manifest_problem(exc)}); rebuild with `assistant index`") from exc
    except (OSError, ValueError) as exc:
        raise IndexError_(f"{path} is unreadable or corrupt; rebuild with `assistant index`") from exc


def manifest_problem(error: ValidationError) -> str:
    """The first problem of a manifest that failed validation, naming the key: "key 'chunking' is
    missing", "key 'documents.a.txt.sha256' is not valid (Input should be a valid string)", or
    "not JSON"."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return "not JSON"
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "missing":
        return f"key {key!r} is missing"
    return f"key {key!r} is not valid ({first['msg']})"

def settings_mismatch(manifest: Manifest, model: str, chunking: ChunkingSettings,
                      dimension: int | None = None) -> str | None:
    """A sentence naming the first setting that differs from the manifest's, else None.
    ``dimension`` (the embedder's vector size) is compared when given."""
    if manifest.format_version != FORMAT_VERSION:
        return f"index format version {manifest.format_version} differs from {FORMAT_VERSION}"
    if manifest.model != model:
        return f"embedding model differs (index: {manifest.model}, settings: {model})"
    if dimension is not None and manifest.dimension != dimension:
        return f"embedding dimension differs (index: {manifest.dimension}, model: {dimension})"
    for key, value in chunking.model_dump().items():
        old = getattr(manifest.chunking, key)
        if old != value:
            return f"chunking setting {key} differs (index: {old}, settings: {value})"
    return None

def diff_documents(manifest: Manifest | None, documents: list[Document]) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed) document ids between an index manifest and a corpus."""
    old = manifest.documents if manifest else {}
    new = {d.doc_id: d.sha256 for d in documents}
    changed = sorted(d for d in new if d in old and old[d].sha256 != new[d])
    added = sorted(d for d in new if d not in old)
    removed = sorted(d for d in old if d not in new)
    return changed, added, removed

def remove_stale_versions(index_dir: Path) -> None:
    """Delete leftover temporary folders and versions that ``CURRENT`` no longer names, except the newest
    of those (``previous_version``): a server serves it while a damaged live version is rebuilt."""
    try:
        live = current_version(index_dir)
    except IndexError_:
        return
    keep = previous_version(index_dir)
    for path in index_dir.iterdir():
        if path in (live, keep) or path.name in (CURRENT, ".lock"):
            continue
        if path.name.startswith((".tmp-", "v-")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            fault_point("stale_version_removed")
