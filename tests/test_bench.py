"""The benchmark's pieces: the synthetic index used for the serving-scale run, its measurement in a
fresh process, the report, and the CLI's checks of its arguments. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, FAKE_MODEL, REPO
from test_cli import assert_one_line_error, run_cli

from assistant.eval.bench_report import BenchReport, bench_markdown, write_bench_report
from assistant.eval.bench_serving import (
    CHUNKS_PER_DOCUMENT,
    SENTENCES_PER_CHUNK,
    serving_scale,
    synthetic_index,
)
from assistant.index.store import load_index
from assistant.settings import Settings


def test_synthetic_index_is_a_valid_index_of_real_sentences(shared_index, tmp_path: Path) -> None:
    seconds = synthetic_index(shared_index, tmp_path / "index", 45, FAKE_MODEL)
    assert seconds > 0
    index = load_index(tmp_path / "index")  # verifies every checksum and count
    assert len(index.chunks) == 45 and index.dense.ntotal == 45
    assert len(index.sentences) == 45 * SENTENCES_PER_CHUNK
    assert len(index.documents) == -(-45 // CHUNKS_PER_DOCUMENT)
    real_texts = {s.text for s in shared_index.sentences}
    for sentence in index.sentences:
        document = index.documents[sentence.doc_id]
        assert document.text[sentence.start:sentence.end] == sentence.text
        assert sentence.text in real_texts
    for position, chunk in enumerate(index.chunks):
        assert index.documents[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text
        assert all(index.chunk_of_sentence[sid] == position for sid in chunk.sentence_ids)
    norms = np.linalg.norm(np.asarray(index.sentence_vectors), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    assert len({v.tobytes() for v in np.asarray(index.sentence_vectors)}) == len(index.sentences)  # noise: no twins


@pytest.mark.process
def test_serving_scale_measures_a_fresh_process(shared_index, tmp_path: Path) -> None:
    settings = Settings(model=FAKE_MODEL, corpus=CORPUS)
    questions = ["What is gene therapy?", "How much does Zolgensma cost?", "What are AAV vectors?"]
    rows = serving_scale(shared_index, settings, [30], questions, tmp_path)
    (row,) = rows
    assert row["chunks"] == 30 and row["disk_mb"] > 0
    assert row["total_ms"]["n"] == 3 and row["total_ms"]["p50"] > 0
    assert {"embed_ms", "dense_search_ms", "lexical_search_ms", "sentence_scoring_ms"} <= set(row["stages_ms"])
    assert 0 < row["rss_after_load_mb"] <= row["peak_rss_mb"]
    assert 0 < row["anon_mb"] <= row["rss_mb"] <= row["peak_rss_mb"] and row["file_mb"] >= 0
    assert not (tmp_path / "serve-30").exists()  # each size is removed after it is measured


def sample_report() -> dict:
    """A report shaped like ``run_bench``'s, with round numbers."""
    stats = {"n": 200, "p50": 4.1, "p95": 7.9, "p99": 9.5, "mean": 4.6}
    report = {
        "machine": {"cpus": 2}, "model": "m", "query_encoder": "onnx-int8",
        "index_build": [{"corpus": "/x/corpus.jsonl", "documents": 98, "chunks": 4332, "sentences": 13151,
                         "seconds": 52.5, "documents_per_s": 1.87, "chunks_per_s": 82.5, "sentences_per_s": 250.5}],
        "cold_start": {"imports_s": 0.5, "process_start_to_first_answer_s": 1.2},
        "library": {"total_ms": stats, "stages_ms": {"embed_ms": stats}},
        "http": {"total_ms": stats, "gradio_api_ms": {**stats, "p50": 29.7}},
        "naive": {"total_ms": {**stats, "p50": 41.0}}, "naive_over_library_p50": 10.0,
        "serving_scale": [{"chunks": 1_000_000, "build_s": 900.0, "disk_mb": 9000.0, "index_load_s": 12.0,
                           "rss_after_load_mb": 2100.0, "rss_mb": 2200.0, "peak_rss_mb": 2300.0, "total_ms": stats,
                           "stages_ms": {k: stats for k in ("dense_search_ms", "lexical_search_ms",
                                                            "sentence_scoring_ms")}}],
    }
    return report


def test_bench_markdown_reports_every_section() -> None:
    text = bench_markdown(BenchReport.model_validate(sample_report()))
    assert "query encoder: onnx-int8" in text
    assert "| corpus.jsonl | 98 | 4332 | 13151 | 52.5 | 1.87 | 82.5 | 250.5 |" in text
    assert "| http | 200 | 4.1 | 7.9 | 9.5 |" in text
    assert "Gradio's two-step API on the same server: p50 29.7 ms" in text
    assert "| 1,000,000 | 900.0 | 9000.0 | 12.0 | 2100.0 | 2300.0 | 4.1 | 7.9 | 4.1 | 4.1 | 4.1 |" in text
    assert "Naive baseline p50 / library p50: 10.0" in text


def test_bench_report_files(tmp_path: Path) -> None:
    report = sample_report()
    paths = write_bench_report(BenchReport.model_validate(report), tmp_path / "out")
    assert sorted(p.name for p in paths) == ["bench.json", "bench.md", "latency.png", "serving_scale.png"]
    assert json.loads((tmp_path / "out" / "bench.json").read_text(encoding="utf-8")) == report
    for path in paths:
        assert path.stat().st_size > 100


@pytest.mark.parametrize(("flag", "value"), [("--serve-scale", "10k"), ("--scale", "1,x"), ("--serve-scale", "0")])
@pytest.mark.process
def test_bench_rejects_bad_sizes_in_one_line(tmp_path: Path, flag: str, value: str) -> None:
    result = run_cli("bench", flag, value, "--out", str(tmp_path / "out"), cwd=REPO)
    assert_one_line_error(result, 2, flag.lstrip("-").split("-")[0])
    assert not (tmp_path / "out").exists()


@pytest.mark.model
def test_answering_needs_neither_torch_nor_sentence_transformers(real_embedder, tmp_path: Path) -> None:
    """The cold start depends on it: questions are embedded by the ONNX export."""
    from assistant.service import Assistant

    settings = Settings(corpus=CORPUS, index=tmp_path / "index", encoder_cache=REPO / ".cache" / "encoders",
                        precision="fp32")  # as the session's real_embedder
    built = Assistant(settings, embedder=real_embedder)
    built.build()
    built.query_embedder.encode(["export the encoder here if the cache lacks it (that needs torch, once)"])
    code = (
        "import json, sys\n"
        "from assistant.service import Assistant\nfrom assistant.settings import Settings\n"
        f"a = Assistant(Settings.model_validate_json({settings.model_dump_json()!r}))\n"
        "answer = a.ask('What is gene therapy?')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'st': 'sentence_transformers' in sys.modules,"
        " 'abstained': answer.abstained, 'encoder': a.query_embedder.name}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"torch": False, "st": False, "abstained": False, "encoder": f"{settings.model}@onnx-int8"}


def test_a_stored_bench_report_is_a_bench_report() -> None:
    """The typed report reads the last full run's bench.json and gives back exactly its figures."""
    stored = json.loads((REPO / "evals" / "reports" / "bench" / "full" / "bench.json").read_text(encoding="utf-8"))
    report = BenchReport.model_validate(stored)
    assert report.figures() == stored
    assert report.library is not None and report.library.total_ms.p50 > 0
