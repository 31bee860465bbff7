"""Embedding a build's texts in other processes: ``assistant index --workers N`` (local worker processes,
here) and ``--ray ADDRESS`` (Ray actors, ``ray_embedding``, built on ``WorkerEmbedder``). Their common
base, ``OutOfProcessEmbedder``, also serves the server's one-off child process (``child_embedder``).

Each worker receives an unloaded copy of the build's embedder (pickled: the model is never sent), loads
the model once and encodes shards; the vectors are put back in the texts' order. A shard is a contiguous
run of whole batches of the order one process encodes in (``embedding.length_batches``), so every text
is encoded in the same batch as in one process, and the vectors are the same bit for bit, in bf16 too
(where another batch changes a vector by up to 2e-3). The cores are split among the workers (each one's
torch and OpenMP threads = cores // workers): two processes that each use every core only fight.

Local workers come from the standard library's ``ProcessPoolExecutor`` with the spawn context, never
fork: the parent may hold torch's thread pools or a loaded model.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from assistant.errors import AssistantError, UserInputError
from assistant.index.embedding import Embedder, length_batches
from assistant.index.word_vectors import WordVectors

SHARDS_PER_WORKER = 4  # more shards than workers: progress while embedding, and a fast worker takes the slack


def available_cpus() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def worker_threads(workers: int, cpus: int) -> int:
    """Threads for each of ``workers`` sharing ``cpus`` cores (at least one)."""
    return max(1, cpus // workers)


def use_threads(threads: int) -> None:
    """Limit this worker process's math to ``threads``: torch if loaded, and every OpenMP engine loaded later."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def shard_bounds(count: int, shards: int) -> list[tuple[int, int]]:
    """``count`` rows cut into at most ``shards`` contiguous ``(begin, end)`` ranges of near-equal size."""
    shards = max(1, min(shards, count))
    edges = [round(i * count / shards) for i in range(shards + 1)]
    return [(begin, end) for begin, end in zip(edges, edges[1:]) if end > begin]


def batch_shards(texts: Sequence[str], batch_size: int, shards: int) -> list[list[int]]:
    """The positions of ``texts`` in at most ``shards`` contiguous runs of whole batches of ``length_batches``:
    a worker that encodes one run (sorting it by length again changes nothing) forms the same batches."""
    batches = length_batches(texts, batch_size)
    return [[i for batch in batches[begin:end] for i in batch] for begin, end in shard_bounds(len(batches), shards)]


class OutOfProcessEmbedder:
    """An embedder whose model runs in other processes (a child process, worker processes, Ray actors).
    ``dimension`` is given (the query encoder of the same model knows it), so nothing loads the model in
    this process. Subclasses define ``_encode`` (never given an empty list), which returns the vectors of
    every text in order."""

    def __init__(self, name: str, dimension: int) -> None:
        self.name = name
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of ``texts`` (normalised float32, in order), computed in the other processes."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return self._encode(list(texts), batch_size, progress)

    def _encode(self, texts: list[str], batch_size: int, progress: Callable[[int], None] | None) -> np.ndarray:
        raise NotImplementedError

    def checked(self, vectors: np.ndarray, rows: int) -> np.ndarray:
        """Another process's vectors for ``rows`` texts, refused when their shape is not (rows, dimension)."""
        if vectors.shape != (rows, self._dimension):
            raise AssistantError(f"the embedding process returned {vectors.shape}, "
                                 f"expected ({rows}, {self._dimension})")
        return vectors.astype(np.float32, copy=False)

    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """Not offered: word vectors are for answering and checking, which run in their own process."""
        raise AssistantError("word vectors are not computed by an embedding process")


class WorkerEmbedder(OutOfProcessEmbedder):
    """Encodes with unloaded copies of ``embedder``, pickled to each worker."""

    def __init__(self, embedder: Embedder, dimension: int, workers: int | None) -> None:
        try:
            pickle.dumps(embedder)
        except (TypeError, AttributeError, pickle.PicklingError) as exc:
            raise UserInputError(f"the embedder {embedder.name} cannot be sent to worker processes ({exc}); "
                                 "index without --workers and --ray") from exc
        super().__init__(embedder.name, dimension)
        self.workers = workers
        self._embedder = embedder


_worker_embedder: Embedder | None = None  # in a worker process: its copy of the embedder, loaded on first use


def _start_worker(embedder: Embedder, threads: int) -> None:
    global _worker_embedder
    use_threads(threads)
    _worker_embedder = embedder


def _encode_shard(texts: list[str], batch_size: int) -> np.ndarray:
    assert _worker_embedder is not None, "the worker was not started by ProcessPoolEmbedder"
    return _worker_embedder.encode(texts, batch_size=batch_size)


class ProcessPoolEmbedder(WorkerEmbedder):
    """``workers`` local processes (spawned for each ``encode``), each loading the model once."""

    def __init__(self, embedder: Embedder, dimension: int, workers: int) -> None:
        super().__init__(embedder, dimension, workers)
        self.threads = worker_threads(workers, available_cpus())

    def _encode(self, texts: list[str], batch_size: int, progress: Callable[[int], None] | None) -> np.ndarray:
        shards = batch_shards(texts, batch_size, self.workers * SHARDS_PER_WORKER)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        try:
            with ProcessPoolExecutor(max_workers=min(self.workers, len(shards)),
                                     mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_start_worker, initargs=(self._embedder, self.threads)) as pool:
                pending = {pool.submit(_encode_shard, [texts[i] for i in rows], batch_size): rows for rows in shards}
                for done in as_completed(pending):
                    rows = pending[done]
                    out[rows] = self.checked(done.result(), len(rows))
                    if progress:
                        progress(len(rows))
        except BrokenProcessPool as exc:
            raise AssistantError(f"an embedding worker process died ({exc}); out of memory? "
                                 f"Try fewer than {self.workers} workers") from exc
        return out
