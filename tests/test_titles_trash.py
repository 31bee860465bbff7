"""Issue 14 items 2 and 3: document titles (HTML <title>, PDF metadata or first page, Markdown #,
else the file name without its hash), and removal into the corpus's trash with undo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assistant.errors import UserInputError
from assistant.ingest.corpus_admin import TRASH, move_to_trash, restore_from_trash
from assistant.ingest.reading import read_folder
from assistant.ingest.titles import document_title, file_name_title, html_title, markdown_title, pdf_title
from assistant.service import Assistant
from test_corpus_admin import PDF_LINES, ZORBLAX, minimal_pdf

PROSE = "Gene therapy adds a working copy of a gene. The copy is carried by a vector into the cells."


@pytest.mark.parametrize("doc_id, title", [
    ("002_8327220291109cc9.txt", "002"),
    ("sub/my_notes.md", "my notes"),
    ("report-2019_final.pdf", "report-2019 final"),
    ("notes-8327220291109cc9.html", "notes"),
    ("8327220291109cc9.txt", "8327220291109cc9"),  # nothing but the hash: keep it
    ("a.txt", "a"),
])
def test_file_name_title(doc_id: str, title: str) -> None:
    assert file_name_title(doc_id) == title


def test_html_title_markdown_title_and_pdf_title_by_hand() -> None:
    assert html_title("<html><head><TITLE> Gene &amp; Therapy\n News </TITLE></head>") == "Gene & Therapy News"
    assert html_title("<html><head><title>  </title></head>") is None
    assert html_title("<p>no title</p>") is None
    assert markdown_title("intro line\n# Velvet Fever #\n## Part") == "Velvet Fever"
    assert markdown_title("## only a second level") is None
    assert pdf_title("Annual Report 2019") == "Annual Report 2019"
    assert pdf_title("Microsoft Word - draft.docx") is None and pdf_title("Untitled") is None
    assert pdf_title("  ") is None and pdf_title(None) is None


def test_document_title_prefers_what_the_document_declares() -> None:
    html = "<html><head><title>The Real Title</title></head><body><h1>A Heading</h1><p>" + PROSE + "</p></body>"
    assert document_title("x_8327220291109cc9.html", html, html, "html") == "The Real Title"
    md = "Some Banner\n\n# Markdown Title\n\n" + PROSE
    assert document_title("x.md", md, md, "md") == "Markdown Title"
    pdf_text = "First Page Heading\n\n" + PROSE + "\n\nSecond Page Heading\n\n" + PROSE
    first_page_end = len("First Page Heading\n\n" + PROSE)
    assert document_title("x.pdf", pdf_text, pdf_text, "pdf", "Metadata Title", first_page_end) == "Metadata Title"
    assert document_title("x.pdf", pdf_text, pdf_text, "pdf", "Untitled", first_page_end) == "First Page Heading"
    assert document_title("notes_8327220291109cc9.txt", "", "", "txt") == "notes"


def pdf_with_metadata(metadata: dict[str, str]) -> bytes:
    """The test PDF (``PDF_LINES``) with document metadata added by pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf(PDF_LINES))))
    writer.add_metadata(metadata)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_folder_titles_come_from_each_format(tmp_path: Path) -> None:
    (tmp_path / "leaflet_8327220291109cc9.pdf").write_bytes(pdf_with_metadata({"/Title": "Quorvexin Leaflet"}))
    (tmp_path / "bare.pdf").write_bytes(minimal_pdf(["Quorvexin Facts", *PDF_LINES]))
    (tmp_path / "page.html").write_text(f"<title>Page Title</title><h1>Other</h1><p>{PROSE}</p>", encoding="utf-8")
    (tmp_path / "note.md").write_text(f"# Note Title\n\n{PROSE}", encoding="utf-8")
    titles = {d.doc_id: d.title for d in read_folder(tmp_path).documents}
    assert titles["leaflet_8327220291109cc9.pdf"] == "Quorvexin Leaflet"
    assert titles["bare.pdf"] == "Quorvexin Facts"
    assert titles["page.html"] == "Page Title" and titles["note.md"] == "Note Title"


# --- trash and undo -------------------------------------------------------------------------------


