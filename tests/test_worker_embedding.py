"""Embedding with several local processes (``assistant index --workers N``): the same vectors as one process.

The tests that start worker processes are marked ``process``; the shard arithmetic runs in the fast tier."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

from assistant.errors import AssistantError, UserInputError
from assistant.index.embedding import HashEmbedder, SentenceTransformerEmbedder, length_batches
from assistant.index.worker_embedding import ProcessPoolEmbedder, batch_shards, shard_bounds, worker_threads
from assistant.settings import Settings
from conftest import CORPUS, make_assistant

TEXTS = [f"Sentence {i}: gene therapy delivers a working copy of gene {i % 13} with an AAV vector." * (1 + i % 3)
         for i in range(150)]


@pytest.mark.parametrize(("count", "shards"), [(10, 3), (7, 7), (3, 8), (1000, 16), (1, 1)])
def test_shards_cover_every_row_once_in_order(count: int, shards: int) -> None:
    bounds = shard_bounds(count, shards)
    assert [row for begin, end in bounds for row in range(begin, end)] == list(range(count))
    assert len(bounds) == min(count, shards)
    sizes = [end - begin for begin, end in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_shards_are_runs_of_whole_batches_of_the_one_process_order() -> None:
    batches = length_batches(TEXTS, 8)
    shards = batch_shards(TEXTS, 8, 5)
    assert len(shards) == 5
    assert [i for shard in shards for i in shard] == [i for batch in batches for i in batch]
    done = 0
    for shard in shards:  # a worker re-batching its shard forms exactly its run of the one-process batches
        rebatched = [[shard[i] for i in batch] for batch in length_batches([TEXTS[i] for i in shard], 8)]
        assert rebatched == batches[done:done + len(rebatched)]
        done += len(rebatched)
    assert done == len(batches)


def test_the_cores_are_split_among_the_workers() -> None:
    assert worker_threads(2, 2) == 1
    assert worker_threads(2, 16) == 8
    assert worker_threads(3, 2) == 1  # never zero


@pytest.mark.process  # worker processes
def test_two_workers_give_the_fake_embedders_vectors_in_order() -> None:
    embedder = HashEmbedder(64)
    done: list[int] = []
    vectors = ProcessPoolEmbedder(embedder, 64, 2).encode(TEXTS, progress=done.append)
    np.testing.assert_allclose(vectors, embedder.encode(TEXTS), atol=1e-6)
    assert sum(done) == len(TEXTS) and len(done) > 1  # progress per shard
    assert ProcessPoolEmbedder(embedder, 64, 2).encode([]).shape == (0, 64)


@pytest.mark.process  # worker processes
def test_a_build_with_two_workers_writes_the_same_vectors(tmp_path: Path) -> None:
    one = make_assistant(CORPUS, tmp_path / "one")
    two = make_assistant(CORPUS, tmp_path / "two", workers=2)
    assert isinstance(two._batch_embedder(), ProcessPoolEmbedder)
    built = two.build()
    assert built.embedded_texts == len(two.index.sentences) > 0
    one.build()
    np.testing.assert_allclose(two.index.sentence_vectors, one.index.sentence_vectors, atol=1e-6)
    assert two.index.manifest.model == one.index.manifest.model == "hash-64"
    assert two.ask("What is gene therapy?").text == one.ask("What is gene therapy?").text


class _BatchSensitiveEmbedder(HashEmbedder):
    """Like a bf16 model: a text's vector depends on the other texts of its batch (here, the shortest one's
    length), so only the same batches give the same vectors."""

    def encode(self, texts, batch_size=64, progress=None):
        out = super().encode(texts)
        for batch in length_batches(texts, batch_size):
            out[batch] += 1e-3 * len(texts[batch[0]])
        return out


@pytest.mark.process  # worker processes
def test_workers_encode_the_batches_one_process_would() -> None:
    embedder = _BatchSensitiveEmbedder(64)
    for batch_size in (8, 64):
        np.testing.assert_allclose(ProcessPoolEmbedder(embedder, 64, 2).encode(TEXTS, batch_size=batch_size),
                                   embedder.encode(TEXTS, batch_size=batch_size), atol=1e-7)


class _LockedEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.lock = threading.Lock()  # cannot be pickled


class _DyingEmbedder(HashEmbedder):
    def encode(self, texts, batch_size=64, progress=None):
        os._exit(3)  # a worker killed (out of memory, say)


def test_an_embedder_that_cannot_travel_is_refused_in_one_line() -> None:
    with pytest.raises(UserInputError, match=r"hash-64 cannot be sent to worker processes .*without --workers"):
        ProcessPoolEmbedder(_LockedEmbedder(), 64, 2)


@pytest.mark.process  # worker processes
def test_a_worker_that_dies_is_one_error_naming_the_workers() -> None:
    with pytest.raises(AssistantError, match="an embedding worker process died .*fewer than 2 workers"):
        ProcessPoolEmbedder(_DyingEmbedder(64), 64, 2).encode(TEXTS)


def test_workers_and_ray_are_settings_with_checked_values() -> None:
    assert Settings().workers is None and Settings().ray_address is None
    for good in ("local", "auto", "10.0.0.5:6379", "ray://head.example.com:10001"):
        assert Settings(ray_address=good).ray_address == good
    for bad in ("", "http://x:1", "head", "host:port"):
        with pytest.raises(ValueError, match="expected host:port, ray://host:port, 'auto' or 'local'"):
            Settings(ray_address=bad)
    with pytest.raises(ValueError):
        Settings(workers=0)


@pytest.mark.process
def test_index_with_workers_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli("index", "--corpus", str(CORPUS), "--index", "idx", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "embedded " in result.stdout and "Traceback" not in result.stderr
    assert_one_line_error(run_cli("index", "--workers", "0", cwd=tmp_path), 2, "--workers")


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_two_workers_give_the_real_models_vectors(precision: str) -> None:
    """bf16 too, where another batch would change a vector by up to 2e-3."""
    embedder = SentenceTransformerEmbedder(precision=precision)
    texts = TEXTS[:40]
    vectors = ProcessPoolEmbedder(embedder, 384, 2).encode(texts, batch_size=8)
    np.testing.assert_allclose(vectors, embedder.encode(texts, batch_size=8), atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
