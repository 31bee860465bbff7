"""The retrieval backend seam: Qdrant (local mode, ``:memory:`` or a folder) against today's FAISS + bm25s.

The bundled corpus with the fake embedder; a Qdrant server or cluster is reached through the same
client API, which no test here can start.

Tolerance for "the same chunks": dense rankings are identical (positions, ranks; scores within 1e-5);
BM25 and hybrid rankings are identical up to the order of chunks whose scores are exactly equal
(repeated texts), where bm25s's own order is arbitrary: BM25 scores rank by rank within 1e-4 and the same
chunks above the last tie; hybrid fused scores rank by rank within 3e-4 and the same chunks above the last
score plus that (a tie swapped in the BM25 list moves a fused score slightly, and can swap the 12th chunk:
Qdrant orders tied points its own way, and point ids no longer follow positions); all three the same top chunk
for every question, and identical lists for >= 95% of them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, QUESTIONS, REPO, make_assistant

pytest.importorskip("qdrant_client")

from assistant.answer.retrieval import retrieve  # noqa: E402
from assistant.index import qdrant_backend  # noqa: E402
from assistant.index.backends import BackendError  # noqa: E402
from assistant.index import qdrant_sync  # noqa: E402
from assistant.index.qdrant_sync import chunk_terms  # noqa: E402
from assistant.lexical import terms  # noqa: E402
from assistant.service import Assistant  # noqa: E402

K = 12
HYBRID_TIE = 3e-4  # two BM25 ranks swapped by a tie move a fused score by at most 1/60 - 1/61


@pytest.fixture(autouse=True)
def _fresh_memory_store():
    """Each test gets an empty ``:memory:`` store (clients are kept per location inside a process)."""
    qdrant_backend.forget_client(":memory:")
    yield
    qdrant_backend.forget_client(":memory:")


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Assistant, Assistant]:
    """The same index folder served by the local backend and by Qdrant in ``:memory:``."""
    local = make_assistant(CORPUS, tmp_path / "index")
    local.build()
    qdrant = make_assistant(CORPUS, tmp_path / "index", backend="qdrant")
    assert local.index.backend is None and qdrant.index.backend is not None
    return local, qdrant


def assert_same_ranking(local, remote, tolerance: float) -> None:
    assert len(local) == len(remote)
    for a, b in zip(local, remote):
        assert b.score == pytest.approx(a.score, abs=tolerance)
        if a.position != b.position:  # only chunks with equal scores may swap
            assert any(abs(o.score - a.score) <= tolerance and o.position == b.position for o in local)
    if local:
        last = local[-1].score
        above = lambda hits: {h.position for h in hits if h.score > last + tolerance}  # noqa: E731
        assert above(local) == above(remote)
        assert local[0].position == remote[0].position or abs(local[0].score - local[1].score) <= tolerance


def assert_same_as_local(local, qdrant, questions: list[str], mode: str, fusion: str = "scores") -> None:
    """The chunks of ``local`` and ``qdrant`` (the same index version) agree for every question, as the
    module docstring says (hybrid: fused by score on this side, or by reciprocal rank in Qdrant)."""
    identical = 0
    for question in questions:
        vector = local.query_embedder.encode([question])[0]
        expected = retrieve(local.index, question, vector, K, mode, fusion=fusion)  # type: ignore[arg-type]
        got = retrieve(qdrant.index, question, vector, K, mode, fusion=fusion)  # type: ignore[arg-type]
        if mode == "hybrid":  # tied BM25 chunks swapped there shift a few fused scores (RRF: by < 1 / (60 * 61))
            assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=HYBRID_TIE), question
            last = expected[-1].score + HYBRID_TIE  # a chunk clearly above the cut is in both lists
            assert {h.position for h in expected if h.score > last} <= {h.position for h in got}, question
            assert {h.position for h in got if h.score > last} <= {h.position for h in expected}, question
        else:
            assert_same_ranking(expected, got, 1e-5 if mode == "dense" else 1e-4)
        assert [h.chunk for h in expected[:1]] == [h.chunk for h in got[:1]], question
        identical += [h.position for h in expected] == [h.position for h in got]
        if mode == "dense":
            assert [(h.position, h.dense_rank) for h in expected] == [(h.position, h.dense_rank) for h in got]
    # Measured: dense 130/130 identical lists, bm25 126/130, hybrid 128/130 (the rest differ only in ties).
    assert identical >= 0.95 * len(questions)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_qdrant_returns_the_same_chunks_as_local(pair, questions, mode) -> None:
    assert_same_as_local(*pair, questions, mode)


def test_qdrant_rrf_fusion_returns_the_same_chunks_as_local_rrf(pair, questions) -> None:
    assert_same_as_local(*pair, questions, "hybrid", fusion="rrf")


def test_hybrid_scores_are_our_rrf_with_k60(pair) -> None:
    local, qdrant = pair
    question = "Which vectors have a packaging capacity of 4.7 kilobases?"
    vector = local.query_embedder.encode([question])[0]
    for hit in retrieve(qdrant.index, question, vector, K, "hybrid", fusion="rrf"):  # fused by Qdrant
        expected = sum(1 / (60 + r) for r in (hit.dense_rank, hit.lexical_rank) if r)
        assert hit.score == pytest.approx(expected, rel=1e-5)


def hand_bm25(question: str, index, k1: float = 1.5, b: float = 0.75, average: float | None = None
              ) -> dict[int, float]:
    """Lucene BM25 of every chunk, computed here from the chunk terms alone (``average``: the mean
    chunk length, else the index's own)."""
    docs = [chunk_terms(c) for c in index.chunks]
    n = len(docs)
    average = average or sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    scores = {}
    for pos, doc in enumerate(docs):
        tf = Counter(doc)
        score = 0.0
        for term in terms(question, drop_question_words=True):
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(doc) / average))
        if score > 0:
            scores[pos] = score
    return scores


