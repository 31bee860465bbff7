"""Serving at scale: synthetic indexes of 10k to 1M chunks, written by the real index writer and
served by the real ``Assistant`` in a fresh process (build time, load time, memory, latency).

Texts are real sentences of a source index, resampled into new documents; each sentence's
vector is its real vector plus a little noise (so no two are equal), and chunk vectors are the
mean of their sentences' vectors, as in a real build. Questions are real, embedded by the
configured query encoder. Embedding throughput is measured separately (``bench``'s index build),
since embedding a million passages on two cores would take hours.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.index.store import LoadedIndex
from assistant.models import (
    Chunk,
    ChunkingSettings,
    Document,
    DocumentEntry,
    Manifest,
    Sentence,
)
from assistant.settings import Settings, local_models_env

CHUNKS_PER_DOCUMENT = 10
SENTENCES_PER_CHUNK = 3
NOISE = 0.15  # relative size of the noise added to each real vector


def synthetic_index(source: LoadedIndex, index_dir: Path, chunk_count: int, model_name: str,
                    seed: int = 11) -> float:
    """Write an index of ``chunk_count`` chunks resampled from ``source`` into ``index_dir``;
    returns the seconds the write took (the same writer as a real build: JSONL, FAISS, BM25)."""
    from assistant.index.build import pool_chunk_vectors, write_version

    rng = np.random.default_rng(seed)
    answerable = np.array([i for i, s in enumerate(source.sentences) if s.answerable and len(s.text) > 20])
    texts = [source.sentences[int(i)].text for i in answerable]
    real = np.asarray(source.sentence_vectors[answerable], dtype=np.float32)
    dimension = real.shape[1]
    started = time.perf_counter()
    documents, chunks, sentences, vectors, entries = [], [], [], [], {}
    per_doc = CHUNKS_PER_DOCUMENT * SENTENCES_PER_CHUNK
    doc_count = -(-chunk_count // CHUNKS_PER_DOCUMENT)
    for number in range(doc_count):
        doc_id = f"synthetic/{number:07d}.txt"
        picks = rng.integers(0, len(texts), per_doc)
        chunk_total = min(CHUNKS_PER_DOCUMENT, chunk_count - len(chunks))
        picks = picks[: chunk_total * SENTENCES_PER_CHUNK]
        title = texts[int(picks[0])][:60]
        body, spans = f"{title}\n\n", []
        for pick in picks:
            start = len(body)
            body += texts[int(pick)]
            spans.append((start, len(body)))
            body += " "
        first_sentence = len(sentences)
        for position, ((start, end), pick) in enumerate(zip(spans, picks)):
            sentences.append(Sentence(sentence_id=len(sentences), doc_id=doc_id, start=start, end=end,
                                      text=texts[int(pick)], position=position))
        vectors.append(picks)
        for c in range(chunk_total):
            ids = list(range(first_sentence + c * SENTENCES_PER_CHUNK, first_sentence + (c + 1) * SENTENCES_PER_CHUNK))
            start, end = sentences[ids[0]].start, sentences[ids[-1]].end
            chunks.append(Chunk(chunk_id=f"{doc_id}#{c}", doc_id=doc_id, start=start, end=end, text=body[start:end],
                                sentence_ids=ids))
        text = body.rstrip()
        documents.append(Document(doc_id=doc_id, title=title, text=text, sha256=f"{number:064x}"))
        entries[doc_id] = DocumentEntry(sha256=f"{number:064x}", title=title, chars=len(text), chunks=chunk_total,
                                        sentences=len(picks))
    picks = np.concatenate(vectors)
    sentence_vectors = np.empty((len(picks), dimension), dtype=np.float32)
    for begin in range(0, len(picks), 200_000):  # in blocks: the noise for 3M vectors at once is 4.6 GB
        block = real[picks[begin : begin + 200_000]]
        block = block + rng.standard_normal(block.shape, dtype=np.float32) * (NOISE / np.sqrt(dimension))
        sentence_vectors[begin : begin + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    chunk_vectors = pool_chunk_vectors(chunks, sentence_vectors, dimension)
    manifest = Manifest(model=model_name, dimension=dimension, chunking=ChunkingSettings(),
                        corpus=f"synthetic:{chunk_count}", dense_index="auto", created_at="synthetic",
                        documents=entries)
    index_dir.mkdir(parents=True, exist_ok=True)
    write_version(index_dir, manifest, documents, chunks, sentences, chunk_vectors, sentence_vectors, started)
    return time.perf_counter() - started


SERVE_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from assistant.eval.timing import rss_mb, warm_latency
from assistant.service import Assistant
from assistant.settings import Settings
settings = Settings.model_validate_json(sys.argv[1])
questions = json.loads(open(sys.argv[2], encoding="utf-8").read())
assistant = Assistant(settings)
assistant.query_embedder.encode(["warm up"])
t1 = time.perf_counter()
assistant.index
t2 = time.perf_counter()
after_load = rss_mb()["rss_mb"]
latency = warm_latency(assistant, questions)
print(json.dumps({"startup_s": round(t1 - t0, 2), "index_load_s": round(t2 - t1, 2), "rss_after_load_mb": after_load,
                  **rss_mb(), **latency}))
"""


def serve_measure(index_dir: Path, settings: Settings, questions: Sequence[str], work: Path) -> dict[str, object]:
    """Load ``index_dir`` in a fresh process and answer ``questions``: load time, RSS, latency."""
    question_file = work / "questions.json"
    question_file.write_text(json.dumps(list(questions)), encoding="utf-8")
    served = settings.model_copy(update={"index": index_dir})
    result = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, served.model_dump_json(), str(question_file)],
                            check=False, capture_output=True, text=True, env=local_models_env())
    if result.returncode != 0:
        raise RuntimeError(f"serving {index_dir} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def folder_mb(path: Path) -> float:
    """Size of the files under ``path`` in MiB."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def serving_scale(source: LoadedIndex, settings: Settings, sizes: Sequence[int], questions: Sequence[str],
                  work: Path, progress: Callable[[str], None] = lambda _: None) -> list[dict[str, object]]:
    """Build and serve a synthetic index at each size; one row of figures per size."""
    from assistant.index.embedding import make_embedder

    model_name = make_embedder(settings.model, precision=settings.precision).name
    rows = []
    for size in sizes:
        index_dir = work / f"serve-{size}"
        progress(f"serving scale: writing a synthetic index of {size} chunks")
        build_s = synthetic_index(source, index_dir, size, model_name)
        progress(f"serving scale: answering {len(questions)} questions over {size} chunks")
        row: dict[str, object] = {"chunks": size, "build_s": round(build_s, 1), "disk_mb": folder_mb(index_dir)}
        row.update(serve_measure(index_dir, settings, questions, work))
        rows.append(row)
        shutil.rmtree(index_dir, ignore_errors=True)
    return rows
