"""The benchmark report: its type (``BenchReport``, like ``models.EvalReport``), ``bench.json``,
``bench.md`` (Markdown tables) and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class _Figures(BaseModel):
    model_config = ConfigDict(extra="allow")  # a figure a measurement adds is kept, never dropped


class Stats(_Figures):
    """Milliseconds (or seconds) over ``n`` runs (``timing.stats``)."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float = 0.0


class IndexBuildFigures(_Figures):
    corpus: str
    documents: int
    chunks: int
    sentences: int
    seconds: float
    documents_per_s: float
    chunks_per_s: float
    sentences_per_s: float
    embedded_texts: int | None = None


class Latency(_Figures):
    """Per-question latency in total and, for the library, per stage (``timing.warm_latency``)."""

    total_ms: Stats
    stages_ms: dict[str, Stats] | None = None


class HttpFigures(Latency):
    """``bench_http.http_latency``: the plain JSON route (``total_ms``), Gradio's API and server memory."""

    serve_to_first_answer_s: float | None = None
    gradio_api_ms: Stats | None = None
    rss_mb: float | None = None
    peak_rss_mb: float | None = None
    anon_mb: float | None = None
    file_mb: float | None = None


class DenseIndexFigures(_Figures):
    build_s: float
    memory_mb: float
    bytes_per_vector: float
    query_ms: Stats
    recall_at_10: float


class ScalingRow(_Figures):
    vectors: int
    flat: DenseIndexFigures
    hnsw: DenseIndexFigures


class Scaling(_Figures):
    """``bench.scaling``: FAISS flat against HNSW by size, and HNSW's recall on the real embeddings."""

    synthetic: list[ScalingRow]
    real_recall_at_10: dict[str, float]


class ServingRow(Latency):
    """``bench_serving.serving_scale``: one synthetic index size served by a fresh process."""

    chunks: int
    build_s: float
    disk_mb: float
    index_load_s: float
    rss_after_load_mb: float
    peak_rss_mb: float
    startup_s: float | None = None
    rss_mb: float | None = None
    anon_mb: float | None = None
    file_mb: float | None = None


class BenchReport(_Figures):
    """What ``assistant bench`` measured (``bench.run_bench``); ``bench.json`` is its JSON, without the
    sections that were not run."""

    machine: dict[str, int | str | None]
    model: str
    query_encoder: str = "torch"
    index_build: list[IndexBuildFigures] = []
    cold_start: dict[str, float] = {}
    library: Latency | None = None
    library_memory: dict[str, float] | None = None
    naive: Latency | None = None
    naive_over_library_p50: float | None = None
    http: HttpFigures | None = None
    scaling: Scaling | None = None
    serving_scale: list[ServingRow] | None = None
    peak_rss_mb: float | None = None

    def figures(self) -> dict:
        """The report as plain JSON data (what ``bench.json`` holds)."""
        return self.model_dump(mode="json", exclude_none=True)


def bench_markdown(typed: BenchReport) -> str:
    """The benchmark report as Markdown tables."""
    report = typed.figures()
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



def write_bench_report(typed: BenchReport, out: Path) -> list[Path]:
    """bench.json, bench.md and PNG plots (latency per path, stages, scaling)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bench.json", out / "bench.md"]
    report = typed.figures()
    paths[0].write_text(json.dumps(report, indent=1), encoding="utf-8")
    paths[1].write_text(bench_markdown(typed), encoding="utf-8")
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