def test_sparse_scores_equal_hand_computed_bm25(pair, questions) -> None:
    _, qdrant = pair
    index = qdrant.index
    for question in questions[:40] + ["gene gene therapy therapy vector"]:  # repeated terms count twice
        expected = hand_bm25(question, index)
        hits = retrieve(index, question, None, 200, "bm25")
        assert {h.position for h in hits} == set(expected)
        for hit in hits:
            assert hit.lexical_score == pytest.approx(expected[hit.position], abs=1e-4)


def test_doc_filter_is_applied_by_qdrant(pair) -> None:
    local, qdrant = pair
    doc = qdrant.index.doc_ids[3]
    question = "What is gene therapy?"
    vector = local.query_embedder.encode([question])[0]
    for mode in ("dense", "bm25", "hybrid"):
        hits = retrieve(qdrant.index, question, vector, K, mode, doc_filter=[doc])
        expected = retrieve(local.index, question, vector, K, mode, doc_filter=[doc])
        assert {h.chunk.doc_id for h in hits} <= {doc}
        assert sorted(h.position for h in hits) == sorted(h.position for h in expected)


def test_answers_are_the_same_through_the_assistant(pair, questions) -> None:
    local, qdrant = pair
    for question in questions[:25]:
        a, b = local.ask(question), qdrant.ask(question)
        assert (a.text, a.abstained, [c.doc for c in a.citations]) == (b.text, b.abstained, [c.doc for c in b.citations])


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://qdrant.invalid:6333"])
def test_a_bad_url_is_one_clear_line(tmp_path: Path, url: str) -> None:
    local = make_assistant(CORPUS, tmp_path / "index")
    local.build()
    before = sorted(p.name for p in (tmp_path / "index").iterdir())
    remote = make_assistant(CORPUS, tmp_path / "index", backend="qdrant", qdrant_url=url)
    with pytest.raises(BackendError) as caught:
        remote.index  # noqa: B018
    message = str(caught.value)
    assert "\n" not in message and url in message and message.startswith("cannot reach Qdrant at")
    assert caught.value.exit_code == 2
    with pytest.raises(BackendError):  # ensure_index must not rebuild the local index for it
        remote.ensure_index(CORPUS)
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == before


