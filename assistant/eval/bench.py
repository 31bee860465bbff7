"""Benchmark of the library: cold start, index build throughput, warm latency by stage, memory,
the naive baseline in the same run, and a FAISS scaling run; ``run_bench`` also times the server
(``bench_http``) and large synthetic indexes (``bench_serving``), and writes the report
(``bench_report``).

Everything is measured in one run and reported as medians, percentiles and ratios; nothing
here asserts a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.eval.bench_http import http_latency
from assistant.eval.bench_report import BenchReport, write_bench_report
from assistant.eval.timing import peak_rss_mb, rss_mb, stats, warm_latency
from assistant.settings import Settings, local_models_env


def cold_start(index: Path, question: str, settings: Settings) -> dict[str, float]:
    """Process start to first answer in a fresh interpreter, split into imports, model load,
    index load and the first answer (with the configured query encoder)."""
    overrides = {"index": str(index), "query_encoder": settings.query_encoder,
                 "encoder_cache": str(settings.encoder_cache.resolve()), "model": settings.model,
                 "precision": settings.precision}
    code = (
        "import time, json, sys\n"
        "t0 = time.perf_counter()\n"
        "from assistant.service import Assistant\nfrom assistant.settings import Settings\n"
        "import faiss, bm25s\n"
        "t1 = time.perf_counter()\n"
        f"a = Assistant(Settings(**{overrides!r}))\n"
        "a.query_embedder.encode(['x'])\n"
        "t2 = time.perf_counter()\n"
        "a.index\n"
        "t3 = time.perf_counter()\n"
        f"a.ask({question!r})\n"
        "t4 = time.perf_counter()\n"
        "print(json.dumps({'imports_s': t1 - t0, 'model_load_s': t2 - t1, 'index_load_s': t3 - t2,"
        " 'first_answer_s': t4 - t3}))\n"
    )
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=local_models_env())
    total = time.perf_counter() - started
    stages = json.loads(result.stdout.strip().splitlines()[-1])
    return {**{k: round(v, 3) for k, v in stages.items()}, "process_start_to_first_answer_s": round(total, 3)}


def index_build(corpus: Path, settings: Settings, index_dir: Path) -> dict[str, float]:
    """Build a fresh index of ``corpus`` into the empty ``index_dir`` and report throughput."""
    from assistant.service import Assistant

    assistant = Assistant(settings.model_copy(update={"index": index_dir, "corpus": corpus}))
    assistant.embedder.encode(["warm up"])
    result = assistant.build(corpus)
    entries = result.manifest.documents.values()
    docs, chunks = len(result.manifest.documents), sum(e.chunks for e in entries)
    sentences = sum(e.sentences for e in entries)
    seconds = result.seconds
    return {"corpus": str(corpus), "documents": docs, "chunks": chunks, "sentences": sentences,
            "seconds": round(seconds, 2), "documents_per_s": round(docs / seconds, 2),
            "chunks_per_s": round(chunks / seconds, 2), "sentences_per_s": round(sentences / seconds, 2),
            "embedded_texts": result.embedded_texts}


def naive_baseline(index_dir: Path, model_path: str, questions: Sequence[str]) -> dict[str, object]:
    """The hand-written baseline: sentence-transformers + FAISS over chunks, then the chunk's
    sentences encoded per question to pick the best one."""
    import faiss
    from sentence_transformers import SentenceTransformer

    from assistant.index.store import load_index

    index = load_index(index_dir)
    model = SentenceTransformer(model_path, device="cpu")
    dense = faiss.IndexFlatIP(index.dense.d)
    dense.add(index.dense.reconstruct_n(0, index.dense.ntotal))
    times = []
    for question in questions:
        started = time.perf_counter()
        vector = model.encode([question], normalize_embeddings=True)
        _, ids = dense.search(vector, 1)
        chunk = index.chunks[int(ids[0][0])]
        texts = [index.sentences[s].text for s in chunk.sentence_ids]
        sentence_vectors = model.encode(texts, normalize_embeddings=True)
        int(np.argmax(sentence_vectors @ vector[0]))
        times.append((time.perf_counter() - started) * 1000)
    return {"total_ms": stats(times)}


def _mixtures(real: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic vectors near the manifold of real embeddings: each is a random blend of two
    real vectors plus a little noise, normalised. Plain Gaussian vectors would be far harder
    for HNSW than any real embedding set, and say nothing about real recall."""
    a = real[rng.integers(0, len(real), size)]
    b = real[rng.integers(0, len(real), size)]
    weights = rng.uniform(0.0, 0.5, (size, 1)).astype(np.float32)
    data = a + weights * b + 0.02 * rng.standard_normal(a.shape).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def scaling(sizes: Sequence[int], real_vectors: np.ndarray, real_queries: np.ndarray,
            progress: Callable[[str], None] = lambda _: None) -> dict[str, object]:
    """FAISS at several sizes: exact (flat) against HNSW32 — build time, bytes per vector,
    query latency, and recall@10 against exact search, on vectors blended from real sentence
    embeddings (and, separately, on the real embeddings themselves)."""
    import faiss

    from assistant.index.store import make_dense_index

    rng = np.random.default_rng(7)
    dimension = real_vectors.shape[1]
    queries = real_queries.astype(np.float32)
    rows = []
    for size in sizes:
        progress(f"scaling: {size} vectors")
        data = _mixtures(real_vectors, size, rng)
        row: dict[str, object] = {"vectors": size}
        exact_ids = None
        for kind in ("flat", "hnsw"):
            started = time.perf_counter()
            index = make_dense_index(dimension, size, approximate=(kind == "hnsw"))
            index.add(data)
            build = time.perf_counter() - started
            size_bytes = int(faiss.serialize_index(index).nbytes)
            times, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = index.search(q.reshape(1, -1), 10)
                times.append((time.perf_counter() - t) * 1000)
                found.append(ids[0])
            if kind == "flat":
                exact_ids = found
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact_ids)]))
            row[kind] = {"build_s": round(build, 2), "memory_mb": round(size_bytes / 2**20, 1),
                         "bytes_per_vector": round(size_bytes / size, 1), "query_ms": stats(times),
                         "recall_at_10": round(recall, 4)}
            del index
        rows.append(row)
        del data
    exact = faiss.IndexFlatIP(dimension)
    exact.add(real_vectors)
    approx = make_dense_index(dimension, len(real_vectors), approximate=True)
    approx.add(real_vectors)
    _, e_ids = exact.search(queries, 10)
    _, a_ids = approx.search(queries, 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(a_ids, e_ids)]))
    return {"synthetic": rows, "real_recall_at_10": {"vectors": len(real_vectors), "queries": len(queries),
                                                     "hnsw_recall_at_10": round(recall, 4)}}


