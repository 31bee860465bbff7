"""Uploads and removals: file-name sanitising, upload validation, PDF extraction, and
Assistant.add_document / remove_document against an index built with the fake embedder."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import UserInputError
from assistant.ingest.corpus_admin import (
    MAX_NAME_BYTES,
    MAX_NAME_CHARS,
    MAX_UPLOAD_BYTES,
    document_path,
    prepare_upload,
    safe_file_name,
    write_document,
)
from assistant.ingest.pdf_text import extract_pdf_text
from assistant.service import Assistant

ZORBLAX = (
    "Zorblax Therapy\n\n"
    "Zorblax therapy was approved in 2031 for treating glimmer syndrome. "
    "Glimmer syndrome is a rare inherited condition that makes the skin shimmer under moonlight. "
    "A single Zorblax infusion costs 4.2 million credits and lasts for a decade.\n"
)


def pdf_with_stream(stream: bytes, filter_: str | None = None) -> bytes:
    """A one-page PDF (catalog, pages, page, content stream, Helvetica) around ``stream``."""
    filter_entry = f" /Filter /{filter_}".encode() if filter_ else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + filter_entry + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Helvetica text, written by hand (objects, xref table, trailer)."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td", *(f"({esc(line)}) Tj T*" for line in lines), "ET"]
    stream = "\n".join(ops).encode("latin-1")
    return pdf_with_stream(stream)


PDF_LINES = ["Quorvexin was approved in 2033 for treating velvet fever.",
             "Velvet fever is an invented illness that turns the fingertips soft and warm.",
             "Quorvexin is given as a single infusion."]


def corpus_state(assistant: Assistant) -> tuple[dict[str, bytes], dict[str, str]]:
    """The corpus folder's files and the index's documents (id -> sha256)."""
    corpus = assistant.settings.corpus
    files = {p.name: p.read_bytes() for p in corpus.iterdir() if not p.name.startswith(".")}
    docs = {doc_id: e.sha256 for doc_id, e in assistant.index.manifest.documents.items()}
    return files, docs


# --- safe_file_name ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("notes.txt", "notes.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("../notes.md", "notes.md"),
    ("/etc/cron.d/evil.txt", "evil.txt"),
    ("C:\\Users\\me\\Desktop\\report.HTML", "report.html"),
    ("..\\..\\win.ini.txt", "win.ini.txt"),
    ("  .hidden.txt", "hidden.txt"),
    ("my<file>|name?.txt", "my_file__name.txt"),
    ("weird\x00name\n.txt", "weird_name.txt"),
    ("Café Ünïcode.md", "Café Ünïcode.md"),
    ("report.t x*t", "report.txt"),
])
def test_safe_file_name(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../", "/", "noextension", ".txt", "...", "../..txt", "name.", "<>.txt",
                                  "a.***"])
def test_safe_file_name_rejects_unusable_names(name: str) -> None:
    with pytest.raises(UserInputError, match="unusable file name"):
        safe_file_name(name)


def test_safe_file_name_shortens_long_names_and_keeps_the_extension() -> None:
    name = safe_file_name("a" * 300 + ".txt")
    assert name == "a" * (MAX_NAME_CHARS - 4) + ".txt"
    # non-ASCII names are also kept under the file system's 255-byte limit
    for char in ("漢", "𝔸", "é"):
        long = safe_file_name(char * 300 + ".txt")
        assert long.endswith(".txt") and len(long) <= MAX_NAME_CHARS
        assert len(long.encode("utf-8")) <= MAX_NAME_BYTES


def test_safe_file_name_of_a_very_long_extension_is_still_plain() -> None:
    name = safe_file_name("a." + "t" * 300)
    assert not name.startswith(".") and len(name) <= MAX_NAME_CHARS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_safe_file_name_is_always_a_plain_writable_name(tmp_path: Path, name: str) -> None:
    try:
        safe = safe_file_name(name)
    except UserInputError:
        return
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and safe not in (".", "..")
    assert len(safe) <= MAX_NAME_CHARS and len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert (tmp_path / safe).resolve().parent == tmp_path.resolve()
    assert safe == safe.strip()
    write_document(tmp_path, safe, b"x")  # really writable
    (tmp_path / safe).unlink()


# --- prepare_upload ------------------------------------------------------------------------------


def test_prepare_upload_accepts_text_files_unchanged() -> None:
    data = ZORBLAX.encode()
    assert prepare_upload("../zorblax.txt", data) == ("zorblax.txt", data)
    assert prepare_upload("page.HTML", b"<p>Hello there.</p>") == ("page.html", b"<p>Hello there.</p>")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("tool.exe", b"MZ binary", "tool.exe: unsupported type .exe; upload .txt, .md, .html or .pdf"),
    ("table.csv", b"a,b\n1,2\n", "unsupported type .csv"),
    ("empty.txt", b"", "empty.txt: the file is empty"),
    ("blank.md", b"  \n\t \n", "blank.md: the file is empty"),
    ("binary.txt", b"\x00\x01\x02binary", "binary.txt: looks binary"),
    ("empty.pdf", b"", "empty.pdf: the file is empty"),
])
def test_prepare_upload_rejects_bad_files_with_a_clear_message(name: str, data: bytes, message: str) -> None:
    with pytest.raises(UserInputError) as info:
        prepare_upload(name, data)
    assert message in str(info.value)


def test_prepare_upload_rejects_files_over_the_size_limit() -> None:
    with pytest.raises(UserInputError, match=r"big\.txt: 10485761 bytes is over the 10 MB limit"):
        prepare_upload("big.txt", b"a" * (MAX_UPLOAD_BYTES + 1))
    name, data = prepare_upload("edge.txt", b"a" * MAX_UPLOAD_BYTES)
    assert name == "edge.txt" and len(data) == MAX_UPLOAD_BYTES


def test_prepare_upload_keeps_a_pdf_as_it_came() -> None:
    pdf = minimal_pdf(PDF_LINES)
    assert prepare_upload("Quorvexin Leaflet.pdf", pdf) == ("Quorvexin Leaflet.pdf", pdf)


def test_random_bytes_named_pdf_are_rejected_with_a_message(tmp_path: Path) -> None:
    junk = random.Random(7).randbytes(4096)
    with pytest.raises(UserInputError, match=r"junk\.pdf: cannot read PDF \(broken PDF"):
        prepare_upload("junk.pdf", junk)
    truncated = minimal_pdf(PDF_LINES)[:150]
    with pytest.raises(UserInputError, match="truncated.pdf: "):
        prepare_upload("truncated.pdf", truncated)


def encrypted_pdf(tmp_path: Path) -> bytes:
    """The minimal PDF, encrypted with a password (made with pypdf)."""
    pypdf = pytest.importorskip("pypdf")
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(minimal_pdf(PDF_LINES))
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.encrypt("secret", algorithm="RC4-128")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    return locked.read_bytes()


def test_encrypted_pdf_is_rejected_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"locked\.pdf: cannot read PDF \(encrypted PDF\)"):
        prepare_upload("locked.pdf", encrypted_pdf(tmp_path))


def test_pdf_without_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "blank.pdf"
    path.write_bytes(minimal_pdf([]))
    with pytest.raises(UserInputError, match="no extractable text"):
        extract_pdf_text(path)


def test_document_path_stays_inside_the_corpus(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A.")
    (tmp_path / "secret.txt").write_text("S.")
    assert document_path(tmp_path / "corpus", "a.txt") == (tmp_path / "corpus" / "a.txt").resolve()
    for bad in ("../secret.txt", str(tmp_path / "secret.txt"), "missing.txt", "."):
        with pytest.raises(UserInputError, match="unknown document"):
            document_path(tmp_path / "corpus", bad)


def test_write_document_is_atomic_and_refuses_folders(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_document(corpus, "a.txt", b"one")
    write_document(corpus, "a.txt", b"two")
    assert (corpus / "a.txt").read_bytes() == b"two"
    assert [p.name for p in corpus.iterdir()] == ["a.txt"]  # no temporary files left
    with pytest.raises(UserInputError, match="not a plain file name"):
        write_document(corpus, "../escape.txt", b"x")
    assert not (tmp_path / "escape.txt").exists()


# --- Assistant.add_document / remove_document (fake embedder) --------------------------------


def test_added_document_is_answerable_at_once(fake_assistant: Assistant) -> None:
    before = set(fake_assistant.index.manifest.documents)
    doc_id = fake_assistant.add_document("../uploads/zorblax.txt", ZORBLAX.encode())
    assert doc_id == "zorblax.txt"
    assert set(fake_assistant.index.manifest.documents) == before | {"zorblax.txt"}
    assert (fake_assistant.settings.corpus / "zorblax.txt").read_text() == ZORBLAX
    answer = fake_assistant.ask("When was Zorblax therapy approved?")
    assert not answer.abstained, answer.reason
    assert "2031" in answer.text
    assert answer.citations[0].doc == "zorblax.txt"
    assert ZORBLAX[answer.citations[0].start:answer.citations[0].end] == answer.citations[0].quote


def test_uploading_the_same_name_replaces_the_document(fake_assistant: Assistant) -> None:
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    fake_assistant.add_document("zorblax.txt", ZORBLAX.replace("2031", "2032").encode())
    answer = fake_assistant.ask("When was Zorblax therapy approved?")
    assert "2032" in answer.text and "2031" not in answer.text


@pytest.mark.parametrize(("name", "data", "message"), [
    ("tool.exe", b"MZ", "unsupported type"),
    ("empty.txt", b"", "the file is empty"),
    ("binary.txt", b"\x00\x01binary", "looks binary"),
    ("junk.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8, "cannot read PDF"),
    ("random.pdf", random.Random(3).randbytes(2048), "cannot read PDF"),
    ("only-script.html", b"<html><script>var x = 1;</script><style>p {}</style></html>",
     "only-script.html was not added: it has no readable text"),
    ("../..", b"text", "unusable file name"),
])
def test_bad_upload_leaves_corpus_and_index_unchanged(fake_assistant: Assistant, name: str, data: bytes,
                                                       message: str) -> None:
    before = corpus_state(fake_assistant)
    with pytest.raises(UserInputError, match=message):
        fake_assistant.add_document(name, data)
    assert corpus_state(fake_assistant) == before
    assert fake_assistant.ask("How much does Zolgensma cost?", abstain=False).citations  # still answers


def test_pdf_upload_stays_a_pdf_and_is_answerable(fake_assistant: Assistant) -> None:
    pdf = minimal_pdf(PDF_LINES)
    doc_id = fake_assistant.add_document("Quorvexin.pdf", pdf)
    assert doc_id == "Quorvexin.pdf"
    assert (fake_assistant.settings.corpus / "Quorvexin.pdf").read_bytes() == pdf
    assert not (fake_assistant.settings.corpus / "Quorvexin.txt").exists()
    answer = fake_assistant.ask("When was Quorvexin approved?")
    assert not answer.abstained, answer.reason
    assert "2033" in answer.text and answer.citations[0].doc == "Quorvexin.pdf"
    document = fake_assistant.index.documents["Quorvexin.pdf"]
    assert document.source_format == "pdf"
    c = answer.citations[0]
    assert document.text[c.start:c.end] == c.quote


def test_removed_document_is_gone_from_corpus_and_answers(fake_assistant: Assistant) -> None:
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    fake_assistant.remove_document("zorblax.txt")
    assert "zorblax.txt" not in fake_assistant.index.manifest.documents
    assert not (fake_assistant.settings.corpus / "zorblax.txt").exists()
    answer = fake_assistant.ask("When was Zorblax therapy approved?")
    assert all(c.doc != "zorblax.txt" for c in answer.citations)
    assert "2031" not in answer.text


def test_removing_an_unknown_or_outside_document_fails_cleanly(fake_assistant: Assistant, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("Outside the corpus.")
    before = corpus_state(fake_assistant)
    for doc_id in ("missing.txt", "../outside.txt", str(tmp_path / "outside.txt")):
        with pytest.raises(UserInputError, match="unknown document"):
            fake_assistant.remove_document(doc_id)
    assert corpus_state(fake_assistant) == before
    assert (tmp_path / "outside.txt").exists()


def test_a_failed_rebuild_restores_the_previous_file(fake_assistant: Assistant,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    before = corpus_state(fake_assistant)

    def broken_build(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fake_assistant, "build", broken_build)
    with pytest.raises(RuntimeError):
        fake_assistant.add_document("zorblax.txt", b"Replacement text that must not stay.")
    with pytest.raises(RuntimeError):
        fake_assistant.add_document("brand-new.txt", b"A new document that must not stay.")
    with pytest.raises(RuntimeError):
        fake_assistant.remove_document("zorblax.txt")
    assert corpus_state(fake_assistant) == before
    assert not any(name.startswith(".upload-") for name in os.listdir(fake_assistant.settings.corpus))
