"""Contextual word vectors: one normalised vector per word of a text, from an encoder's token vectors.

The judge aligns question and sentence words with them; every embedder offers ``encode_words``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

WORD_VECTOR_CACHE_SIZE = 1024  # sentences (~50 KB each): questions of one conversation reread the same ones


@dataclass(frozen=True)
class WordVectors:
    """A text's words (lower-cased, in order) and one normalised contextual vector per word."""

    words: tuple[str, ...]
    vectors: np.ndarray  # (len(words), dimension)


def group_word_pieces(text: str, hidden: np.ndarray, offsets: Sequence[tuple[int, int]],
                      word_ids: Sequence[int | None]) -> WordVectors:
    """Word vectors from a tokenizer's piece vectors: the pieces of one word are averaged.

    ``hidden`` holds one row per piece; ``offsets`` and ``word_ids`` come from the fast tokenizer
    (special tokens have word id None and are dropped).
    """
    spans: dict[int, list[int]] = {}
    rows: dict[int, list[int]] = {}
    for row, ((start, end), word) in enumerate(zip(offsets, word_ids)):
        if word is None:
            continue
        span = spans.setdefault(word, [start, end])
        span[0], span[1] = min(span[0], start), max(span[1], end)
        rows.setdefault(word, []).append(row)
    order = sorted(rows)
    if not order:
        return WordVectors((), np.zeros((0, hidden.shape[1]), np.float32))
    vectors = np.stack([hidden[rows[w]].mean(axis=0) for w in order]).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return WordVectors(tuple(text[spans[w][0]:spans[w][1]].lower() for w in order), vectors)


class WordVectorCache:
    """The word vectors of recently read sentences, keyed by (encoder, sentence id), least recently used
    out first: the judge's shortlist often repeats across the questions of one conversation. Thread-safe."""

    def __init__(self, size: int = WORD_VECTOR_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, int], WordVectors] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, encoder: str, encode_words: Callable[[list[str]], list[WordVectors]], texts: Sequence[str],
               sentences: Sequence[tuple[int, str]]) -> tuple[list[WordVectors], list[WordVectors]]:
        """Word vectors of ``texts`` (never cached) and of ``sentences`` (id, text), encoding the texts
        and the sentences not cached in one ``encode_words`` batch."""
        with self._lock:
            found = [self._entries.get((encoder, sid)) for sid, _ in sentences]
            for (sid, _), hit in zip(sentences, found):
                if hit is not None:
                    self._entries.move_to_end((encoder, sid))
        missing = [i for i, hit in enumerate(found) if hit is None]
        encoded = encode_words([*texts, *(sentences[i][1] for i in missing)])
        with self._lock:
            for i, vectors in zip(missing, encoded[len(texts):]):
                found[i] = self._entries[(encoder, sentences[i][0])] = vectors
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return encoded[: len(texts)], found  # type: ignore[return-value]