def test_move_to_trash_and_back_by_hand(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text(PROSE, encoding="utf-8")
    entry = move_to_trash(tmp_path, "sub/a.txt")
    assert entry.endswith("/sub/a.txt") and not (tmp_path / "sub" / "a.txt").exists()
    assert (tmp_path / TRASH / entry).read_text(encoding="utf-8") == PROSE
    assert read_folder_ids(tmp_path) == []  # the trash is never read
    assert restore_from_trash(tmp_path, entry) == "sub/a.txt"
    assert (tmp_path / "sub" / "a.txt").read_text(encoding="utf-8") == PROSE
    assert not (tmp_path / TRASH / entry.split("/")[0]).exists()


def read_folder_ids(folder: Path) -> list[str]:
    (folder / "keep.txt").write_text(PROSE, encoding="utf-8")
    ids = [d.doc_id for d in read_folder(folder).documents if d.doc_id != "keep.txt"]
    (folder / "keep.txt").unlink()
    return ids


@pytest.mark.parametrize("entry", ["nothing/a.txt", "../../etc/passwd", "x", "/etc/passwd", ".../a.txt"])
def test_restore_refuses_entries_not_in_the_trash(tmp_path: Path, entry: str) -> None:
    (tmp_path / TRASH).mkdir()
    with pytest.raises(UserInputError, match="not in the trash"):
        restore_from_trash(tmp_path, entry)


def test_restore_refuses_when_the_name_is_taken_again(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PROSE, encoding="utf-8")
    entry = move_to_trash(tmp_path, "a.txt")
    (tmp_path / "a.txt").write_text("a new document", encoding="utf-8")
    with pytest.raises(UserInputError, match="a.txt cannot be restored"):
        restore_from_trash(tmp_path, entry)
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "a new document"


def test_remove_moves_to_the_trash_and_undo_makes_it_answerable_again(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.corpus
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    entry = fake_assistant.remove_document("zorblax.txt")
    assert not (corpus / "zorblax.txt").exists()
    assert (corpus / TRASH / entry).read_bytes() == ZORBLAX.encode()
    assert "zorblax.txt" not in fake_assistant.index.manifest.documents
    assert fake_assistant.stale_reason() is None  # the trash is not part of the corpus
    assert fake_assistant.restore_document(entry) == "zorblax.txt"
    assert (corpus / "zorblax.txt").read_bytes() == ZORBLAX.encode()
    answer = fake_assistant.ask("When was Zorblax therapy approved?")
    assert not answer.abstained and answer.citations[0].doc == "zorblax.txt"


def test_a_failed_rebuild_during_undo_leaves_the_document_in_the_trash(fake_assistant: Assistant,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    entry = fake_assistant.remove_document("zorblax.txt")

    def broken_build(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fake_assistant, "build", broken_build)
    with pytest.raises(RuntimeError):
        fake_assistant.restore_document(entry)
    corpus = fake_assistant.settings.corpus
    assert not (corpus / "zorblax.txt").exists() and (corpus / TRASH / entry).exists()


def test_an_upload_of_the_same_name_keeps_the_previous_version_in_the_trash(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.corpus
    fake_assistant.add_document("zorblax.txt", ZORBLAX.encode())
    fake_assistant.add_document("zorblax.txt", PROSE.encode())
    assert (corpus / "zorblax.txt").read_bytes() == PROSE.encode()
    assert [p.read_bytes() for p in (corpus / TRASH).rglob("zorblax.txt")] == [ZORBLAX.encode()]


def test_an_unreadable_replacement_keeps_the_document(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.corpus
    fake_assistant.add_document("page.html", f"<p>{ZORBLAX}</p>".encode())
    with pytest.raises(UserInputError, match="page.html was not added"):
        fake_assistant.add_document("page.html", b"<script>alert(1)</script><style>p{}</style>")
    assert (corpus / "page.html").read_bytes() == f"<p>{ZORBLAX}</p>".encode()
    assert "page.html" in fake_assistant.index.manifest.documents


def test_a_pdf_is_dated_by_its_metadata(tmp_path: Path) -> None:
    (tmp_path / "dated.pdf").write_bytes(pdf_with_metadata({"/CreationDate": "D:20190314120000+00'00'"}))
    (tmp_path / "undated.pdf").write_bytes(minimal_pdf(PDF_LINES))
    dates = {d.doc_id: (d.date, d.date_source) for d in read_folder(tmp_path).documents}
    assert dates["dated.pdf"] == ("2019-03-14", "pdf")
    assert dates["undated.pdf"][1] == "file"  # no metadata date, no dateline: the file time, marked as such
