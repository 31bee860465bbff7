"""Fault injection (fake embedder): processes killed while they write the index, damaged index
files, changed settings, and a full or unwritable disk while saving.

The kill test prints its figures and writes them to ``test-artifacts/crash-kills.json``.
Set FAULT_SEED to replay another sequence of kills.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, FAKE_MODEL, REPO, make_assistant
from serving import (
    child_env,
    generated_document,
    running_server,
    write_generated_corpus,
)
from test_cli import GELSINGER_Q, assert_one_line_error, run_cli

import assistant.index.build as index_build
import assistant.ingest.corpus_admin as corpus_admin
from assistant.errors import IndexError_, UserInputError
from assistant.index.embedding import HashEmbedder
from assistant.index.manifest import CURRENT, MANIFEST, current_version
from assistant.index.store import load_index
from assistant.models import ChunkingSettings
from assistant.service import Assistant
from assistant.settings import Settings

ARTIFACTS = REPO / "test-artifacts"
EXTRA = ("Zebrafish Vector Trials\n\nThe quokkavirus vector was tested in zebrafish larvae at a marine laboratory "
         "in Reykjavik during the spring of 2031, where it delivered a reporter gene to the retina of almost every "
         "larva.\n")


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


def versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("v-"))


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


# --- processes killed while writing ------------------------------------------------------------

ADD_CHILD = """
import sys
from pathlib import Path
from assistant.index.embedding import HashEmbedder
from assistant.service import Assistant
from assistant.settings import Settings
corpus, index, name, source = sys.argv[1:5]
assistant = Assistant(Settings(corpus=Path(corpus), index=Path(index), model="hash-64"), embedder=HashEmbedder(64))
print(assistant.add_document(name, Path(source).read_bytes()), flush=True)
"""
KILLS = 56  # half `assistant index`, half Assistant.add_document
MAX_RUNS = 120


@pytest.mark.slow
def test_killed_writers_leave_the_old_or_the_new_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """SIGKILL ``assistant index`` and a child running ``Assistant.add_document`` at random
    moments of their measured run time (half of them within the build, after the imports).
    After every kill the index loads (checksums verified) and is exactly the state before or
    after the change; the next build leaves no temporary folder and one version."""
    seed = int(os.environ.get("FAULT_SEED", "20261121"))
    rng = random.Random(seed)
    corpus, index, uploads = tmp_path / "corpus", tmp_path / "index", tmp_path / "uploads"
    write_generated_corpus(corpus, 60)
    uploads.mkdir()
    library = Assistant(Settings(corpus=corpus, index=index, model=FAKE_MODEL), embedder=HashEmbedder(64))
    library.build()
    old = index_state(index)
    env = child_env()
    serial = 1000
    uploaded: list[str] = []

    def mutate_corpus(step: int) -> None:
        nonlocal serial
        serial += 1
        docs = sorted(p for p in corpus.glob("doc*.txt"))
        kind = step % 4
        if kind == 0:  # edit: one more paragraph
            path = rng.choice(docs)
            paragraph = generated_document(rng, serial, 1).split("\n\n", 1)[1]
            path.write_text(path.read_text(encoding="utf-8") + "\n" + paragraph, encoding="utf-8")
        elif kind == 1 or len(docs) < 45:  # add
            (corpus / f"doc{serial}.txt").write_text(generated_document(rng, serial), encoding="utf-8")
        elif kind == 2:  # remove
            rng.choice(docs).unlink()
        else:  # rewrite
            rng.choice(docs).write_text(generated_document(rng, serial), encoding="utf-8")

    def start_cli() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index",
                                 str(index)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start_add() -> subprocess.Popen:
        nonlocal serial
        serial += 1
        if uploaded and rng.random() < 0.5:
            name = rng.choice(uploaded)  # replace an earlier upload
        else:
            name = f"upload{serial}.txt"
            uploaded.append(name)
        source = uploads / name
        source.write_text(generated_document(rng, serial), encoding="utf-8")
        return subprocess.Popen([sys.executable, "-c", ADD_CHILD, str(corpus), str(index), name, str(source)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    begun = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import assistant.serve.cli, assistant.service"], env=env, check=True)
    startup = time.perf_counter() - begun  # the interpreter and imports, before any build starts
    durations: dict[str, list[float]] = {"index": [], "add_document": []}
    stats = {variant: {"kills": 0, "old": 0, "new": 0, "unchanged": 0, "mid_write": 0, "finished": 0}
             for variant in ("index", "add_document")}
    delays: list[float] = []
    runs = index_runs = 0
    started = time.perf_counter()
    while min(s["kills"] for s in stats.values()) < KILLS // 2 and runs < MAX_RUNS:
        # alternate, but once one kind has its share of kills keep going with the other
        variant = ("index", "add_document")[runs % 2]
        if stats[variant]["kills"] >= KILLS // 2:
            variant = "add_document" if variant == "index" else "index"
        if variant == "index":
            mutate_corpus(index_runs)
            index_runs += 1
        process = start_cli() if variant == "index" else start_add()
        begun = time.perf_counter()
        if len(durations[variant]) < 2:  # the first two runs of each kind are timed, not killed
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            durations[variant].append(time.perf_counter() - begun)
            killed = False
        else:
            # every other kill anywhere in the run, the rest within the build (after the imports)
            whole = min(durations[variant])
            delay = rng.uniform(0 if len(delays) % 2 else min(startup, whole), whole)
            delays.append(delay)
            time.sleep(max(0.0, delay - (time.perf_counter() - begun)))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
            killed = process.returncode == -signal.SIGKILL
        runs += 1
        stat = stats[variant]
        if not killed:
            stat["finished"] += 1
        else:
            stat["kills"] += 1
            stat["mid_write"] += bool(leftovers(index) or len(versions(index)) > 1)  # killed while writing
        after_kill = index_state(index)  # loads, checksums verified

        library.build()  # the next successful build
        assert leftovers(index) == [], "temporary folders left after a successful build"
        assert versions(index) == [(index / CURRENT).read_text(encoding="utf-8").strip()]
        new = index_state(index)
        files = corpus_hashes(corpus)
        assert dict(new[0]) == files, "the index does not describe the corpus files"

        assert after_kill in (old, new), f"run {runs} ({variant}, seed {seed}): neither the old nor the new index"
        if killed:
            stat["unchanged" if old == new else ("old" if after_kill == old else "new")] += 1
        old = new

    elapsed = time.perf_counter() - started
    kills = sum(s["kills"] for s in stats.values())
    report = {"seed": seed, "runs": runs, "kills": kills, "seconds": round(elapsed, 1),
              "run_seconds": {k: [round(x, 2) for x in v] for k, v in durations.items()},
              "startup_seconds": round(startup, 2),
              "delay_s": {"min": round(min(delays), 3), "max": round(max(delays), 3)}, **stats,
              "upload_leftovers": sorted(p.name for p in corpus.iterdir() if p.name.startswith(".upload-"))}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crash-kills.json").write_text(json.dumps(report, indent=2) + "\n")
    with capsys.disabled():
        print(f"\n[faults] {kills} SIGKILLs in {runs} runs ({elapsed:.0f}s, seed {seed}): "
              + "; ".join(f"{v}: {s['kills']} kills ({s['old']} left the old index, {s['new']} the new one, "
                          f"{s['mid_write']} mid-write), {s['finished']} finished first" for v, s in stats.items()),
              flush=True)
    assert kills >= 50
    for variant, stat in stats.items():
        assert stat["kills"] >= 20, (variant, stat)
    # some kills must have hit a build while it wrote, or the test proved little (a kill just after
    # the switch to the new version is rare and only reported)
    assert sum(s["old"] for s in stats.values()) > 0, stats
    assert sum(s["mid_write"] for s in stats.values()) >= 3, stats


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
    assert leftovers(workdir / "index") == [] and len(versions(workdir / "index")) == 1


@pytest.mark.parametrize("damage", CLI_DAMAGE)
def test_ask_without_the_corpus_exits_2_and_says_to_rebuild(workdir: Path, damage: str) -> None:
    CLI_DAMAGE[damage](workdir)
    shutil.rmtree(workdir / "corpus")  # the corpus the manifest names is gone too
    result = run_cli("ask", GELSINGER_Q, "--index", str(workdir / "index"), cwd=workdir)
    assert_one_line_error(result, 2, CLI_NEEDLES[damage], "rebuild")
    assert result.stdout == ""


def test_serve_refuses_a_damaged_index_it_cannot_rebuild(workdir: Path) -> None:
    _flip(version_of(workdir) / "dense.faiss")
    shutil.rmtree(workdir / "corpus")
    result = subprocess.run([sys.executable, "-m", "assistant", "serve", "--index", str(workdir / "index"),
                             "--port", "1"], cwd=workdir, env=child_env(), capture_output=True, text=True,
                            timeout=120)
    assert_one_line_error(result, 2, "dense.faiss", "rebuild")
    assert "serving" not in result.stderr + result.stdout


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
def test_cli_rebuilds_when_a_setting_changed(workdir: Path, env: dict[str, str], check) -> None:
    result = run_cli("ask", GELSINGER_Q, "--json", "--corpus", "corpus", "--index", "index", cwd=workdir,
                     extra_env=env)
    assert result.returncode == 0, result.stderr
    assert "index updated" in result.stderr
    assert json.loads(result.stdout)["citations"]
    assert check(json.loads((version_of(workdir) / MANIFEST).read_text(encoding="utf-8")))


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
    assert leftovers(index_dir) == [] and len(versions(index_dir)) == 1, sorted(os.listdir(index_dir))
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
