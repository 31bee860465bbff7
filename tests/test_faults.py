"""Fault injection (fake embedder): processes that die at each named write step of a build, an
upload or a removal (``assistant.ingest.faults``), damaged index files, changed settings, and a
full or unwritable disk while saving.
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, CORPUS_FILES, FAKE_MODEL, REPO, make_assistant
from serving import child_env, running_server
from test_cli import GELSINGER_Q, assert_one_line_error, run_cli

import assistant.index.build as index_build
import assistant.ingest.corpus_admin as corpus_admin
from assistant.errors import IndexError_, UserInputError
from assistant.index.embedding import HashEmbedder
from assistant.index.manifest import CURRENT, MANIFEST, current_version
from assistant.index.store import load_index
from assistant.ingest.faults import (
    BUILD_POINTS,
    FAULT_ENV,
    FAULT_EXIT,
    FAULT_POINTS,
    FIRST_LIVE_POINT,
    fault_point,
)
from assistant.models import ChunkingSettings
from assistant.service import Assistant
from assistant.settings import Settings

EXTRA = ("Zebrafish Vector Trials\n\nThe quokkavirus vector was tested in zebrafish larvae at a marine laboratory "
         "in Reykjavik during the spring of 2031, where it delivered a reporter gene to the retina of almost every "
         "larva.\n")


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


def versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("v-"))


def only_live_and_previous(index_dir: Path) -> bool:
    """The index folder keeps the live version and at most one other (the previous, for fall-back)."""
    found = versions(index_dir)
    return (index_dir / CURRENT).read_text(encoding="utf-8").strip() in found and len(found) <= 2


def index_state(index_dir: Path) -> tuple:
    """What a reader sees: loads (checksums verified) and returns the document ids with their
    hashes and every chunk's id, span and text digest, after checking the offsets."""
    loaded = load_index(index_dir)
    assert loaded is not None
    docs = {doc_id: entry.sha256 for doc_id, entry in loaded.manifest.documents.items()}
    assert sorted(loaded.documents) == sorted(docs)
    for doc_id, document in loaded.documents.items():
        assert document.sha256 == docs[doc_id]
    for chunk in loaded.chunks:
        assert loaded.documents[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text
    chunks = tuple((c.chunk_id, c.start, c.end, hashlib.sha1(c.text.encode()).hexdigest()) for c in loaded.chunks)
    return tuple(sorted(docs.items())), chunks


def corpus_hashes(corpus: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus.iterdir()
            if p.is_file() and not p.name.startswith(".")}


# --- processes that die at a named write step ------------------------------------------------

# A child that adds or removes a document (the `index` scenario runs `assistant index` itself).
FAULT_CHILD = """
import sys
from pathlib import Path
from assistant.index.embedding import HashEmbedder
from assistant.service import Assistant
from assistant.settings import Settings
action, corpus, index, name = sys.argv[1:5]
assistant = Assistant(Settings(corpus=Path(corpus), index=Path(index), model="hash-64"), embedder=HashEmbedder(64))
if action == "add":
    assistant.add_document(name, sys.stdin.buffer.read())
else:
    assistant.remove_document(name)
"""
ADDED = "zebrafish.txt"  # EXTRA, added by the `index` and `add` scenarios
REMOVED = CORPUS_FILES[-1]  # removed by the `index` and `remove` scenarios
EDITED = CORPUS_FILES[0]  # gets one more paragraph in the `index` scenario
EDIT = ("A follow-up study in 2032 measured the expression of the reporter gene in the liver of adult "
        "marmosets for eighteen months.\n")
QUOKKA_Q = "Where was the quokkavirus vector tested in zebrafish larvae?"
# Which steps each change reaches: an upload writes the corpus file first; every change then builds.
SCENARIOS = {"index": BUILD_POINTS, "add": FAULT_POINTS, "remove": BUILD_POINTS}
FAULT_CASES = [(scenario, point) for scenario, points in SCENARIOS.items() for point in points]


def change_corpus(corpus: Path) -> None:
    """The `index` scenario's edit of the corpus folder: one document added, one removed, one edited."""
    (corpus / ADDED).write_text(EXTRA, encoding="utf-8")
    (corpus / REMOVED).unlink()
    edited = corpus / EDITED
    edited.write_text(edited.read_text(encoding="utf-8") + "\n" + EDIT, encoding="utf-8")


def apply_change(scenario: str, corpus: Path, index: Path) -> None:
    """The change done in this process, without faults (or again, after a child died doing it)."""
    assistant = make_assistant(corpus, index)
    if scenario == "add":
        assert assistant.add_document(ADDED, EXTRA.encode()) == ADDED
    elif scenario == "remove" and (corpus / REMOVED).exists():
        assistant.remove_document(REMOVED)
    else:  # `index`, or a removal whose file is already gone: build what the corpus holds
        assistant.build()


def run_faulty_change(scenario: str, corpus: Path, index: Path, point: str) -> subprocess.CompletedProcess:
    """The change in a child process that dies (os._exit) at ``point``."""
    env = child_env(**{FAULT_ENV: point})  # explicit: the child must not depend on this process's env
    if scenario == "index":
        change_corpus(corpus)
        command = [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index)]
        data = b""
    else:
        command = [sys.executable, "-c", FAULT_CHILD, scenario, str(corpus), str(index),
                   ADDED if scenario == "add" else REMOVED]
        data = EXTRA.encode() if scenario == "add" else b""
    return subprocess.run(command, input=data, env=env, capture_output=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def fault_base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """corpus/ and index/ (built from the seed corpus) to copy for every fault, and what a reader
    sees before any change ("old") and after each scenario's change done without a fault."""
    root = tmp_path_factory.mktemp("fault-base")
    shutil.copytree(CORPUS, root / "corpus")
    base = make_assistant(root / "corpus", root / "index")
    base.build()
    # A second and third version, so that the index folder holds the live version and the previous one and
    # every change below has a stale version to delete (the previous is kept for fall-back).
    (root / "corpus" / "passing.txt").write_text("A passing note about wombats and their burrows.\n", encoding="utf-8")
    base.build()
    (root / "corpus" / "passing.txt").unlink()
    base.build()
    assert len(versions(root / "index")) == 2
    states: dict[str, object] = {"root": root, "old": index_state(root / "index")}
    for scenario in SCENARIOS:
        work = root / f"expected-{scenario}"
        shutil.copytree(root / "corpus", work / "corpus")
        shutil.copytree(root / "index", work / "index")
        if scenario == "index":
            change_corpus(work / "corpus")
        apply_change(scenario, work / "corpus", work / "index")
        states[scenario] = index_state(work / "index")
        states[f"{scenario}-files"] = corpus_hashes(work / "corpus")
        assert states[scenario] != states["old"]
    return states


@pytest.mark.slow
@pytest.mark.process
@pytest.mark.parametrize(("scenario", "point"), FAULT_CASES, ids=[f"{s}-{p}" for s, p in FAULT_CASES])
def test_death_at_a_write_step_leaves_the_old_or_the_new_index(fault_base: dict, tmp_path: Path, scenario: str,
                                                               point: str) -> None:
    """The process dies (os._exit) at one named write step of `assistant index`, of an upload or of
    a removal. The next open serves exactly the old index (before ``CURRENT`` is swapped) or
    exactly the new one (from then on), never a mix and never an error; the next build finishes
    the change and leaves the live version, the previous one and no temporary folder."""
    root: Path = fault_base["root"]
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(root / "corpus", corpus)
    shutil.copytree(root / "index", index)
    old, new = fault_base["old"], fault_base[scenario]

    result = run_faulty_change(scenario, corpus, index, point)
    assert result.returncode == FAULT_EXIT, (f"{point} was not reached (exit {result.returncode})",
                                             result.stderr.decode(errors="replace")[-3000:])

    live = FAULT_POINTS.index(point) >= FAULT_POINTS.index(FIRST_LIVE_POINT)
    seen = index_state(index)  # loads with every checksum verified, or the test fails here
    assert seen == (new if live else old), f"{scenario} died at {point}: not the {'new' if live else 'old'} index"
    served = make_assistant(corpus, index)  # a fresh reader answers from that index
    documents = {doc_id for doc_id, _ in seen[0]}
    assert set(served.index.documents) == documents
    answer = served.ask(QUOKKA_Q, abstain=False)
    assert answer.citations
    for citation in answer.citations:
        assert citation.doc in documents
        assert served.index.documents[citation.doc].text[citation.start:citation.end] == citation.quote
    assert (ADDED in {c.doc for c in answer.citations}) == (ADDED in documents)

    apply_change(scenario, corpus, index)  # the next build (or the upload again) succeeds
    assert index_state(index) == new
    assert corpus_hashes(corpus) == fault_base[f"{scenario}-files"]
    assert leftovers(index) == []
    assert only_live_and_previous(index)


def test_every_fault_point_is_named_once_and_reached_by_a_scenario() -> None:
    """FAULT_POINTS is the one list of write steps: every ``fault_point`` call in the package names
    one of them, every one is called, and the fault test makes a child die at each."""
    called = []
    for path in sorted((REPO / "assistant").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fault_point":
                assert isinstance(node.args[0], ast.Constant), f"{path}: fault_point needs a literal name"
                called.append(node.args[0].value)
    assert len(set(FAULT_POINTS)) == len(FAULT_POINTS)
    assert sorted(called) == sorted(FAULT_POINTS), "each step is called exactly once, under its registered name"
    assert {point for _, point in FAULT_CASES} == set(FAULT_POINTS)
    assert FIRST_LIVE_POINT in BUILD_POINTS


def test_fault_point_is_inert_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULT_ENV, raising=False)
    for point in FAULT_POINTS:
        fault_point(point)  # returns: no variable set
    monkeypatch.setenv(FAULT_ENV, "no_such_step")
    fault_point(FAULT_POINTS[0])


# --- damaged index files -----------------------------------------------------------------------

INDEX_FILES = ["dense.faiss", "chunks.jsonl", "sentences.jsonl", "documents.jsonl", "sentence_vectors.npy",
               "sentence_df.json", "bm25/params.index.json", "bm25/vocab.index.json", "bm25/data.csc.index.npy",
               "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy", MANIFEST]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    while data[middle] >= 0x80:  # an ASCII byte: flipping it can never leave valid UTF-8
        middle += 1
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))


