"""Memory-mapped JSONL rows (``index_columns``): byte offsets, random access, validation, the
key mapping, and how a loaded index uses them (fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.index.columns import (
    JsonlMapping,
    JsonlRows,
    VectorRows,
    line_offsets,
    write_jsonl,
)
from assistant.models import Chunk, Sentence
from assistant.service import Assistant

# Multi-byte text on purpose: é is 2 bytes, 中文 3 bytes each, the emoji 4 bytes in UTF-8, so an
# offset counted in characters instead of bytes would land inside a line.
TEXTS = ["Café au lait.", "中文句子。", "Rocket 🚀 launch.", "plain ascii", "é" * 10 + "🧬"]


def sentences() -> list[Sentence]:
    return [Sentence(sentence_id=i, doc_id=f"doc-{i % 2}.txt", start=10 * i, end=10 * i + len(text), text=text,
                     heading="Überschrift", position=i)
            for i, text in enumerate(TEXTS)]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, np.ndarray, list[Sentence]]:
    rows = sentences()
    path = tmp_path / "sentences.jsonl"
    offsets = write_jsonl(path, rows)
    return path, offsets, rows


# --- write_jsonl -------------------------------------------------------------------------------


def test_write_jsonl_returns_byte_offsets_with_the_end(written) -> None:
    path, offsets, rows = written
    data = path.read_bytes()
    assert offsets.dtype == np.int64 and offsets.shape == (len(rows) + 1,)
    assert offsets[0] == 0 and offsets[-1] == len(data)
    # Bytes, not characters: the file is longer in bytes than in characters.
    assert len(data) > len(data.decode("utf-8"))
    for i, row in enumerate(rows):
        line = data[offsets[i]:offsets[i + 1]]
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert Sentence.model_validate_json(line) == row
    assert np.array_equal(offsets, line_offsets(path))


def test_write_jsonl_accepts_dicts_and_keeps_unicode(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"text": "中文"}, {"text": "🚀", "n": 1}]
    offsets = write_jsonl(path, rows)
    lines = path.read_bytes().splitlines(keepends=True)
    assert [json.loads(line) for line in lines] == rows
    assert "中文".encode() in lines[0]  # written as UTF-8, not \u escapes
    assert offsets.tolist() == [0, len(lines[0]), len(lines[0]) + len(lines[1])]


def test_write_jsonl_of_nothing_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    offsets = write_jsonl(path, [])
    assert offsets.tolist() == [0]
    assert path.read_bytes() == b""


# --- JsonlRows ---------------------------------------------------------------------------------


def test_rows_random_access(written) -> None:
    path, offsets, rows = written
    table = JsonlRows(path, offsets, Sentence)
    assert len(table) == len(rows)
    for i in [3, 0, 4, 1, 2]:  # out of order
        assert table[i] == rows[i]
        assert isinstance(table[i], Sentence)
    assert table[1].text == "中文句子。"
    assert table[2].text == "Rocket 🚀 launch."


def test_rows_negative_index(written) -> None:
    path, offsets, rows = written
    table = JsonlRows(path, offsets, Sentence)
    assert table[-1] == rows[-1]
    assert table[-len(rows)] == rows[0]


def test_rows_slices(written) -> None:
    path, offsets, rows = written
    table = JsonlRows(path, offsets, Sentence)
    assert table[1:3] == rows[1:3]
    assert table[:] == rows
    assert table[::-1] == rows[::-1]
    assert table[::2] == rows[::2]
    assert table[-2:] == rows[-2:]
    assert table[10:20] == []


def test_rows_iteration_and_sequence_helpers(written) -> None:
    path, offsets, rows = written
    table = JsonlRows(path, offsets, Sentence)
    assert list(table) == rows
    assert list(reversed(table)) == rows[::-1]
    assert rows[2] in table
    assert table.index(rows[3]) == 3


@pytest.mark.parametrize("index", [5, 6, 100, -6, -100])
def test_rows_out_of_range_is_an_index_error(written, index: int) -> None:
    path, offsets, _ = written
    with pytest.raises(IndexError):
        JsonlRows(path, offsets, Sentence)[index]


def test_rows_offsets_must_match_the_file_size(written) -> None:
    path, offsets, _ = written
    with pytest.raises(ValueError, match="bytes"):
        JsonlRows(path, offsets[:-1], Sentence)  # ends before the file does
    longer = offsets.copy()
    longer[-1] += 1
    with pytest.raises(ValueError):
        JsonlRows(path, longer, Sentence)
    # The file changed after the offsets were taken.
    with path.open("ab") as handle:
        handle.write(b'{"doc_id": "x", "start": 0, "end": 1, "text": "x"}\n')
    with pytest.raises(ValueError, match=path.name):
        JsonlRows(path, offsets, Sentence)


def test_rows_offsets_must_start_at_zero(written) -> None:
    path, offsets, _ = written
    with pytest.raises(ValueError, match="bad line offsets"):
        JsonlRows(path, offsets[1:], Sentence)
    with pytest.raises(ValueError, match="bad line offsets"):
        JsonlRows(path, np.zeros(0, dtype=np.int64), Sentence)
    with pytest.raises(ValueError, match="bad line offsets"):
        JsonlRows(path, offsets.reshape(1, -1), Sentence)


def test_rows_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    table = JsonlRows(path, write_jsonl(path, []), Chunk)
    assert len(table) == 0
    assert list(table) == []
    assert table[:] == []
    with pytest.raises(IndexError):
        table[0]
    with pytest.raises(IndexError):
        table[-1]


def test_rows_of_chunks_round_trip(tmp_path: Path) -> None:
    chunks = [Chunk(chunk_id=f"d.txt#{i}", doc_id="d.txt", start=i, end=i + 3, text=text, sentence_ids=[i, i + 1])
              for i, text in enumerate(TEXTS)]
    path = tmp_path / "chunks.jsonl"
    table = JsonlRows(path, write_jsonl(path, chunks), Chunk)
    assert list(table) == chunks
    assert table[-1].sentence_ids == [4, 5]


# --- JsonlMapping ------------------------------------------------------------------------------


def test_mapping_by_key(written) -> None:
    path, offsets, rows = written
    keys = [f"key-{t}" for t in TEXTS]
    mapping = JsonlMapping(JsonlRows(path, offsets, Sentence), keys)
    assert len(mapping) == len(rows)
    assert list(mapping) == keys
    for i, key in enumerate(keys):
        assert key in mapping
        assert mapping[key] == rows[i]
        assert mapping.get(key) == rows[i]
        assert mapping.position(key) == i
    assert "missing" not in mapping and 3 not in mapping
    assert mapping.get("missing") is None
    assert mapping.get("missing", "default") == "default"
    with pytest.raises(KeyError):
        mapping["missing"]
    with pytest.raises(KeyError):
        mapping.position("missing")
    assert dict(mapping.items()) == dict(zip(keys, rows))


@pytest.mark.parametrize("count", [0, 4, 6])
def test_mapping_needs_one_key_per_row(written, count: int) -> None:
    path, offsets, _ = written
    with pytest.raises(ValueError, match=f"{count} keys for 5 rows"):
        JsonlMapping(JsonlRows(path, offsets, Sentence), [f"k{i}" for i in range(count)])


def test_mapping_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    mapping = JsonlMapping(JsonlRows(path, write_jsonl(path, []), Sentence), [])
    assert len(mapping) == 0 and list(mapping) == [] and "x" not in mapping


# --- the loaded index --------------------------------------------------------------------------


def test_loaded_index_reads_rows_on_demand(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    assert isinstance(index.chunks, JsonlRows) and not isinstance(index.chunks, list)
    assert isinstance(index.sentences, JsonlRows) and not isinstance(index.sentences, list)
    assert isinstance(index.documents, JsonlMapping)
    assert isinstance(index.sentence_vectors, VectorRows)
    assert index.sentence_vectors.shape == (len(index.sentences), 64)
    assert len(index.chunks) > 0 and len(index.sentences) > 0
    assert sorted(index.documents) == sorted(index.doc_ids)


def test_chunk_of_sentence_is_the_first_chunk_holding_it(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    first: dict[int, int] = {}
    for position, chunk in enumerate(index.chunks):
        for sid in chunk.sentence_ids:
            first.setdefault(sid, position)
    assert len(index.chunk_of_sentence) == len(index.sentences)
    for sid in range(len(index.sentences)):
        assert sid in first, f"sentence {sid} is in no chunk"
        assert index.chunk_of_sentence[sid] == first[sid], sid
        chunk = index.chunks[int(index.chunk_of_sentence[sid])]
        assert sid in chunk.sentence_ids and chunk.doc_id == index.sentences[sid].doc_id


def test_chunk_doc_is_the_row_of_each_chunks_document(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    assert len(index.chunk_doc) == len(index.chunks)
    for position, chunk in enumerate(index.chunks):
        assert index.doc_ids[int(index.chunk_doc[position])] == chunk.doc_id
        assert index.documents.position(chunk.doc_id) == index.chunk_doc[position]


def test_document_filter_only_cites_that_document(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    for doc_id in index.doc_ids:
        answer = fake_assistant.ask("What is gene therapy?", doc_filter=[doc_id])
        if answer.abstained:
            continue
        assert answer.citations
        for citation in answer.citations:
            assert citation.doc == doc_id
            assert index.documents[doc_id].text[citation.start:citation.end] == citation.quote
    # At least one document answers this question, so the filter was exercised.
    assert any(not fake_assistant.ask("What is gene therapy?", doc_filter=[d]).abstained for d in index.doc_ids)


# --- VectorRows ---------------------------------------------------------------------------------


@pytest.fixture
def vectors(tmp_path: Path) -> tuple[np.ndarray, VectorRows]:
    matrix = np.random.default_rng(3).standard_normal((300, 5)).astype(np.float32)
    np.save(tmp_path / "v.npy", matrix)
    return matrix, VectorRows(tmp_path / "v.npy")


def test_vector_rows_index_like_numpy(vectors) -> None:
    matrix, rows = vectors
    assert rows.shape == (300, 5) and rows.ndim == 2 and rows.dtype == np.float32 and len(rows) == 300
    assert np.array_equal(rows[7], matrix[7]) and np.array_equal(rows[-1], matrix[-1])
    assert np.array_equal(rows[np.int64(9)], matrix[9])
    assert np.array_equal(rows[10:20], matrix[10:20]) and np.array_equal(rows[::17], matrix[::17])
    assert np.array_equal(rows[280:400], matrix[280:400])
    picks = [5, 3, 4, 299, 0, 3, -2, 150, 151, 152]  # unordered, repeated, negative, runs
    assert np.array_equal(rows[picks], matrix[picks])
    assert np.array_equal(rows[np.array(picks)], matrix[picks])
    assert rows[[]].shape == (0, 5)
    assert np.array_equal(np.asarray(rows), matrix) and np.array_equal(np.stack(list(rows)), matrix)
    assert float(rows[3] @ matrix[3]) == pytest.approx(float(matrix[3] @ matrix[3]))


def test_vector_rows_are_copies_not_views(vectors) -> None:
    matrix, rows = vectors
    row = rows[2]
    row[:] = 0  # writable, and writing does not change what is read next
    assert np.array_equal(rows[2], matrix[2])


@pytest.mark.parametrize("bad", [300, -301])
def test_vector_rows_out_of_range(vectors, bad: int) -> None:
    _, rows = vectors
    with pytest.raises(IndexError):
        rows[bad]
    with pytest.raises(IndexError):
        rows[[0, bad]]


def test_vector_rows_refuse_a_truncated_or_wrong_file(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.zeros((10, 4), dtype=np.float32))
    data = (tmp_path / "v.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-8])
    with pytest.raises(ValueError, match="shorter"):
        VectorRows(tmp_path / "short.npy")
    np.save(tmp_path / "one.npy", np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        VectorRows(tmp_path / "one.npy")


def test_rows_survive_the_file_being_deleted(tmp_path: Path) -> None:
    """A rebuild removes the old version folder while questions may still read it."""
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "v.npy", matrix)
    rows = VectorRows(tmp_path / "v.npy")
    path = tmp_path / "s.jsonl"
    sentences = JsonlRows(path, write_jsonl(path, [Sentence(doc_id="d", start=0, end=1, text="é")]), Sentence)
    (tmp_path / "v.npy").unlink()
    path.unlink()
    assert np.array_equal(rows[1], matrix[1]) and sentences[0].text == "é"


def test_rows_iterate_correctly_from_many_threads_at_once(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "s.jsonl"
    written = [Sentence(doc_id=f"d{i}", start=i, end=i + 1, text=f"sentence {i} é" * (1 + i % 50)) for i in range(3000)]
    rows = JsonlRows(path, write_jsonl(path, written), Sentence)
    results: list[list[Sentence]] = []

    def read_all() -> None:
        results.append(list(rows))

    threads = [threading.Thread(target=read_all) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(result == written for result in results)
