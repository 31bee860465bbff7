"""Benchmark: cold start, index build throughput, warm latency by stage (library and HTTP),
memory, the naive baseline in the same run, and a FAISS scaling run.

Everything is measured in one run and reported as medians, percentiles and ratios; nothing
here asserts a time.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.eval.metrics import percentile
from assistant.settings import Settings


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "p99": round(percentile(values, 99), 3), "mean": round(statistics.fmean(values), 3) if values else 0.0}


RSS_FIELDS = {"VmRSS": "rss_mb", "VmHWM": "peak_rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb"}


def rss_mb(pid: int | None = None) -> dict[str, float]:
    """Resident memory (MB) of a process from /proc: current, peak (VmHWM; ``ru_maxrss`` would
    carry a parent's peak into a child), and the private (anon) and file-backed parts."""
    path = Path(f"/proc/{pid or os.getpid()}/status")
    out = {}
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(":")
            if name in RSS_FIELDS:
                out[RSS_FIELDS[name]] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


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
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
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


def warm_latency(assistant, questions: Sequence[str]) -> dict[str, object]:
    """Per-question latency in the library, in total and per stage."""
    assistant.ask(questions[0])
    totals, stages = [], {}
    for question in questions:
        started = time.perf_counter()
        answer = assistant.ask(question)
        totals.append((time.perf_counter() - started) * 1000)
        for name, value in answer.timings_ms.items():
            stages.setdefault(name, []).append(value)
    return {"total_ms": _stats(totals), "stages_ms": {k: _stats(v) for k, v in stages.items()}}


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
    return {"total_ms": _stats(times)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plain_ask(base: str, question: str) -> dict:
    """One call of the server's plain JSON route ``POST /api/ask``."""
    request = urllib.request.Request(f"{base}/api/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _http_ask(base: str, question: str) -> dict:
    """One call of the server's `ask` endpoint with plain HTTP (Gradio's two-step call API)."""
    body = json.dumps({"data": [question, 2, "hybrid", None]}).encode()
    request = urllib.request.Request(f"{base}/gradio_api/call/ask", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/ask/{event}", timeout=60) as response:
        payload = response.read().decode()
    for line in payload.splitlines():
        if line.startswith("data:"):
            return json.loads(line[5:])[0]
    raise RuntimeError(f"no data in the server's reply: {payload[:200]}")


def http_latency(index: Path, questions: Sequence[str]) -> dict[str, object]:
    """Latency through `assistant serve` over plain HTTP: the JSON route ``/api/ask`` (the figure
    reported) and Gradio's two-step API for comparison, alternating; and the server's memory."""
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index", str(index), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                _http_ask(base, questions[0])
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 180:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.3)
        ready = time.perf_counter() - started
        timed: dict[str, list[float]] = {"plain": [], "gradio": []}
        for question in questions:
            for name, call in (("plain", _plain_ask), ("gradio", _http_ask)):
                t = time.perf_counter()
                call(base, question)
                timed[name].append((time.perf_counter() - t) * 1000)
        return {"serve_to_first_answer_s": round(ready, 2), "total_ms": _stats(timed["plain"]),
                "gradio_api_ms": _stats(timed["gradio"]), **rss_mb(server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=30)


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
                         "bytes_per_vector": round(size_bytes / size, 1), "query_ms": _stats(times),
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


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
              serve_sizes: Sequence[int] = ()) -> dict[str, object]:
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
    write_bench_report(report, out)
    return report


def bench_markdown(report: dict) -> str:
    """The benchmark report as Markdown tables."""
    lines = ["# Benchmark", "", f"Machine: {report['machine']}; model: {report['model']}; query encoder: {report.get('query_encoder', 'torch')}", "", "## Index build", "",
             "| corpus | documents | chunks | sentences | seconds | docs/s | chunks/s | sentences/s |",
             "|---|---|---|---|---|---|---|---|"]
    for b in report.get("index_build", []):
        lines.append(f"| {Path(b['corpus']).name} | {b['documents']} | {b['chunks']} | {b['sentences']} | "
                     f"{b['seconds']} | {b['documents_per_s']} | {b['chunks_per_s']} | {b['sentences_per_s']} |")
    cold = report.get("cold_start", {})
    lines += ["", "## Cold start (seconds)", "", "| " + " | ".join(cold) + " |", "|" + "---|" * len(cold),
              "| " + " | ".join(str(v) for v in cold.values()) + " |", "", "## Warm latency (ms)", "",
              "| path | n | p50 | p95 | p99 |", "|---|---|---|---|---|"]
    for name in ("library", "http", "naive"):
        if name in report:
            t = report[name]["total_ms"]
            lines.append(f"| {name} | {t['n']} | {t['p50']} | {t['p95']} | {t['p99']} |")
    lines += ["", f"Naive baseline p50 / library p50: {report.get('naive_over_library_p50')}", "",
              "### Library stages (ms)", "", "| stage | p50 | p95 | p99 |", "|---|---|---|---|"]
    for stage, t in report.get("library", {}).get("stages_ms", {}).items():
        lines.append(f"| {stage} | {t['p50']} | {t['p95']} | {t['p99']} |")
    lines += ["", f"Memory: library process {report.get('library_memory')}, server {report.get('http', {})}"
              .replace("'total_ms'", "'latency'"), f"Peak RSS of the benchmark process: {report.get('peak_rss_mb')} MB"]
    scaling_ = report.get("scaling")
    if scaling_:
        lines += ["", "## Scaling (FAISS; vectors blended from real sentence embeddings, 384 dimensions)", "",
                  "| vectors | index | build s | MB | bytes/vector | query p50 ms | p95 ms | recall@10 |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in scaling_["synthetic"]:
            for kind in ("flat", "hnsw"):
                r = row[kind]
                lines.append(f"| {row['vectors']:,} | {kind} | {r['build_s']} | {r['memory_mb']} | "
                             f"{r['bytes_per_vector']} | {r['query_ms']['p50']} | {r['query_ms']['p95']} | "
                             f"{r['recall_at_10']} |")
        lines += ["", f"HNSW recall@10 against exact search on the real embeddings: {scaling_['real_recall_at_10']}"]
    if report.get("http", {}).get("gradio_api_ms"):
        g = report["http"]["gradio_api_ms"]
        lines += ["", (f"HTTP: the reported figure is `POST /api/ask`; Gradio's two-step API on the same server: "
                       f"p50 {g['p50']} ms, p95 {g['p95']} ms.")]
    rows = report.get("serving_scale")
    if rows:
        lines += ["", "## Serving at scale (synthetic index, real texts and questions; fresh process)", "",
                  ("| chunks | write s | disk MB | load s | RSS after load MB | peak RSS MB | p50 ms | p95 ms | "
                   "dense p50 | lexical p50 | scoring p50 |"), "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            st = r["stages_ms"]
            lines.append(f"| {r['chunks']:,} | {r['build_s']} | {r['disk_mb']} | {r['index_load_s']} | "
                         f"{r['rss_after_load_mb']} | {r['peak_rss_mb']} | {r['total_ms']['p50']} | "
                         f"{r['total_ms']['p95']} | {st['dense_search_ms']['p50']} | {st['lexical_search_ms']['p50']} | "
                         f"{st['sentence_scoring_ms']['p50']} |")
    return "\n".join(lines)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_bench_report(report: dict, out: Path) -> list[Path]:
    """bench.json, bench.md and PNG plots (latency per path, stages, scaling)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bench.json", out / "bench.md"]
    paths[0].write_text(json.dumps(report, indent=1), encoding="utf-8")
    paths[1].write_text(bench_markdown(report), encoding="utf-8")
    names = [n for n in ("library", "http", "naive") if n in report]
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, metric in enumerate(("p50", "p95", "p99")):
        ax.bar([x + i * 0.25 for x in range(len(names))], [report[n]["total_ms"][metric] for n in names], 0.25,
               label=metric)
    ax.set_xticks([x + 0.25 for x in range(len(names))], names)
    ax.set_ylabel("ms per question")
    ax.set_title("Warm latency")
    ax.legend()
    paths.append(_save(fig, out / "latency.png"))
    if report.get("scaling"):
        fig, ax = plt.subplots(figsize=(7, 4))
        rows = report["scaling"]["synthetic"]
        for kind in ("flat", "hnsw"):
            ax.plot([r["vectors"] for r in rows], [r[kind]["query_ms"]["p50"] for r in rows], marker="o", label=kind)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("vectors")
        ax.set_ylabel("query p50 (ms)")
        ax.set_title("Dense search latency by index size")
        ax.legend()
        paths.append(_save(fig, out / "scaling.png"))
    if report.get("serving_scale"):
        rows = report["serving_scale"]
        sizes = [r["chunks"] for r in rows]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for metric in ("p50", "p95"):
            left.plot(sizes, [r["total_ms"][metric] for r in rows], marker="o", label=f"question {metric}")
        left.set_xscale("log")
        left.set_xlabel("chunks")
        left.set_ylabel("ms per question")
        left.set_title("Answer latency by index size")
        left.legend()
        right.plot(sizes, [r["peak_rss_mb"] for r in rows], marker="o", label="peak RSS")
        right.plot(sizes, [r["rss_after_load_mb"] for r in rows], marker="o", label="RSS after load")
        right.set_xscale("log")
        right.set_xlabel("chunks")
        right.set_ylabel("MB")
        right.set_title("Serving memory by index size")
        right.legend()
        paths.append(_save(fig, out / "serving_scale.png"))
    return paths