def _append(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\x00garbage\xff{]" * 16)


DAMAGE = {"truncate": _truncate, "flip": _flip, "append": _append, "delete": Path.unlink}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with corpus/ (copy of the seed corpus) and index/ built from it: copied, never changed."""
    root = tmp_path_factory.mktemp("pristine")
    shutil.copytree(CORPUS, root / "corpus")
    make_assistant(root / "corpus", root / "index").build()
    return root


@pytest.fixture
def workdir(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of ``pristine`` (corpus/ and index/, whose manifest names this corpus/)."""
    shutil.copytree(pristine / "corpus", tmp_path / "corpus")
    shutil.copytree(pristine / "index", tmp_path / "index")
    edit_manifest(tmp_path, lambda m: m.update(corpus=str((tmp_path / "corpus").resolve())))
    return tmp_path


def version_of(workdir: Path) -> Path:
    version = current_version(workdir / "index")
    assert version is not None
    return version


def edit_manifest(workdir: Path, change) -> None:
    path = version_of(workdir) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def assert_names(exc: pytest.ExceptionInfo, *needles: str) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    assert "rebuild" in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("name", INDEX_FILES)
def test_damaged_index_file_is_named(workdir: Path, name: str, damage: str) -> None:
    path = version_of(workdir) / name
    before = path.read_bytes()
    DAMAGE[damage](path)
    assert not path.exists() or path.read_bytes() != before
    with pytest.raises(IndexError_) as info:
        load_index(workdir / "index")
    assert_names(info, name)


MANIFEST_EDITS = {
    "checksum changed": (lambda m: m["files"].update({"dense.faiss": "0" * 64}), ["dense.faiss", MANIFEST, "checksum"]),
    "bm25 checksum changed": (lambda m: m["files"].update({"bm25/vocab.index.json": "f" * 64}),
                              ["bm25/vocab.index.json", "checksum"]),
    "checksum dropped": (lambda m: m["files"].pop("dense.faiss"), [MANIFEST, "dense.faiss"]),
    "all checksums dropped": (lambda m: m.update(files={}), [MANIFEST]),
    "dimension changed": (lambda m: m.update(dimension=32), [MANIFEST, "dimension 32", "dense.faiss has 64"]),
    "field removed": (lambda m: m.pop("dimension"), [MANIFEST]),
    "wrong type": (lambda m: m.update(documents=[1, 2]), [MANIFEST]),
}


@pytest.mark.parametrize("edit", MANIFEST_EDITS)
def test_edited_manifest_is_reported(workdir: Path, edit: str) -> None:
    change, needles = MANIFEST_EDITS[edit]
    edit_manifest(workdir, change)
    with pytest.raises(IndexError_) as info:
        load_index(workdir / "index")
    assert_names(info, *needles)


def test_vectors_of_a_damaged_index_are_not_reused(workdir: Path) -> None:
    """A rebuild over a damaged vector file must embed afresh, not copy the damaged vectors
    (before the fix the previous index was loaded unverified for its vector cache)."""
    path = version_of(workdir) / "sentence_vectors.npy"
    vectors = np.load(path)
    vectors[:, :] = 0.5  # still a valid .npy file: only the checksum tells
    np.save(path, vectors)
    assistant = make_assistant(workdir / "corpus", workdir / "index")
    result = assistant.build()
    assert result.embedded_texts > 0 and result.reused_texts == 0
    index = assistant.index
    expected = assistant.embedder.encode([s.text for s in index.sentences[:20]])
    assert np.allclose(index.sentence_vectors[:20], expected, atol=1e-5)


CLI_DAMAGE = {
    "dense.faiss flipped": lambda w: _flip(version_of(w) / "dense.faiss"),
    "chunks.jsonl truncated": lambda w: _truncate(version_of(w) / "chunks.jsonl"),
    "bm25 vocabulary deleted": lambda w: (version_of(w) / "bm25" / "vocab.index.json").unlink(),
    "manifest dimension edited": lambda w: edit_manifest(w, lambda m: m.update(dimension=32)),
    "manifest garbage": lambda w: _append(version_of(w) / MANIFEST),
}
CLI_NEEDLES = {"dense.faiss flipped": "dense.faiss", "chunks.jsonl truncated": "chunks.jsonl",
               "bm25 vocabulary deleted": "vocab.index.json", "manifest dimension edited": "dimension",
               "manifest garbage": MANIFEST}


@pytest.mark.parametrize("damage", CLI_DAMAGE)
@pytest.mark.process
def test_ask_rebuilds_a_damaged_index_from_its_corpus(workdir: Path, damage: str) -> None:
    CLI_DAMAGE[damage](workdir)
    result = run_cli("ask", GELSINGER_Q, "--json", "--corpus", "corpus", "--index", "index", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "index updated" in result.stderr
    answer = json.loads(result.stdout)
    assert answer["citations"]
    for citation in answer["citations"]:
        text = (workdir / "corpus" / citation["doc"]).read_text(encoding="utf-8")
        assert text[citation["start"]:citation["end"]] == citation["quote"]
    assert load_index(workdir / "index") is not None  # verified again
    assert leftovers(workdir / "index") == [] and only_live_and_previous(workdir / "index")


@pytest.mark.parametrize("damage", CLI_DAMAGE)
@pytest.mark.process
def test_ask_without_the_corpus_exits_2_and_says_to_rebuild(workdir: Path, damage: str) -> None:
    CLI_DAMAGE[damage](workdir)
    shutil.rmtree(workdir / "corpus")  # the corpus the manifest names is gone too
    result = run_cli("ask", GELSINGER_Q, "--index", str(workdir / "index"), cwd=workdir)
    assert_one_line_error(result, 2, CLI_NEEDLES[damage], "rebuild")
    assert result.stdout == ""


@pytest.mark.process
def test_serve_refuses_a_damaged_index_it_cannot_rebuild(workdir: Path) -> None:
    _flip(version_of(workdir) / "dense.faiss")
    shutil.rmtree(workdir / "corpus")
    result = subprocess.run([sys.executable, "-m", "assistant", "serve", "--index", str(workdir / "index"),
                             "--port", "1"], cwd=workdir, env=child_env(), capture_output=True, text=True,
                            timeout=120)
    assert_one_line_error(result, 2, "dense.faiss", "rebuild")
    assert "serving" not in result.stderr + result.stdout


@pytest.mark.process
def test_serve_rebuilds_a_damaged_index_from_its_corpus(workdir: Path) -> None:
    _flip(version_of(workdir) / "sentence_vectors.npy")
    with running_server(workdir, workdir / "corpus", workdir / "index") as server:
        from gradio_client import Client

        answer = Client(server.url, verbose=False).predict(GELSINGER_Q, 2, "hybrid", None, api_name="/ask")
        assert "error" not in answer and answer["citations"], answer
        assert "index updated" in server.log_text()
    assert load_index(workdir / "index") is not None


# --- changed settings --------------------------------------------------------------------------


class _RenamedEmbedder(HashEmbedder):
    """A 32-dimensional embedder that claims the index's model name (a model changed in place)."""

    def __init__(self) -> None:
        super().__init__(32)
        self.name = FAKE_MODEL


SETTINGS_CHANGES = {
    "model": (lambda corpus, index: Assistant(Settings(corpus=corpus, index=index, model="hash-32"),
                                             embedder=HashEmbedder(32)),
              ["embedding model differs", "hash-64", "hash-32"]),
    "dimension": (lambda corpus, index: Assistant(Settings(corpus=corpus, index=index, model=FAKE_MODEL),
                                                 embedder=_RenamedEmbedder()),
                  ["embedding dimension differs", "64", "32"]),
    "max_words": (lambda corpus, index: make_assistant(corpus, index, chunking=ChunkingSettings(max_words=50)),
                  ["max_words", "120", "50"]),
}


@pytest.mark.parametrize("setting", SETTINGS_CHANGES)
def test_changed_setting_is_named_and_a_rebuild_fixes_it(workdir: Path, setting: str) -> None:
    make, needles = SETTINGS_CHANGES[setting]
    assistant = make(workdir / "corpus", workdir / "index")
    with pytest.raises(IndexError_) as info:
        assistant.index
    assert_names(info, *needles)
    assert assistant.ensure_index() is not None  # what the CLI does: rebuild
    assert assistant.ask("How much does Zolgensma cost?", abstain=False).citations


@pytest.mark.parametrize(("env", "check"), [
    ({"ASSISTANT_MODEL": "hash-32"}, lambda m: m["model"] == "hash-32" and m["dimension"] == 32),
    ({"ASSISTANT_CHUNKING": '{"max_words": 50}'}, lambda m: m["chunking"]["max_words"] == 50),
], ids=["model", "max_words"])
@pytest.mark.process
def test_cli_rebuilds_when_a_setting_changed(workdir: Path, env: dict[str, str], check) -> None:
    result = run_cli("ask", GELSINGER_Q, "--json", "--corpus", "corpus", "--index", "index", cwd=workdir,
                     extra_env=env)
    assert result.returncode == 0, result.stderr
    assert "index updated" in result.stderr
    assert json.loads(result.stdout)["citations"]
    assert check(json.loads((version_of(workdir) / MANIFEST).read_text(encoding="utf-8")))


@pytest.mark.process
def test_cli_without_the_corpus_names_the_changed_setting(workdir: Path) -> None:
    shutil.rmtree(workdir / "corpus")
    result = run_cli("ask", GELSINGER_Q, "--index", str(workdir / "index"), cwd=workdir,
                     extra_env={"ASSISTANT_MODEL": "hash-32"})
    assert_one_line_error(result, 2, "embedding model differs", "hash-32", "rebuild")


# --- full disk, failing writes -----------------------------------------------------------------

_real_open = pathlib.Path.open
_real_mkdir = pathlib.Path.mkdir
_real_write_index = index_build.faiss.write_index
_real_save = np.save
_real_replace = os.replace


def _dev_full_open(self, mode="r", *args, **kwargs):
    if ".tmp-" in str(self) and ("w" in mode or "a" in mode):
        return _real_open(Path("/dev/full"), mode, *args, **kwargs)
    return _real_open(self, mode, *args, **kwargs)


def _save_to_dev_full(file, arr, *args, **kwargs):
    with open("/dev/full", "wb") as handle:
        _real_save(handle, arr, *args, **kwargs)


def _fail_replace_of(target: str, err: int):
    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == target or (target == "v-" and Path(dst).name.startswith("v-")):
            raise OSError(err, os.strerror(err), str(dst))
        return _real_replace(src, dst, *args, **kwargs)
    return replace


def _pointer_open(self, mode="r", *args, **kwargs):
    if self.name.startswith(f".tmp-{CURRENT}") and "w" in mode:
        return _real_open(Path("/dev/full"), mode, *args, **kwargs)
    return _real_open(self, mode, *args, **kwargs)


def _no_mkdir(self, *args, **kwargs):
    if self.name.startswith(".tmp-"):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
    return _real_mkdir(self, *args, **kwargs)


def _fsync_eio(fd):
    raise OSError(errno.EIO, os.strerror(errno.EIO))


def _fsync_enospc(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


FAULTS = {  # where the write fails -> what the message must say
    "dense.faiss on a full disk": ((index_build.faiss, "write_index", lambda i, p: _real_write_index(i, "/dev/full")),
                                   "No space left on device"),
    "sentence vectors on a full disk": ((index_build.np, "save", _save_to_dev_full), "No space left on device"),
    "every file on a full disk": ((pathlib.Path, "open", _dev_full_open), "No space left on device"),
    "version rename fails": ((index_build.os, "replace", _fail_replace_of("v-", errno.ENOSPC)),
                             "No space left on device"),
    "CURRENT swap fails": ((index_build.os, "replace", _fail_replace_of(CURRENT, errno.EACCES)), "Permission denied"),
    "CURRENT pointer on a full disk": ((pathlib.Path, "open", _pointer_open), "No space left on device"),
    "version folder not creatable": ((pathlib.Path, "mkdir", _no_mkdir), "Permission denied"),
    "fsync fails": ((index_build.os, "fsync", _fsync_eio), "Input/output error"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_failed_save_keeps_the_previous_index_and_says_why(fake_assistant: Assistant, monkeypatch, fault: str) -> None:
    (target, attribute, replacement), reason = FAULTS[fault]
    index_dir = fake_assistant.settings.index
    before = index_state(index_dir)
    pointer = (index_dir / CURRENT).read_bytes()
    (fake_assistant.settings.corpus / "extra.txt").write_text(EXTRA, encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(target, attribute, replacement)
        with pytest.raises(IndexError_) as info:
            fake_assistant.build()
    message = str(info.value)
    assert reason in message and "previous index is unchanged" in message and "\n" not in message, message
    assert (index_dir / CURRENT).read_bytes() == pointer
    assert index_state(index_dir) == before
    assert leftovers(index_dir) == [] and only_live_and_previous(index_dir), sorted(os.listdir(index_dir))
    assert fake_assistant.build().added == ["extra.txt"]  # works again once the disk is fine
    assert "extra.txt" in fake_assistant.index.documents


def test_upload_on_a_full_disk_changes_nothing(fake_assistant: Assistant, monkeypatch) -> None:
    corpus, index_dir = fake_assistant.settings.corpus, fake_assistant.settings.index
    files, before = corpus_hashes(corpus), index_state(index_dir)
    monkeypatch.setattr(index_build.faiss, "write_index", lambda i, p: _real_write_index(i, "/dev/full"))
    with pytest.raises(IndexError_, match="No space left on device"):
        fake_assistant.add_document("zebrafish.txt", EXTRA.encode())
    monkeypatch.setattr(corpus_admin.os, "fsync", _fsync_enospc)
    with pytest.raises(UserInputError, match=r"zebrafish\.txt: could not be saved \(No space left on device\)"):
        fake_assistant.add_document("zebrafish.txt", EXTRA.encode())
    monkeypatch.undo()
    assert corpus_hashes(corpus) == files
    assert not any(p.name.startswith(".upload-") for p in corpus.iterdir())
    assert index_state(index_dir) == before
    assert fake_assistant.add_document("zebrafish.txt", EXTRA.encode()) == "zebrafish.txt"


@pytest.mark.process
def test_cli_index_on_a_full_disk_exits_2_in_one_line(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    assert run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=tmp_path).returncode == 0
    before = index_state(tmp_path / "idx")
    (tmp_path / "corpus" / "extra.txt").write_text(EXTRA, encoding="utf-8")
    code = ("import faiss, sys; real = faiss.write_index; "
            "faiss.write_index = lambda i, p: real(i, '/dev/full'); "
            "from assistant.serve.cli import main; sys.exit(main(['index', '--corpus', 'corpus', '--index', 'idx']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=child_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]  # progress bars come before it
    assert last.startswith("assistant: error:") and "No space left on device" in last, result.stderr
    assert "previous index is unchanged" in last and "Traceback" not in result.stderr
    assert index_state(tmp_path / "idx") == before and leftovers(tmp_path / "idx") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions (the monkeypatched faults cover it)")
def test_read_only_index_folder_keeps_the_previous_index(fake_assistant: Assistant) -> None:
    index_dir = fake_assistant.settings.index
    before = index_state(index_dir)
    (fake_assistant.settings.corpus / "extra.txt").write_text(EXTRA, encoding="utf-8")
    index_dir.chmod(0o500)
    try:
        with pytest.raises(IndexError_, match="Permission denied"):
            fake_assistant.build()
    finally:
        index_dir.chmod(0o700)
    assert index_state(index_dir) == before
