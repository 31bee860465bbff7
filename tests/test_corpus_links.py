"""Issue 14 item 9: reading a corpus never follows a link out of the corpus folder, and an upload
never writes outside it (links inside are followed; see README "Security")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.errors import UserInputError
from assistant.ingest.reading import link_outside, read_folder
from assistant.service import Assistant

PROSE = "Gene therapy adds a working copy of a gene. The copy is carried by a vector into the cells."
SECRET = "root:x:0:0:root:/root:/bin/bash\nThe secret password is swordfish.\n"


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A corpus with a plain file, and links: inside, out to a file, out to a folder, broken, into the trash."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET, encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / ".trash").mkdir()
    (corpus / "a.txt").write_text(PROSE, encoding="utf-8")
    (corpus / ".trash" / "old.txt").write_text(PROSE, encoding="utf-8")
    os.symlink(outside / "passwd.txt", corpus / "passwd.txt")
    os.symlink("/etc/passwd", corpus / "etc.txt")
    os.symlink(outside, corpus / "outdir")
    os.symlink("../a.txt", corpus / "sub" / "inside.txt")
    os.symlink(corpus / "nowhere.txt", corpus / "broken.txt")
    os.symlink(corpus / ".trash" / "old.txt", corpus / "trashed.txt")
    return corpus


def test_links_out_of_the_corpus_are_skipped_and_named(linked: Path) -> None:
    result = read_folder(linked)
    assert sorted(d.doc_id for d in result.documents) == ["a.txt", "sub/inside.txt"]
    assert not any("swordfish" in d.text or "root:" in d.text for d in result.documents)
    for name in ("passwd.txt", "etc.txt", "outdir", "broken.txt", "trashed.txt"):
        assert any(w.startswith(f"{name}: a link that leads outside the corpus folder") for w in result.warnings), name


def test_link_outside_by_hand(linked: Path) -> None:
    assert not link_outside(linked / "a.txt", linked)
    assert not link_outside(linked / "sub" / "inside.txt", linked)
    assert link_outside(linked / "passwd.txt", linked)
    assert link_outside(linked / "outdir" / "passwd.txt", linked)
    assert link_outside(linked / "broken.txt", linked)
    assert link_outside(linked / "trashed.txt", linked)


def test_outside_text_is_never_citable(linked: Path, tmp_path: Path) -> None:
    from conftest import make_assistant

    assistant = make_assistant(linked, tmp_path / "index")
    assistant.build()
    assert set(assistant.index.manifest.documents) == {"a.txt", "sub/inside.txt"}
    assert all("swordfish" not in assistant.index.documents[d].text for d in assistant.index.manifest.documents)


def test_an_upload_never_writes_through_a_link_out_of_the_corpus(fake_assistant: Assistant, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text(SECRET, encoding="utf-8")
    os.symlink(target, fake_assistant.settings.corpus / "notes.txt")
    with pytest.raises(UserInputError, match="notes.txt"):
        fake_assistant.add_document("notes.txt", PROSE.encode())
    assert target.read_text(encoding="utf-8") == SECRET
    assert "notes.txt" not in fake_assistant.index.manifest.documents


@pytest.mark.parametrize("name", ["../../escape.txt", "/tmp/abs-escape.txt", "..\\..\\win-escape.txt"])
def test_an_upload_with_a_path_lands_inside_the_corpus(fake_assistant: Assistant, name: str) -> None:
    corpus = fake_assistant.settings.corpus
    before = set(corpus.parent.parent.rglob("*escape.txt"))
    doc_id = fake_assistant.add_document(name, PROSE.encode())
    assert (corpus / doc_id).is_file() and (corpus / doc_id).resolve().parent == corpus.resolve()
    assert set(corpus.parent.parent.rglob("*escape.txt")) - before == {corpus / doc_id}
    assert not Path("/tmp/abs-escape.txt").exists()
