"""The corpus tab's views and removal steps (issue 14 items 2-3), without a browser."""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.corpus_admin import TRASH
from assistant.serve.ui_corpus import (
    document_choices,
    documents_table,
    removal_question,
    remove_with_undo,
    undo_removal,
    upload_files,
)
from assistant.service import Assistant
from test_corpus_admin import PDF_LINES, ZORBLAX, minimal_pdf

DOC = "002_8327220291109cc9.txt"
TITLE = "Gene Therapy Explained: Treating Disease by Fixing Genes"


def test_lists_show_titles_not_file_names(fake_assistant: Assistant) -> None:
    choices = dict(document_choices(fake_assistant))
    assert set(choices.values()) == set(fake_assistant.index.manifest.documents)
    assert {label: doc for label, doc in choices.items()}[TITLE] == DOC
    row = next(r for r in documents_table(fake_assistant) if r[1] == DOC)
    assert row[0] == TITLE


def test_documents_sharing_a_title_are_told_apart_by_file(fake_assistant: Assistant) -> None:
    fake_assistant.add_document("copy.md", f"# {TITLE}\n\n{ZORBLAX}".encode())
    labels = [label for label, doc in document_choices(fake_assistant) if doc in (DOC, "copy.md")]
    assert sorted(labels) == [f"{TITLE} ({DOC})", f"{TITLE} (copy.md)"]


def test_removal_asks_first_naming_the_title(fake_assistant: Assistant) -> None:
    assert removal_question(fake_assistant, None) is None and removal_question(fake_assistant, "") is None
    question = removal_question(fake_assistant, DOC)
    assert question is not None and TITLE in question and DOC in question and "undo" in question
    assert (fake_assistant.settings.corpus / DOC).exists()  # asking removes nothing


def test_removal_question_escapes_the_title(fake_assistant: Assistant) -> None:
    fake_assistant.add_document("x.md", b"# <img src=x onerror=alert(1)> Zorblax\n\n" + ZORBLAX.encode())
    question = removal_question(fake_assistant, "x.md")
    assert "<img" not in question and "&lt;img" in question


def test_remove_then_undo_restores_file_and_index(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.corpus
    data = (corpus / DOC).read_bytes()
    message, entry = remove_with_undo(fake_assistant, DOC)
    assert TITLE in message and entry is not None
    assert not (corpus / DOC).exists() and (corpus / TRASH / entry).read_bytes() == data
    assert DOC not in dict((d, t) for t, d in document_choices(fake_assistant))
    message, left = undo_removal(fake_assistant, entry)
    assert "Restored" in message and TITLE in message and left is None
    assert (corpus / DOC).read_bytes() == data
    answer = fake_assistant.ask("How much does Zolgensma cost?", doc_filter=[DOC], abstain=False)
    assert answer.citations and answer.citations[0].doc == DOC
    message, left = undo_removal(fake_assistant, None)
    assert "Nothing to undo" in message and left is None


def test_a_failed_removal_offers_no_undo(fake_assistant: Assistant) -> None:
    message, entry = remove_with_undo(fake_assistant, "missing.txt")
    assert "unknown document" in message and entry is None


def test_uploaded_pdf_stays_a_pdf_and_is_listed_by_title(fake_assistant: Assistant, tmp_path: Path) -> None:
    upload = tmp_path / "leaflet.pdf"
    upload.write_bytes(minimal_pdf(["Quorvexin Leaflet", *PDF_LINES]))
    message = upload_files(fake_assistant, [str(upload)])
    assert "added" in message and "Quorvexin Leaflet" in message
    assert (fake_assistant.settings.corpus / "leaflet.pdf").read_bytes() == upload.read_bytes()
    assert ("Quorvexin Leaflet", "leaflet.pdf") in document_choices(fake_assistant)


def test_nothing_is_preselected_in_the_corpus_tab(fake_assistant: Assistant) -> None:
    from assistant.serve.ui import build_app

    app = build_app(fake_assistant)
    by_id = {getattr(block, "elem_id", None): block for block in app.blocks.values()}
    assert by_id["remove-choice"].value is None
    assert by_id["doc-filter"].value in (None, [])
    assert by_id["undo-remove"].visible is False
    labels = {label for label, _ in by_id["remove-choice"].choices}
    assert TITLE in labels and DOC not in labels
