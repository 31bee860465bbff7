"""Issue 14 item 8: inputs that used to crash get a one-line error naming what is wrong.

Malformed answer JSON to ``check`` (library, HTTP, CLI), nested and huge JSON bodies to the
HTTP API, a hand-edited manifest, and damaged index files (reported by name, then rebuilt, or
refused with ``--no-rebuild``)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from assistant.check.citation_input import contract_problem
from assistant.errors import IndexError_, UserInputError
from assistant.index.manifest import MANIFEST, current_version, read_manifest
from assistant.serve.http_api import MAX_BODY_BYTES, plain_routes
from assistant import service
from assistant.service import Assistant
from conftest import CORPUS, make_assistant

DOC = "002_8327220291109cc9.txt"
RULES = {"ASSISTANT_JUDGE": "rules"}  # the fitted judge belongs to the real encoder
GOOD = {"text": "Zolgensma costs a lot. [1]", "citations": [{"marker": 1, "doc": DOC}]}


@pytest.mark.parametrize("contract, field", [
    ({"text": 5, "citations": []}, "'text'"),
    ({"text": None, "citations": []}, "'text'"),
    ({"text": "a", "citations": "x"}, "'citations'"),
    ({"text": "a", "citations": {"marker": 1}}, "'citations'"),
    ({"text": "a", "citations": [1]}, "'citations[0]'"),
    ({"text": "a", "citations": [{"marker": 1, "doc": DOC}, "x"]}, "'citations[1]'"),
    ({"text": "a", "citations": [{"marker": "a", "doc": DOC}]}, "'citations[0].marker'"),
    ({"text": "a", "citations": [{"marker": True, "doc": DOC}]}, "'citations[0].marker'"),
    ({"text": "a", "citations": [{"doc": DOC}]}, "'citations[0].marker'"),
    ({"text": "a", "citations": [{"marker": 1, "doc": None}]}, "'citations[0].doc'"),
    ({"text": "a", "citations": [{"marker": 1, "doc": ["x"]}]}, "'citations[0].doc'"),
])
def test_contract_problem_names_the_bad_field(contract: dict, field: str) -> None:
    problem = contract_problem(contract)
    assert problem is not None and field in problem


@pytest.mark.parametrize("contract", [GOOD, {"text": "a", "citations": None}, {"text": "a", "citations": []},
                                      {"text": "a", "citations": [{"marker": "2", "doc": DOC}]}])
def test_contract_problem_accepts_good_contracts(contract: dict) -> None:
    assert contract_problem(contract) is None


@pytest.mark.parametrize("citations, field", [("x", "'citations'"), ([1], "'citations[0]'"),
                                              ([{"marker": 1, "doc": 3}], "'citations[0].doc'")])
def test_check_of_malformed_answer_json_is_a_one_line_error(shared_assistant: Assistant, citations,
                                                            field: str) -> None:
    with pytest.raises(UserInputError) as caught:
        shared_assistant.check(json.dumps({"text": "Zolgensma costs a lot. [1]", "citations": citations}))
    assert field in str(caught.value) and "\n" not in str(caught.value)


def test_check_of_deeply_nested_json_is_a_one_line_error(shared_assistant: Assistant) -> None:
    with pytest.raises(UserInputError, match="nested too deeply"):
        shared_assistant.check('{"a":' * 50_000)


@pytest.fixture(scope="module")
def client(shared_assistant: Assistant):
    with TestClient(Starlette(routes=plain_routes(shared_assistant))) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/api/ask", "/api/check"])
@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"text": ' + b"[" * 200_000, b'{"a":' * 150_000])
def test_nested_json_bodies_are_400(client: TestClient, path: str, body: bytes) -> None:
    response = client.post(path, content=body[:MAX_BODY_BYTES], headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/check"])
def test_huge_json_bodies_are_413(client: TestClient, path: str) -> None:
    body = json.dumps({"text": "x" * (MAX_BODY_BYTES + 10)})
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_check_api_with_malformed_answer_json_is_400_naming_the_field(client: TestClient) -> None:
    text = json.dumps({"text": "Zolgensma costs a lot. [1]", "citations": [{"marker": 1, "doc": None}]})
    response = client.post("/api/check", json={"text": text})
    assert response.status_code == 400
    assert "'citations[0].doc'" in response.json()["error"]


# --- a damaged index ----------------------------------------------------------------------------

@pytest.fixture
def built(tmp_path: Path) -> Assistant:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    assistant = make_assistant(tmp_path / "corpus", tmp_path / "index")
    assistant.build()
    return assistant


def _edit_manifest(index: Path, edit) -> Path:
    path = current_version(index) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda m: m.pop("chunking"), "key 'chunking' is missing"),
    (lambda m: m.pop("model"), "key 'model' is missing"),
    (lambda m: next(iter(m["documents"].values())).pop("sha256"), "is missing"),
    (lambda m: m.update(dimension="wide"), "key 'dimension' is not valid"),
])
def test_hand_edited_manifest_names_the_file_the_key_and_the_rebuild(built: Assistant, edit, words: str) -> None:
    path = _edit_manifest(built.settings.index, edit)
    with pytest.raises(IndexError_) as caught:
        read_manifest(built.settings.index)
    message = str(caught.value)
    assert str(path) in message and words in message and "assistant index" in message


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        del data[len(data) // 2:]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["sentence_vectors.npy", "chunks.jsonl", "dense.faiss"])
@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_damaged_file_is_reported_by_name_then_rebuilt(tmp_path: Path, built: Assistant, name: str, how: str) -> None:
    damaged = current_version(built.settings.index) / name
    _damage(damaged, how)
    fresh = make_assistant(built.settings.corpus, built.settings.index)
    assert fresh.ensure_index() is not None
    assert str(damaged) in fresh.warnings[0] and "checksum" in fresh.warnings[0]
    assert "rebuilt" in fresh.warnings[0]
    assert not fresh.ask("How much does Zolgensma cost?", abstain=False).abstained


def test_a_server_serves_the_previous_version_while_a_damaged_index_is_rebuilt(built: Assistant, monkeypatch) -> None:
    corpus, index_dir = built.settings.corpus, built.settings.index
    previous = current_version(index_dir)
    (corpus / "later.txt").write_text("Wombats dig burrows with their strong claws. Each burrow has one entrance.",
                                      encoding="utf-8")
    built.build()  # a second version; the first is kept as the previous one
    damaged = current_version(index_dir) / "sentence_vectors.npy"
    _damage(damaged, "flip")
    fresh = make_assistant(corpus, index_dir)
    release, said_while_building = threading.Event(), []
    real_build_index = service.build_index

    def held_build_index(*args, **kwargs):  # the rebuild waits until the test has read the warning
        said_while_building.extend(fresh.warnings)
        release.wait(timeout=120)
        return real_build_index(*args, **kwargs)

    monkeypatch.setattr(service, "build_index", held_build_index)
    assert fresh.ensure_index(serve_meanwhile=True) is None  # returns at once, serving the previous version
    serving = f"serving the previous version ({previous.name})"
    assert str(damaged) in fresh.warnings[0] and serving in fresh.warnings[0]
    release.set()
    assert fresh.rebuilding is not None
    fresh.rebuilding.join(timeout=120)
    assert not fresh.rebuilding.is_alive()
    assert serving in said_while_building[0]  # reading the corpus for the rebuild did not wipe the warning
    assert str(damaged) in fresh.warnings[0] and "rebuilt it from" in fresh.warnings[0]
    assert "later.txt" in fresh.index.documents  # the rebuilt index, verified, is what answers now
    assert not fresh.ask("How much does Zolgensma cost?", abstain=False).abstained


def test_the_previous_version_answers_until_the_rebuild_is_done(built: Assistant, monkeypatch) -> None:
    corpus, index_dir = built.settings.corpus, built.settings.index
    (corpus / "later.txt").write_text("Wombats dig burrows with their strong claws. Each burrow has one entrance.",
                                      encoding="utf-8")
    built.build()
    _damage(current_version(index_dir) / "chunks.jsonl", "truncate")
    fresh = make_assistant(corpus, index_dir)
    release = threading.Event()
    real_build = Assistant.build

    def held_build(self, *args, **kwargs):  # the rebuild waits until the test has asked its question
        release.wait(timeout=120)
        return real_build(self, *args, **kwargs)

    monkeypatch.setattr(Assistant, "build", held_build)
    assert fresh.ensure_index(serve_meanwhile=True) is None
    assert "later.txt" not in fresh.index.documents  # the previous version, which never had it
    assert not fresh.ask("How much does Zolgensma cost?", abstain=False).abstained
    release.set()
    fresh.rebuilding.join(timeout=120)
    assert "later.txt" in fresh.index.documents


def test_without_a_good_previous_version_the_rebuild_blocks(built: Assistant) -> None:
    damaged = current_version(built.settings.index) / "dense.faiss"
    _damage(damaged, "flip")  # the first build: no previous version to fall back on
    fresh = make_assistant(built.settings.corpus, built.settings.index)
    assert fresh.ensure_index(serve_meanwhile=True) is not None
    assert fresh.rebuilding is None and "rebuilt" in fresh.warnings[0]


@pytest.mark.parametrize("name", ["sentence_vectors.npy", MANIFEST])
def test_no_rebuild_refuses_a_damaged_index_and_leaves_it(built: Assistant, name: str) -> None:
    version = current_version(built.settings.index)
    _damage(version / name, "truncate")
    fresh = make_assistant(built.settings.corpus, built.settings.index)
    with pytest.raises(IndexError_) as caught:
        fresh.ensure_index(rebuild=False)
    assert str(version / name) in str(caught.value) and "--no-rebuild" in str(caught.value)
    assert current_version(built.settings.index) == version  # nothing was rebuilt


def test_no_rebuild_keeps_a_stale_index_with_a_warning(built: Assistant) -> None:
    (built.settings.corpus / "new.txt").write_text("Gene therapy news. It is new.", encoding="utf-8")
    fresh = make_assistant(built.settings.corpus, built.settings.index)
    version = current_version(built.settings.index)
    assert fresh.ensure_index(rebuild=False) is None
    assert "stale" in fresh.warnings[0]
    assert current_version(built.settings.index) == version


@pytest.mark.process
def test_cli_check_of_malformed_answer_json_is_one_line_naming_the_field(tmp_path: Path) -> None:
    from test_cli import assert_one_line_error, run_cli

    shutil.copytree(CORPUS, tmp_path / "corpus")
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"text": "Zolgensma costs a lot. [1]", "citations": [{"marker": "one", "doc": DOC}]}),
                      encoding="utf-8")
    assert run_cli("index", cwd=tmp_path, extra_env=RULES).returncode == 0
    result = run_cli("check", str(answer), cwd=tmp_path, extra_env=RULES)
    assert_one_line_error(result, 2, "'citations[0].marker'")


@pytest.mark.process
def test_cli_reports_a_damaged_file_then_rebuilds_or_refuses(tmp_path: Path) -> None:
    from test_cli import assert_one_line_error, run_cli

    shutil.copytree(CORPUS, tmp_path / "corpus")
    assert run_cli("index", cwd=tmp_path, extra_env=RULES).returncode == 0
    damaged = current_version(tmp_path / "index") / "sentence_vectors.npy"
    _damage(damaged, "flip")
    refused = run_cli("ask", "--no-rebuild", "How much does Zolgensma cost?", cwd=tmp_path, extra_env=RULES)
    assert_one_line_error(refused, 2, "sentence_vectors.npy", "checksum", "--no-rebuild")
    rebuilt = run_cli("ask", "How much does Zolgensma cost?", cwd=tmp_path, extra_env=RULES)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "sentence_vectors.npy is corrupt (checksum" in rebuilt.stderr and "rebuilt" in rebuilt.stderr