def test_local_folder_mode_persists_and_refuses_what_does_not_match(tmp_path: Path) -> None:
    store = str(tmp_path / "qdrant")
    built = make_assistant(CORPUS, tmp_path / "index", backend="qdrant", qdrant_url=store)
    built.build()
    collection = built.index.backend.collection
    qdrant_backend.forget_client(store)  # as if another process opened it next
    served = make_assistant(CORPUS, tmp_path / "index", backend="qdrant", qdrant_url=store)
    assert served.index.backend.collection == collection
    assert served.ask("What is gene therapy?").citations
    client = served.index.backend.client
    # A collection with this version's name but another model: refused, not used.
    client.delete_collection(collection)
    meta = qdrant_sync.expected_metadata(served.index) | {"model": "other-model"}
    client.create_collection(collection, vectors_config={}, metadata=meta)
    served._index = None
    with pytest.raises(BackendError, match="built from other data: model 'other-model'"):
        served.index  # noqa: B018
    # Missing altogether: one line naming it and how to build it; nothing is created.
    client.delete_collection(collection)
    with pytest.raises(BackendError, match=f"has no collection {collection}.*assistant index --backend qdrant"):
        served.index  # noqa: B018
    assert not client.collection_exists(collection)
    qdrant_backend.forget_client(store)


def test_a_failed_upload_leaves_the_previous_collection_serving(tmp_path: Path, monkeypatch, corpus_copy) -> None:
    assistant = make_assistant(corpus_copy, tmp_path / "index", backend="qdrant")
    assistant.build()
    old = assistant.index
    client = old.backend.client
    assert qdrant_sync.alias_target(client, ":memory:", "assistant-chunks") == old.backend.collection
    (corpus_copy / "extra.txt").write_text(" ".join(f"Zebrafish study {i} found that fin regrowth after injury "
                                                    f"depends on gene {i}." for i in range(6)), encoding="utf-8")
    calls = []

    def failing_upsert(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise ConnectionError("connection reset")
        return real(*args, **kwargs)

    real = client.upsert
    # A full rebuild, as for a new model or chunking (any change above this share of the chunks).
    monkeypatch.setattr(qdrant_sync, "INCREMENTAL_MAX_SHARE", 0.0)
    monkeypatch.setattr(qdrant_sync, "UPLOAD_BATCH", 8)
    monkeypatch.setattr(client, "upsert", failing_upsert)
    with pytest.raises(BackendError, match="uploading chunks to .*connection reset"):
        assistant.build()
    assert assistant.index is old  # still answering from the previous version and its collection
    assert qdrant_sync.alias_target(client, ":memory:", "assistant-chunks") == old.backend.collection
    assert client.count(old.backend.collection, exact=True).count == len(old.chunks)
    assert assistant.ask("What is gene therapy?").citations
    monkeypatch.setattr(client, "upsert", real)
    assistant.build()  # the half-built collection is replaced, the alias moves, the old one stays until next time
    assert assistant.index is not old
    assert qdrant_sync.alias_target(client, ":memory:", "assistant-chunks") == assistant.index.backend.collection
    assert client.count(assistant.index.backend.collection, exact=True).count == len(assistant.index.chunks)
    assert assistant.index.manifest.documents["extra.txt"].chunks


def test_the_default_path_never_imports_qdrant() -> None:
    code = ("import sys; sys.path.insert(0, 'tests'); from conftest import make_assistant, CORPUS; "
            "import tempfile, pathlib; a = make_assistant(CORPUS, pathlib.Path(tempfile.mkdtemp()) / 'i'); "
            "a.build(); a.ask('What is gene therapy?'); assert 'qdrant_client' not in sys.modules, 'imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_sparse_vectors_match_the_bm25s_index(pair) -> None:
    """The saturated term frequencies we upload times Qdrant's IDF reproduce bm25s's own scores."""
    local, _ = pair
    index = local.index
    for question in ("gene therapy vector", "Zolgensma cost", "adeno associated virus packaging capacity"):
        query = [t for t in terms(question, drop_question_words=True) if t in index.bm25.vocab_dict]
        expected = np.asarray(index.bm25.get_scores(query))
        hand = hand_bm25(question, index)
        for pos, score in hand.items():
            assert score == pytest.approx(float(expected[pos]), abs=1e-4)