def _questions(path: Path | None, count: int) -> list[str]:
    from assistant.eval.evaluation import load_questions

    if path is None or not path.exists():
        base = ["What is gene therapy?", "How much does Zolgensma cost?", "What are AAV vectors?"]
    else:
        base = [q.question for q in load_questions(path)]
    return [base[i % len(base)] for i in range(max(count, 1))]


def run_bench(settings: Settings, corpora: Sequence[Path], questions_file: Path | None, out: Path,
              scale_sizes: Sequence[int] = (10_000, 100_000, 1_000_000), count: int = 200, http: bool = True,
              progress: Callable[[str], None] = lambda _: None,
              serve_sizes: Sequence[int] = ()) -> BenchReport:
    """Run every measurement; returns the report (also written to ``out``)."""
    from assistant.index.embedding import resolve_model_path
    from assistant.service import Assistant

    report: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                                 "model": settings.model, "query_encoder": settings.query_encoder}
    builds = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, corpus in enumerate(corpora):
            progress(f"index build: {corpus}")
            builds.append(index_build(corpus, settings, Path(tmp) / f"index-{number}"))
        report["index_build"] = builds
        latency_corpus = corpora[-1]
        index_dir = Path(tmp) / f"index-{len(corpora) - 1}"  # the last build serves the latency runs
        assistant = Assistant(settings.model_copy(update={"index": index_dir, "corpus": latency_corpus}))
        questions = _questions(questions_file, count)
        progress("cold start")
        report["cold_start"] = cold_start(index_dir, questions[0], settings)
        progress(f"warm latency over {len(questions)} questions (library)")
        report["library"] = warm_latency(assistant, questions)
        report["library_memory"] = rss_mb()
        progress("naive baseline (sentences encoded per question)")
        report["naive"] = naive_baseline(index_dir, resolve_model_path(settings.model), questions)
        lib_p50 = report["library"]["total_ms"]["p50"]  # type: ignore[index]
        report["naive_over_library_p50"] = round(report["naive"]["total_ms"]["p50"] / lib_p50, 2)  # type: ignore
        if http:
            progress("latency through the HTTP API")
            report["http"] = http_latency(index_dir, questions)
        if scale_sizes:
            queries = assistant.embedder.encode(questions[:200])
            report["scaling"] = scaling(scale_sizes, real_vectors=np.asarray(assistant.index.sentence_vectors),
                                        real_queries=queries, progress=progress)
        if serve_sizes:
            from assistant.eval.bench_serving import serving_scale

            report["serving_scale"] = serving_scale(assistant.index, settings, serve_sizes, questions, Path(tmp),
                                                    progress=progress)
    report["peak_rss_mb"] = peak_rss_mb()
    typed = BenchReport.model_validate(report)
    write_bench_report(typed, out)
    return typed


