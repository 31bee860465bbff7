"""Embedding a build's texts with Ray Data across a Ray cluster (``assistant index --ray ADDRESS``).

``ray.data.from_items(batches).map_batches(_EmbedBatches, compute=ActorPoolStrategy(size=N))``: a class
UDF, so each actor unpickles an unloaded copy of the embedder and loads the model once, in its
constructor. Each row is one whole encoding batch (``embedding.length_batches``: the batches one process
forms, so the vectors are the same bit for bit) with its texts' positions; the vectors are put back in
order (Ray Data does not keep order by default). Each actor reserves ``cluster CPUs // N`` CPUs and uses
as many threads.

- Ray is imported here only, and only when a build embeds with it: the default path never loads it.
- ``ray.init`` retries a dead address for minutes, so the address is first probed with a TCP connection
  (``CONNECT_TIMEOUT_S``); one that does not answer is a ``ClusterError`` naming it (exit 2). Embedding
  comes before the build writes anything (``build.py``), so a failure leaves the index as it was.
- Every node of the cluster needs this package, Ray and the model installed (the same versions): actors
  import ``assistant.index.ray_embedding`` and load the model from local files.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import AssistantError, ClusterError, UserInputError
from assistant.index.embedding import Embedder, length_batches
from assistant.index.worker_embedding import (
    SHARDS_PER_WORKER,
    WorkerEmbedder,
    available_cpus,
    use_threads,
    worker_threads,
)

CONNECT_TIMEOUT_S = 5.0
TEXTS_PER_CALL = 1024  # about this many texts (in whole encoding batches) per call of an actor
log = logging.getLogger(__name__)


def _last_ray_start() -> str | None:
    """The GCS address of the cluster started last on this machine by ``ray start`` (what 'auto' finds)."""
    try:
        return (Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def ray_endpoint(address: str) -> tuple[str, int] | None:
    """The (host, port) that ``address`` names; None for 'local', and for 'auto' when no cluster is recorded."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or _last_ray_start() or ""
    found = re.fullmatch(r"(?:ray://)?([^\s:/]+):(\d{1,5})", address)
    return (found.group(1), int(found.group(2))) if found else None


def probe(address: str) -> None:
    """Raise ``ClusterError`` unless the Ray cluster at ``address`` accepts a connection within the timeout
    ('local' starts one: nothing to reach)."""
    endpoint = ray_endpoint(address)
    if endpoint is None and address == "auto":
        raise ClusterError("--ray auto found no Ray cluster: RAY_ADDRESS is not set and no `ray start` ran on this "
                           "machine; the index is unchanged")
    if endpoint is None:
        return
    where = address if address != "auto" else f"auto ({endpoint[0]}:{endpoint[1]})"
    try:
        socket.create_connection(endpoint, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__.replace("TimeoutError", "no answer")
        raise ClusterError(f"cannot reach the Ray cluster at {where}: {reason} "
                           f"(within {CONNECT_TIMEOUT_S:.0f} s); the index is unchanged") from exc


def _reason(exc: BaseException) -> str:
    """Why ``ray.init`` failed, in a few words: a refused token (Ray 2.60's clusters ask for one by default)
    is named, wherever it sits in the chain of causes (Ray quotes it as text); else the first line of the error."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(seen):
            return ("the cluster refused our authentication token (set RAY_AUTH_MODE=token and the cluster's "
                    "token in RAY_AUTH_TOKEN or ~/.ray/auth_token)")
        seen = seen.__cause__ or seen.__context__
    return str(exc).strip().splitlines()[0]


class _EmbedBatches:
    """Ray Data's class UDF: one instance per actor, which loads the model once."""

    def __init__(self, embedder: Embedder, threads: int, batch_size: int) -> None:
        use_threads(threads)
        self._embedder, self._batch_size = embedder, batch_size
        self.dimension = embedder.dimension  # loads the model now, once per actor

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Ray Data's rows are encoding batches: each is encoded on its own, as one process would."""
        rows = [np.asarray(positions, dtype=np.int64) for positions in batch["rows"]]
        vectors = [self._embedder.encode([str(t) for t in texts], batch_size=self._batch_size)
                   for texts in batch["texts"]]
        return {"row": np.concatenate(rows), "vector": np.concatenate(vectors)}


class RayEmbedder(WorkerEmbedder):
    """Ray Data actors on the cluster at ``address``: ``workers`` of them, or one per cluster CPU."""

    def __init__(self, embedder: Embedder, dimension: int, address: str, workers: int | None = None) -> None:
        super().__init__(embedder, dimension, workers)
        self.address = address

    def _connect(self) -> tuple[Any, bool]:
        """Ray (the module), connected to the cluster, or started for 'local'; and whether this call connected
        it (and so disconnects after), rather than a caller that had."""
        try:
            import ray
            import ray.data
        except ImportError as exc:
            raise UserInputError("--ray needs Ray: pip install 'cited-assistant[scale]' (ray[data])") from exc
        if ray.is_initialized():
            return ray, False
        probe(self.address)
        options = {"num_cpus": available_cpus()} if self.address == "local" else {}
        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterError(f"cannot connect to the Ray cluster at {self.address}: {_reason(exc)}; "
                               "the index is unchanged") from exc
        return ray, True

    def _encode(self, texts: list[str], batch_size: int, progress: Callable[[int], None] | None) -> np.ndarray:
        ray, connected = self._connect()
        try:
            logging.getLogger("ray.data").setLevel(logging.ERROR)  # not a line per dataset on the user's terminal
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            context.print_on_execution_start = False
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            if self.workers and self.workers > cpus:
                log.warning("the Ray cluster has %d CPUs: embedding with %d actors, not %d", cpus, cpus, self.workers)
            batches = length_batches(texts, batch_size)
            actors = min(self.workers or cpus, cpus, len(batches))  # an actor without a batch would only load the model
            threads = worker_threads(actors, cpus)
            blocks = min(len(batches), actors * SHARDS_PER_WORKER)  # Ray's default stops at 200: too few for a cluster
            rows = ray.data.from_items([{"rows": b, "texts": [texts[i] for i in b]} for b in batches],
                                       override_num_blocks=blocks)
            vectors = rows.map_batches(
                _EmbedBatches, fn_constructor_args=(self._embedder, threads, batch_size),
                batch_size=max(1, min(TEXTS_PER_CALL // batch_size, math.ceil(len(batches) / blocks))),
                compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=threads)
            out = np.zeros((len(texts), self._dimension), dtype=np.float32)
            for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
                out[batch["row"]] = self.checked(np.asarray(batch["vector"], dtype=np.float32), len(batch["row"]))
                if progress:
                    progress(len(batch["row"]))
            return out
        except AssistantError:
            raise
        except Exception as exc:  # Ray wraps a worker's failure in many kinds; one line for users
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            raise AssistantError(f"embedding on the Ray cluster at {self.address} failed: "
                                 f"{lines[-1] if lines else type(exc).__name__}") from exc
        finally:
            if connected:
                ray.shutdown()
