"""Incremental Qdrant updates: adding, changing or removing a document touches only its own points.

The bundled corpus with the fake embedder in qdrant-client's local mode (``:memory:``, or a folder
where a second client must see what the first left). Updates go through the service facade
(``Assistant.add_document`` / ``remove_document`` / ``build``) as the UI and CLI do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_assistant

pytest.importorskip("qdrant_client")

from test_qdrant_backend import (  # noqa: E402
    K,
    _fresh_memory_store,  # noqa: F401 (autouse: each test gets an empty ``:memory:`` store)
    assert_same_as_local,
    hand_bm25,
    questions,  # noqa: F401 (fixture)
)

from assistant.answer.retrieval import retrieve  # noqa: E402
from assistant.index import qdrant_backend, qdrant_sync  # noqa: E402
from assistant.index.backends import BackendError  # noqa: E402
from assistant.service import Assistant  # noqa: E402

ALIAS = "assistant-chunks"
# Three chunks of about the corpus's average length, so the BM25 average length moves by less than
# AVGDL_TOLERANCE (0.2%) and the update stays in place. Named to sort first: every chunk of the
# corpus moves three positions down, and hits must still find their chunks.
ADDED_NAME = "000_added.txt"
ADDED = "\n\n".join(
    " ".join(f"Zebrafish study {part}-{i} found that fin regrowth after injury depends on gene {i} "
             f"expressed in the blastema of adult fish." for i in range(3)) for part in "abcd").encode()
CHANGED = ADDED.replace(b"adult fish", b"juvenile fish")


@pytest.fixture
def served(corpus_copy: Path, tmp_path: Path) -> Assistant:
    """An assistant on a copy of the corpus, its index uploaded into Qdrant ``:memory:``."""
    assistant = make_assistant(corpus_copy, tmp_path / "index", backend="qdrant")
    assistant.build()
    return assistant


def snapshot(assistant: Assistant) -> dict[str, tuple[tuple[float, ...], dict]]:
    """Every point of the assistant's collection: id -> (dense vector, payload)."""
    backend = assistant.index.backend
    records, _ = backend.client.scroll(backend.collection, limit=10_000, with_payload=True, with_vectors=True)
    return {str(r.id): (tuple(r.vector[qdrant_backend.DENSE]), r.payload) for r in records}


def metadata(assistant: Assistant) -> dict:
    backend = assistant.index.backend
    return dict(backend.client.get_collection(backend.collection).config.metadata or {})


