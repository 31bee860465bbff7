"""Contextual word vectors: one normalised vector per word of a text, from an encoder's token vectors.

The judge aligns question and sentence words with them; every embedder offers ``encode_words``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
