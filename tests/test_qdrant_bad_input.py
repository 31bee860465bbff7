"""Bad input to the qdrant backend: an unreachable URL, a refused API key, a missing collection, a
collection built from other data. Each is one line naming what and where, exit code 2 from the CLI,
and neither the local index folder nor an existing collection is touched.

A wrong API key needs a server; here a fake client raises what qdrant-client raises for an HTTP
401/403 answer (``UnexpectedResponse``), and the CLI runs in this process (``cli.main``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, FAKE_MODEL, make_assistant

pytest.importorskip("qdrant_client")

from qdrant_client import QdrantClient, models  # noqa: E402
from qdrant_client.http.exceptions import UnexpectedResponse  # noqa: E402
from test_cli import assert_one_line_error, run_cli  # noqa: E402

from assistant.index import qdrant_backend, qdrant_sync  # noqa: E402
from assistant.index.store import load_index  # noqa: E402
from assistant.serve import cli  # noqa: E402

ALIAS = "assistant-chunks"
QUESTION = "What is gene therapy?"


def files(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under ``folder`` with its size and modification time: equal lists, nothing touched."""
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A corpus copy and its local index (``idx``), built with the local backend."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    make_assistant(tmp_path / "corpus", tmp_path / "idx").build()
    return tmp_path


@pytest.mark.process
@pytest.mark.parametrize("command", [["ask", QUESTION], ["index", "--backend", "qdrant"]])
def test_an_unreachable_url_exits_2_and_leaves_the_index_alone(workdir: Path, command: list[str]) -> None:
    before = files(workdir / "idx")
    url = "http://127.0.0.1:9"  # nothing listens on the discard port
    result = run_cli(*command, "--corpus", "corpus", "--index", "idx", cwd=workdir,
                     extra_env={"ASSISTANT_BACKEND": "qdrant", "ASSISTANT_QDRANT_URL": url})
    assert_one_line_error(result, 2, f"cannot reach Qdrant at {url}")
    assert files(workdir / "idx") == before


class RefusingClient:
    """Stands in for ``QdrantClient``: a server that answers every call with ``status``."""

    status = 401

    def __init__(self, *args, **kwargs) -> None:
        pass

    def get_collections(self):
        raise UnexpectedResponse(self.status, "Unauthorized" if self.status == 401 else "Forbidden",
                                 b'{"status":{"error":"Invalid api-key"}}', headers=None)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("command", [["ask", QUESTION], ["index", "--backend", "qdrant"]])
def test_a_refused_api_key_exits_2_naming_the_server_not_the_key(workdir: Path, monkeypatch, capsys,
                                                                  command: list[str], status: int) -> None:
    url = "https://qdrant.example.com:6333"
    monkeypatch.setattr(RefusingClient, "status", status)
    monkeypatch.setattr(qdrant_backend, "QdrantClient", RefusingClient)
    for name, value in {"ASSISTANT_MODEL": FAKE_MODEL, "ASSISTANT_BACKEND": "qdrant", "ASSISTANT_QDRANT_URL": url,
                        "ASSISTANT_QDRANT_API_KEY": "wrong-key-123"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workdir)
    before = files(workdir / "idx")
    code = cli.main([*command, "--corpus", "corpus", "--index", "idx"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0] == (f"assistant: error: Qdrant at {url} refused the API key (HTTP {status}); "
                      "check ASSISTANT_QDRANT_API_KEY")
    assert files(workdir / "idx") == before


@pytest.mark.process
def test_a_missing_collection_exits_2_naming_it_and_creates_nothing(workdir: Path) -> None:
    store = workdir / "qdrant"
    version = (workdir / "idx" / "CURRENT").read_text().strip()
    before = files(workdir / "idx")
    result = run_cli("ask", QUESTION, "--corpus", "corpus", "--index", "idx", cwd=workdir,
                     extra_env={"ASSISTANT_BACKEND": "qdrant", "ASSISTANT_QDRANT_URL": str(store)})
    assert_one_line_error(result, 2, f"Qdrant at {store} has no collection {ALIAS}-{version} (nor alias {ALIAS}) "
                          f"for index {version}; build it with `assistant index --backend qdrant`")
    assert files(workdir / "idx") == before
    client = QdrantClient(path=str(store))
    assert not client.get_collections().collections
    client.close()


def foreign_collection(workdir: Path, store: Path, field: str) -> dict:
    """Collection ``other-deployment`` (one point) under the alias, built as this index would be but
    for ``field``; returns its metadata."""
    metadata = qdrant_sync.expected_metadata(load_index(workdir / "idx"))
    metadata[field] = {"model": "other-model", "dimension": 32, "tokenizer_version": 0}[field]
    client = QdrantClient(path=str(store))
    client.create_collection("other-deployment", metadata=metadata, vectors_config={
        qdrant_backend.DENSE: models.VectorParams(size=4, distance=models.Distance.DOT)})
    client.upsert("other-deployment", points=[models.PointStruct(id=7, vector={qdrant_backend.DENSE: [1, 0, 0, 0]},
                                                                  payload={"doc_id": "theirs"})])
    client.update_collection_aliases(change_aliases_operations=[models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name="other-deployment", alias_name=ALIAS))])
    client.close()
    return metadata


def assert_foreign_collection_intact(store: Path, metadata: dict) -> None:
    client = QdrantClient(path=str(store))
    assert client.get_collection("other-deployment").config.metadata == metadata
    assert [(p.id, p.payload) for p in client.scroll("other-deployment")[0]] == [(7, {"doc_id": "theirs"})]
    client.close()


@pytest.mark.process
@pytest.mark.parametrize(("field", "words"), [("model", "model 'other-model' (this index: 'hash-64')"),
                                              ("dimension", "dimension 32 (this index: 64)"),
                                              ("tokenizer_version", "tokenizer_version 0 (this index: 1)")])
def test_a_collection_built_from_other_data_is_refused_and_kept(workdir: Path, field: str, words: str) -> None:
    store = workdir / "qdrant"
    metadata = foreign_collection(workdir, store, field)
    before = files(workdir / "idx")
    result = run_cli("ask", QUESTION, "--corpus", "corpus", "--index", "idx", cwd=workdir,
                     extra_env={"ASSISTANT_BACKEND": "qdrant", "ASSISTANT_QDRANT_URL": str(store)})
    assert_one_line_error(result, 2, f"Qdrant collection other-deployment at {store} was built from other data: "
                          f"{words}; rebuild it with `assistant index --backend qdrant` or set "
                          "ASSISTANT_QDRANT_COLLECTION to another name")
    assert files(workdir / "idx") == before
    assert_foreign_collection_intact(store, metadata)


def test_indexing_over_a_foreign_collection_builds_a_new_one_and_keeps_it(workdir: Path) -> None:
    """``assistant index`` is asked to build: a collection of this index version, and the alias moves to
    it; the foreign collection is neither updated nor dropped."""
    store = workdir / "qdrant"
    metadata = foreign_collection(workdir, store, "model")
    building = make_assistant(workdir / "corpus", workdir / "idx", backend="qdrant", qdrant_url=str(store))
    building.build()
    backend = building.index.backend
    assert backend.collection == f"{ALIAS}-{building.index.path.name}"
    assert qdrant_sync.alias_target(backend.client, str(store), ALIAS) == backend.collection
    assert building.ask(QUESTION).citations
    qdrant_backend.forget_client(str(store))
    assert_foreign_collection_intact(store, metadata)
