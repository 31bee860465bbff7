"""Index building, incremental updates, crash safety and corruption detection (fake embedder)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS_FILES, FAKE_MODEL, make_assistant

import assistant.index.build as index_build
from assistant.errors import IndexError_
from assistant.index.manifest import (
    CURRENT,
    MANIFEST,
    current_version,
    previous_version,
    settings_mismatch,
)
from assistant.index.store import load_index
from assistant.models import FORMAT_VERSION, ChunkingSettings
from assistant.service import Assistant

EXTRA = (
    "Zebrafish Vector Trials\n\n"
    "The quokkavirus vector was tested in zebrafish larvae at a marine laboratory in Reykjavik during the "
    "spring of 2031, where it delivered a fluorescent reporter gene to the retina of almost every larva. "
    "The team reported that the quokkavirus vector caused no inflammation and that the reporter stayed "
    "active for the whole six month study, which encouraged plans for trials in larger animals.\n"
)


def version_dir(assistant: Assistant) -> Path:
    version = current_version(assistant.settings.index)
    assert version is not None
    return version


def chunk_view(index, doc_id: str) -> list[tuple]:
    return [(c.chunk_id, c.start, c.end, c.text, tuple(c.sentence_ids)) for c in index.chunks if c.doc_id == doc_id]


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


# --- manifest ----------------------------------------------------------------------------------


def test_manifest_describes_the_index(fake_assistant: Assistant) -> None:
    version = version_dir(fake_assistant)
    data = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    assert data["format_version"] == FORMAT_VERSION
    assert data["model"] == FAKE_MODEL
    assert data["dimension"] == 64
    assert data["chunking"] == {"max_words": 120, "overlap_sentences": 1, "cleaning_version": 1}
    assert sorted(data["documents"]) == CORPUS_FILES
    corpus = fake_assistant.settings.corpus
    for doc_id, entry in data["documents"].items():
        assert entry["sha256"] == hashlib.sha256((corpus / doc_id).read_bytes()).hexdigest()
        assert entry["chars"] == len((corpus / doc_id).read_bytes().decode("utf-8"))
        assert entry["chunks"] > 0 and entry["sentences"] > 0
    files = data["files"]
    for required in ["documents.jsonl", "chunks.jsonl", "sentences.jsonl", "dense.faiss", "sentence_vectors.npy",
                     "sentence_df.json"]:
        assert required in files
    assert any(name.startswith("bm25/") for name in files)
    on_disk = sorted(p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file())
    assert sorted([*files, MANIFEST]) == on_disk
    for name, checksum in files.items():
        assert checksum == hashlib.sha256((version / name).read_bytes()).hexdigest(), name


def test_loaded_index_is_consistent(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    assert index.dense.ntotal == len(index.chunks)
    assert index.dense.d == 64
    assert index.sentence_vectors.shape == (len(index.sentences), 64)
    assert np.allclose(np.linalg.norm(index.sentence_vectors, axis=1), 1.0, atol=1e-4)
    assert index.sentence_df_total == len(index.sentences)
    assert all(0 <= p < len(index.chunks) for p in index.chunk_of_sentence)
    # The stored vectors are the embedder's vectors of the sentence texts.
    expected = fake_assistant.embedder.encode([s.text for s in index.sentences[:5]])
    assert np.allclose(index.sentence_vectors[:5], expected, atol=1e-5)


def test_current_points_at_the_live_version_and_one_previous_is_kept(fake_assistant: Assistant) -> None:
    index_dir = fake_assistant.settings.index
    name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [name]
    fake_assistant.build()
    name2 = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    assert name2 != name
    assert sorted(p.name for p in index_dir.iterdir() if p.is_dir()) == sorted([name, name2]), "previous kept"
    assert previous_version(index_dir).name == name
    fake_assistant.build()
    name3 = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    kept = sorted(p.name for p in index_dir.iterdir() if p.is_dir())
    assert name3 in kept and len(kept) == 2 and name not in kept, "older versions removed"


# --- incremental builds ------------------------------------------------------------------------


def test_second_build_embeds_nothing(fake_assistant: Assistant) -> None:
    before = fake_assistant.index
    result = fake_assistant.build()
    assert result.embedded_texts == 0
    assert result.reused_texts == len(before.sentences)  # chunk vectors are pooled, never embedded
    assert (result.changed, result.added, result.removed) == ([], [], [])
    after = fake_assistant.index
    assert [c.model_dump() for c in after.chunks] == [c.model_dump() for c in before.chunks]
    assert np.array_equal(after.sentence_vectors, before.sentence_vectors)


def test_first_build_embeds_everything(tmp_path: Path, corpus_copy: Path) -> None:
    assistant = make_assistant(corpus_copy, tmp_path / "fresh")
    result = assistant.build()
    index = assistant.index
    assert result.embedded_texts == len(index.sentences)
    assert result.reused_texts == 0
    assert result.added == CORPUS_FILES and result.changed == [] and result.removed == []


def test_changing_one_document_reembeds_only_its_texts(fake_assistant: Assistant) -> None:
    before = fake_assistant.index
    total = len(before.sentences)
    corpus = fake_assistant.settings.corpus
    target = corpus / "004_54acd962cbed51f9.txt"
    text = target.read_text(encoding="utf-8")
    anchor = "Disorders that are caused by mutations in a single gene are the best candidates for gene therapy."
    assert anchor in text
    target.write_text(text.replace(anchor, anchor + " Vectors are tested in mice before any human trial begins."),
                      encoding="utf-8")

    result = fake_assistant.build()
    assert result.changed == ["004_54acd962cbed51f9.txt"]
    assert result.added == [] and result.removed == []
    assert 0 < result.embedded_texts < total
    after = fake_assistant.index
    doc_texts = sum(1 for s in after.sentences if s.doc_id == target.name)
    assert result.embedded_texts <= doc_texts
    for doc_id in CORPUS_FILES:
        if doc_id != target.name:
            assert chunk_view(after, doc_id)[0][0] == chunk_view(before, doc_id)[0][0]
            assert [v[:4] for v in chunk_view(after, doc_id)] == [v[:4] for v in chunk_view(before, doc_id)]
    assert any("Vectors are tested in mice" in s.text for s in after.sentences)
    assert after.manifest.documents[target.name].sha256 != before.manifest.documents[target.name].sha256


def test_added_and_removed_documents_are_detected(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.corpus
    (corpus / "001_95038281623041da.txt").unlink()
    (corpus / "new" / "extra.txt").parent.mkdir()
    (corpus / "new" / "extra.txt").write_text(EXTRA, encoding="utf-8")
    assert fake_assistant.stale_reason() == "corpus changed: 0 changed, 1 added, 1 removed"

    result = fake_assistant.build()
    assert result.added == ["new/extra.txt"]
    assert result.removed == ["001_95038281623041da.txt"]
    assert result.changed == []
    index = fake_assistant.index
    assert "new/extra.txt" in index.documents and "001_95038281623041da.txt" not in index.documents
    assert not any(c.doc_id == "001_95038281623041da.txt" for c in index.chunks)
    assert any("quokkavirus" in c.text for c in index.chunks)
    assert fake_assistant.stale_reason() is None


def test_ensure_index_builds_only_when_needed(tmp_path: Path, corpus_copy: Path) -> None:
    assistant = make_assistant(corpus_copy, tmp_path / "index")
    assert assistant.stale_reason() == f"no index in {tmp_path / 'index'}"
    assert assistant.ensure_index() is not None
    assert assistant.ensure_index() is None
    (corpus_copy / "extra.txt").write_text(EXTRA, encoding="utf-8")
    result = assistant.ensure_index()
    assert result is not None and result.added == ["extra.txt"]


# --- crash safety ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["faiss.write_index", "np.save"])
def test_crash_while_writing_keeps_previous_index(fake_assistant: Assistant, monkeypatch, target: str) -> None:
    index_dir = fake_assistant.settings.index
    before = fake_assistant.index
    pointer = (index_dir / CURRENT).read_text(encoding="utf-8")
    corpus = fake_assistant.settings.corpus
    (corpus / "extra.txt").write_text(EXTRA, encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    module, name = target.split(".")
    monkeypatch.setattr(getattr(index_build, module), name, boom)
    with pytest.raises(IndexError_, match="previous index is unchanged"):
        fake_assistant.build()
    monkeypatch.undo()

    assert (index_dir / CURRENT).read_text(encoding="utf-8") == pointer
    reloaded = load_index(index_dir)
    assert reloaded is not None
    assert sorted(reloaded.documents) == sorted(before.documents)
    assert [c.chunk_id for c in reloaded.chunks] == [c.chunk_id for c in before.chunks]
    assert leftovers(index_dir) == []

    result = fake_assistant.build()
    assert result.added == ["extra.txt"]
    assert "extra.txt" in fake_assistant.index.documents
    assert leftovers(index_dir) == []


def test_interrupted_build_leaves_no_tmp_after_next_build(fake_assistant: Assistant, monkeypatch) -> None:
    """A crash that is not an OSError (the process dies) may leave a .tmp folder behind; the next
    successful build removes it and the previous index stays loadable meanwhile."""
    index_dir = fake_assistant.settings.index
    before = sorted(fake_assistant.index.documents)

    def die(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_build.np, "save", die)
    with pytest.raises(KeyboardInterrupt):
        fake_assistant.build()
    monkeypatch.undo()
    assert leftovers(index_dir), "the interrupted build left its temporary folder"
    assert sorted(load_index(index_dir).documents) == before
    fake_assistant.build()
    assert leftovers(index_dir) == []
    assert len([p for p in index_dir.iterdir() if p.is_dir()]) == 2  # the live version and the previous one


# --- corruption --------------------------------------------------------------------------------


def test_truncated_faiss_file_is_reported(fake_assistant: Assistant) -> None:
    path = version_dir(fake_assistant) / "dense.faiss"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexError_, match="dense.faiss"):
        load_index(fake_assistant.settings.index)
    with pytest.raises(IndexError_, match="dense.faiss"):
        load_index(fake_assistant.settings.index, verify=False)


def test_flipped_byte_in_chunks_is_reported(fake_assistant: Assistant) -> None:
    path = version_dir(fake_assistant) / "chunks.jsonl"
    data = bytearray(path.read_bytes())
    middle = data.index(b"gene", len(data) // 2)
    data[middle] = ord("G")  # still valid JSON: only the checksum can tell
    path.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="chunks.jsonl") as info:
        load_index(fake_assistant.settings.index)
    assert "checksum" in str(info.value)


def test_unparsable_chunks_file_is_reported_without_verification(fake_assistant: Assistant) -> None:
    path = version_dir(fake_assistant) / "chunks.jsonl"
    path.write_bytes(b"{not json\n" + path.read_bytes())
    with pytest.raises(IndexError_, match="chunks.jsonl"):
        load_index(fake_assistant.settings.index, verify=False)


def test_deleted_manifest_is_reported(fake_assistant: Assistant) -> None:
    (version_dir(fake_assistant) / MANIFEST).unlink()
    with pytest.raises(IndexError_, match="manifest.json"):
        load_index(fake_assistant.settings.index)


def test_deleted_vector_file_is_reported(fake_assistant: Assistant) -> None:
    (version_dir(fake_assistant) / "sentence_vectors.npy").unlink()
    with pytest.raises(IndexError_, match="sentence_vectors.npy"):
        load_index(fake_assistant.settings.index)


@pytest.mark.parametrize("content", ["", "../elsewhere\n", ".hidden\n", "v-does-not-exist\n"])
def test_corrupt_current_pointer_is_reported(fake_assistant: Assistant, content: str) -> None:
    (fake_assistant.settings.index / CURRENT).write_text(content, encoding="utf-8")
    with pytest.raises(IndexError_, match="CURRENT|manifest.json"):
        load_index(fake_assistant.settings.index)


def test_corrupt_index_is_rebuilt_from_scratch(fake_assistant: Assistant) -> None:
    path = version_dir(fake_assistant) / "dense.faiss"
    path.write_bytes(b"garbage")
    result = fake_assistant.build()
    assert result.embedded_texts > 0
    assert load_index(fake_assistant.settings.index) is not None


def test_no_index_loads_as_none(tmp_path: Path) -> None:
    assert load_index(tmp_path / "missing") is None
    assert load_index(tmp_path) is None


def test_assistant_without_index_raises(tmp_path: Path, corpus_copy: Path) -> None:
    assistant = make_assistant(corpus_copy, tmp_path / "none")
    with pytest.raises(IndexError_, match="no index"):
        assistant.index


# --- settings mismatch -------------------------------------------------------------------------


def test_settings_mismatch_names_the_setting(fake_assistant: Assistant) -> None:
    manifest = fake_assistant.index.manifest
    assert settings_mismatch(manifest, FAKE_MODEL, ChunkingSettings()) is None
    model = settings_mismatch(manifest, "other-model", ChunkingSettings())
    assert model is not None and "model" in model and "other-model" in model and FAKE_MODEL in model
    words = settings_mismatch(manifest, FAKE_MODEL, ChunkingSettings(max_words=50))
    assert words is not None and "max_words" in words and "120" in words and "50" in words
    overlap = settings_mismatch(manifest, FAKE_MODEL, ChunkingSettings(overlap_sentences=0))
    assert overlap is not None and "overlap_sentences" in overlap
    old = manifest.model_copy(update={"format_version": FORMAT_VERSION + 1})
    assert "format version" in settings_mismatch(old, FAKE_MODEL, ChunkingSettings())


def test_loading_with_other_settings_raises(fake_assistant: Assistant) -> None:
    settings = fake_assistant.settings
    other = make_assistant(settings.corpus, settings.index, chunking=ChunkingSettings(max_words=50))
    with pytest.raises(IndexError_, match="max_words"):
        other.index
    assert "max_words" in other.stale_reason()
    result = other.build()  # rebuilding with the new settings fixes it
    assert result.manifest.chunking.max_words == 50
    assert other.index.manifest.chunking.max_words == 50


def test_other_model_reembeds_everything(fake_assistant: Assistant) -> None:
    from assistant.index.embedding import HashEmbedder
    from assistant.settings import Settings

    settings = fake_assistant.settings
    other = Assistant(Settings(corpus=settings.corpus, index=settings.index, model="hash-32"),
                      embedder=HashEmbedder(32))
    assert "model" in other.stale_reason()
    result = other.build()
    index = other.index
    assert result.embedded_texts == len(index.sentences)
    assert index.dense.d == 32


def test_chunk_vectors_are_the_normalised_mean_of_their_sentences(fake_assistant: Assistant) -> None:
    import numpy as np

    index = fake_assistant.index
    for position, chunk in enumerate(index.chunks[:10]):
        expected = index.sentence_vectors[chunk.sentence_ids].mean(axis=0)
        expected /= np.linalg.norm(expected)
        assert np.allclose(index.dense.reconstruct(position), expected, atol=1e-5)