class Touched:
    """Records the point ids every upsert and delete of a client sends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client) -> None:
        self.upserted: set[str] = set()
        self.deleted: set[str] = set()
        upsert, delete = client.upsert, client.delete

        def recording_upsert(name, points, **kwargs):
            self.upserted.update(str(p.id) for p in points)
            return upsert(name, points=points, **kwargs)

        def recording_delete(name, points_selector, **kwargs):
            self.deleted.update(str(p) for p in points_selector.points)
            return delete(name, points_selector=points_selector, **kwargs)

        monkeypatch.setattr(client, "upsert", recording_upsert)
        monkeypatch.setattr(client, "delete", recording_delete)


def local_twin(assistant: Assistant) -> Assistant:
    """The same index folder searched by FAISS + bm25s."""
    return make_assistant(assistant.settings.corpus, assistant.settings.index)


def assert_like_local_with_kept_avgdl(assistant: Assistant, questions: list[str]) -> None:
    """After an update in place the collection keeps its avgdl: dense search is exactly the local one,
    BM25 scores are Lucene BM25 with the kept avgdl (to 1e-4), and the top chunk of every mode is the
    local one. Measured: bm25 and hybrid lists identical to local for 122 and 124 of 130 questions."""
    local = local_twin(assistant)
    average = metadata(assistant)["avgdl"]
    assert abs(average / qdrant_sync.plan(assistant.index).avgdl - 1) <= qdrant_sync.AVGDL_TOLERANCE
    assert_same_as_local(local, assistant, questions, "dense")
    for number, question in enumerate(questions):
        vector = local.query_embedder.encode([question])[0]
        if number < 40:  # hand-computed BM25 reads every chunk: 40 questions are enough
            hits = retrieve(assistant.index, question, None, 500, "bm25")
            expected = hand_bm25(question, assistant.index, average=average)
            assert {h.position: pytest.approx(s, abs=1e-4) for h in hits for s in [h.lexical_score]} == expected
        for mode in ("bm25", "hybrid"):
            top = retrieve(local.index, question, vector, K, mode)[:1]
            assert [h.position for h in retrieve(assistant.index, question, vector, K, mode)[:1]] == \
                [h.position for h in top], (mode, question)


def test_adding_a_document_upserts_only_its_points(served: Assistant, monkeypatch, questions) -> None:
    collection = served.index.backend.collection
    before = snapshot(served)
    touched = Touched(monkeypatch, served.index.backend.client)
    doc = served.add_document(ADDED_NAME, ADDED)
    index = served.index
    assert index.backend.collection == collection  # in place: no new collection, the alias unmoved
    after = snapshot(served)
    own = {pid for pid, (_, payload) in after.items() if payload["doc_id"] == doc}
    assert len(own) == index.manifest.documents[doc].chunks == 3
    assert touched.upserted == own and not touched.deleted
    assert {pid: after[pid] for pid in before} == before  # every other point as it was
    assert len(after) == len(index.chunks)
    assert metadata(served)["index_version"] == index.path.name and not metadata(served).get("updating_to")
    assert_like_local_with_kept_avgdl(served, questions)


def test_removing_a_document_deletes_only_its_points(served: Assistant, monkeypatch, questions) -> None:
    original_avgdl = metadata(served)["avgdl"]
    doc = served.add_document(ADDED_NAME, ADDED)
    collection = served.index.backend.collection
    before = snapshot(served)
    own = {pid for pid, (_, payload) in before.items() if payload["doc_id"] == doc}
    touched = Touched(monkeypatch, served.index.backend.client)
    served.remove_document(doc)
    assert served.index.backend.collection == collection
    assert touched.deleted == own and not touched.upserted
    assert snapshot(served) == {pid: point for pid, point in before.items() if pid not in own}
    # The corpus is the original again, and so is avgdl: every mode as local, to the last tie.
    assert qdrant_sync.plan(served.index).avgdl == pytest.approx(original_avgdl, abs=1e-12)
    for mode in ("dense", "bm25", "hybrid"):
        assert_same_as_local(local_twin(served), served, questions, mode)


def test_an_unchanged_rebuild_touches_no_point(served: Assistant, monkeypatch) -> None:
    before = snapshot(served)
    touched = Touched(monkeypatch, served.index.backend.client)
    old_version = served.index.path.name
    served.build()
    assert served.index.path.name != old_version and metadata(served)["index_version"] == served.index.path.name
    assert not touched.upserted and not touched.deleted and snapshot(served) == before


@pytest.mark.parametrize("failing", ["upsert", "delete"])
def test_a_failure_halfway_is_undone_and_the_previous_answers_keep_serving(served: Assistant, monkeypatch,
                                                                         questions, failing: str) -> None:
    served.add_document(ADDED_NAME, ADDED)
    old = served.index
    before = snapshot(served)
    answers = [served.ask(q).model_dump(exclude={"timings_ms"}) for q in questions[:20]]
    client = old.backend.client
    real = getattr(client, failing)
    calls = []

    def fails_once(*args, **kwargs):  # the second upsert (of three), or the first delete
        calls.append(1)
        if len(calls) == (2 if failing == "upsert" else 1):
            raise ConnectionError("connection reset")
        return real(*args, **kwargs)

    monkeypatch.setattr(qdrant_sync, "UPLOAD_BATCH", 1)
    monkeypatch.setattr(client, failing, fails_once)
    with pytest.raises(BackendError, match="connection reset"):
        served.add_document(ADDED_NAME, CHANGED)  # its three points deleted, three new ones upserted
    assert served.index is old
    assert snapshot(served) == before  # what was added is gone, what was deleted is back
    assert metadata(served)["index_version"] == old.path.name and not metadata(served).get("updating_to")
    assert [served.ask(q).model_dump(exclude={"timings_ms"}) for q in questions[:20]] == answers
    served.add_document(ADDED_NAME, CHANGED)
    assert served.index.backend.collection == old.backend.collection
    assert_like_local_with_kept_avgdl(served, questions)


def test_a_failed_undo_leaves_a_mark_that_serving_refuses_and_the_next_build_repairs(
        tmp_path: Path, corpus_copy: Path, monkeypatch, questions) -> None:
    store = str(tmp_path / "qdrant")
    building = make_assistant(corpus_copy, tmp_path / "index", backend="qdrant", qdrant_url=store)
    building.build()
    collection = building.index.backend.collection
    client = building.index.backend.client
    upsert, delete, update = client.upsert, client.delete, client.update_collection
    calls = []

    def dies_after_one(*args, **kwargs):  # the server goes away after the first upsert
        calls.append(1)
        if len(calls) > 1:
            raise ConnectionError("connection refused")
        return upsert(*args, **kwargs)

    def gone(*args, **kwargs):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(qdrant_sync, "UPLOAD_BATCH", 1)
    monkeypatch.setattr(client, "upsert", dies_after_one)
    monkeypatch.setattr(client, "delete", gone)
    monkeypatch.setattr(client, "update_collection", lambda *a, **k: gone() if calls else update(*a, **k))
    with pytest.raises(BackendError, match="connection refused"):
        building.add_document(ADDED_NAME, ADDED)
    for name, method in (("upsert", upsert), ("delete", delete), ("update_collection", update)):
        monkeypatch.setattr(client, name, method)
    serving = make_assistant(corpus_copy, tmp_path / "index", backend="qdrant", qdrant_url=store)
    with pytest.raises(BackendError) as caught:
        serving.index  # noqa: B018
    assert str(caught.value).startswith(f"Qdrant collection {collection} at {store} is being updated to index")
    assert "an update stopped halfway; finish it with `assistant index --backend qdrant`" in str(caught.value)
    building.build()  # the corpus without the upload: the stray point goes, the mark with it
    assert building.index.backend.collection == collection
    assert client.count(collection, exact=True).count == len(building.index.chunks)
    assert not metadata(building).get("updating_to")
    serving._index = None
    assert serving.index.backend.collection == collection
    for mode in ("dense", "bm25", "hybrid"):
        assert_same_as_local(local_twin(serving), serving, questions, mode)
    qdrant_backend.forget_client(store)


@pytest.mark.parametrize("rule", ["AVGDL_TOLERANCE", "INCREMENTAL_MAX_SHARE"])
def test_past_the_rules_a_full_rebuild_goes_into_a_new_collection(served: Assistant, monkeypatch, questions,
                                                                  rule: str) -> None:
    monkeypatch.setattr(qdrant_sync, rule, 0.0)  # any drift, any change: a full rebuild
    old = served.index.backend.collection
    client = served.index.backend.client
    served.add_document(ADDED_NAME, ADDED)
    new = served.index.backend.collection
    assert new == f"{ALIAS}-{served.index.path.name}" != old
    assert qdrant_sync.alias_target(client, ":memory:", ALIAS) == new and client.collection_exists(old)
    assert metadata(served)["avgdl"] == pytest.approx(qdrant_sync.plan(served.index).avgdl)
    for mode in ("dense", "bm25", "hybrid"):
        assert_same_as_local(local_twin(served), served, questions, mode)
