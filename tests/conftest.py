"""Shared fixtures: embedders, a corpus copy and small indexes built with the fake embedder.

Everything except tests marked ``@pytest.mark.model`` runs with the deterministic
``HashEmbedder`` and never loads sentence-transformers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from assistant.index.embedding import HashEmbedder, SentenceTransformerEmbedder  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
QUESTIONS = REPO / "evals" / "questions" / "gene_therapy.jsonl"
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.is_file())
FAKE_MODEL = "hash-64"


@pytest.fixture(autouse=True)
def _isolated_settings_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """No ASSISTANT_* variable from the caller's shell may change what a test sees.

    The fitted judge belongs to the real encoder: tests with the fake embedder answer with the rules
    (``ASSISTANT_JUDGE=rules``) unless they are marked ``model`` or set a judge themselves.
    """
    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("ASSISTANT_JUDGE", "rules")


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The real bundled model, loaded once per session (only for ``@pytest.mark.model`` tests)."""
    embedder = SentenceTransformerEmbedder()
    assert embedder.dimension > 0  # forces the load here, not inside the first test
    return embedder


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder(64)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private, editable copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def make_assistant(corpus: Path, index: Path, **settings) -> Assistant:
    """An Assistant over ``corpus``/``index`` with the fake embedder (and so the rules, not the judge,
    which belongs to the real encoder, unless ``judge`` is given)."""
    settings.setdefault("judge", "rules")
    return Assistant(Settings(corpus=corpus, index=index, model=FAKE_MODEL, **settings), embedder=HashEmbedder(64))


@pytest.fixture
def fake_assistant(corpus_copy: Path, tmp_path: Path) -> Assistant:
    """An Assistant whose index (in tmp_path/index) was just built from a copy of corpus/ with
    the fake embedder. Tests may edit ``assistant.settings.corpus`` and rebuild."""
    assistant = make_assistant(corpus_copy, tmp_path / "index")
    assistant.build()
    return assistant


@pytest.fixture(scope="session")
def shared_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """Like ``fake_assistant`` but built once per session from corpus/ itself: read-only use."""
    index = tmp_path_factory.mktemp("shared") / "index"
    assistant = make_assistant(CORPUS, index)
    assistant.build()
    return assistant


@pytest.fixture(scope="session")
def judged_assistant(real_embedder, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real model and the fitted judge over corpus/, indexed once per session: read-only use
    (only for ``@pytest.mark.model`` tests)."""
    assistant = Assistant(Settings(corpus=CORPUS, index=tmp_path_factory.mktemp("judged") / "index"),
                          embedder=real_embedder)
    assistant.build()
    return assistant


@pytest.fixture(scope="session")
def shared_index(shared_assistant: Assistant):
    """The LoadedIndex of ``shared_assistant``."""
    return shared_assistant.index
