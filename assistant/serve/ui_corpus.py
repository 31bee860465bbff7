"""The corpus tab of the Gradio app: the document list (by title), uploads, and removal with a
confirmation naming the title, a trash folder and an "Undo".

``corpus_tab`` builds the tab's components inside the caller's ``gr.Blocks`` and wires its
events. The views (``documents_table``, ``document_choices``) and the steps of a removal
(``removal_question``, ``remove_with_undo``, ``undo_removal``) are plain functions of the
``Assistant`` that return what the page shows, so they are tested without a browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError
from assistant.service import Assistant

TABLE_HEADERS = ["title", "file", "date", "characters", "chunks"]


def documents_table(assistant: Assistant) -> list[list[Any]]:
    """Rows of (title, file, date, characters, chunks) for the corpus tab, by title."""
    try:
        entries = assistant.index.manifest.documents
    except AssistantError:
        return []
    rows = [[e.title, doc_id, _date(e.date, e.date_source), e.chars, e.chunks] for doc_id, e in entries.items()]
    return sorted(rows, key=lambda row: (row[0].casefold(), row[1]))


def _date(date: str | None, source: str | None) -> str:
    """A document's date for the table; a file time is marked as such."""
    return "" if not date else f"{date} (file time)" if source == "file" else date


def document_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, document id) pairs for the document lists: the title, with the file name when two
    documents share a title."""
    rows = documents_table(assistant)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    return [(row[0] if counts[row[0]] == 1 else f"{row[0]} ({row[1]})", row[1]) for row in rows]


def documents_table_ids(assistant: Assistant) -> list[str]:
    """Document ids of the current index, in the table's order."""
    return [row[1] for row in documents_table(assistant)]


def _title(assistant: Assistant, doc_id: str) -> str:
    try:
        return assistant.index.titles.get(doc_id) or doc_id
    except AssistantError:
        return doc_id


def _status(*lines: str) -> str:
    """The status box's HTML from already escaped lines."""
    return "<div class=\"corpus-status\">" + "<br>".join(lines) + "</div>"


def removal_question(assistant: Assistant, doc_id: str | None) -> str | None:
    """The confirmation question for removing ``doc_id``, naming its title, or None when nothing
    is chosen."""
    if not doc_id:
        return None
    return (f"Remove <b>{escape(_title(assistant, doc_id))}</b> (<code>{escape(doc_id)}</code>)? "
            "It moves to the corpus's trash folder; you can undo it.")


def remove_with_undo(assistant: Assistant, doc_id: str) -> tuple[str, str | None]:
    """Remove a document; returns (status HTML, trash entry for the undo, or None on failure)."""
    title = _title(assistant, doc_id)
    try:
        entry = assistant.remove_document(doc_id)
    except AssistantError as exc:
        return _status(f"❌ {escape(str(exc))}"), None
    return _status(f"🗑 Removed <b>{escape(title)}</b> (moved to <code>.trash/</code> in the corpus folder)."), entry


def undo_removal(assistant: Assistant, entry: str | None) -> tuple[str, str | None]:
    """Undo the last removal; returns (status HTML, the entry still to undo, or None when done)."""
    if not entry:
        return _status("Nothing to undo."), None
    try:
        doc_id = assistant.restore_document(entry)
    except AssistantError as exc:
        return _status(f"❌ {escape(str(exc))}"), entry
    return _status(f"↩ Restored <b>{escape(_title(assistant, doc_id))}</b>; it is answerable again."), None


def upload_files(assistant: Assistant, files: list[Any] | None) -> str:
    """Add uploaded files to the corpus; returns the status HTML, one line per file."""
    lines = []
    for file in files or []:
        path = Path(file if isinstance(file, str) else file.name)
        try:
            doc_id = assistant.add_document(path.name, path.read_bytes())
            lines.append(f"✅ added {escape(doc_id)}: <b>{escape(_title(assistant, doc_id))}</b>")
        except AssistantError as exc:
            lines.append(f"❌ {escape(str(exc))}")
        except OSError as exc:
            lines.append(f"❌ {escape(path.name)}: cannot read the upload ({escape(exc.strerror or str(exc))})")
    return _status(*lines) if lines else _status("No file.")


def corpus_tab(assistant: Assistant, docs: gr.Dropdown) -> None:
    """Build the "Corpus" tab; ``docs`` is the chat's document filter, refreshed after each change."""
    with gr.Tab("Corpus"):
        table = gr.Dataframe(headers=TABLE_HEADERS, value=documents_table(assistant), interactive=False,
                             wrap=True, elem_id="documents")
        upload = gr.File(label="Add documents (.txt, .md, .html, .pdf; at most 10 MB each)",
                         file_count="multiple", file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
                         elem_id="upload")
        status = gr.HTML(elem_id="corpus-status")
        with gr.Row():
            remove_choice = gr.Dropdown(choices=document_choices(assistant), value=None, label="Remove a document",
                                        elem_id="remove-choice")
            remove = gr.Button("Remove…", variant="stop", elem_id="remove")
        with gr.Row(visible=False) as confirm_row:
            confirm = gr.Button("Yes, move it to the trash", variant="stop", elem_id="remove-confirm")
            cancel = gr.Button("Cancel", elem_id="remove-cancel")
        undo = gr.Button("Undo", visible=False, elem_id="undo-remove")
        trash_entry = gr.State(None)

        def refreshed() -> tuple:
            choices = document_choices(assistant)
            return documents_table(assistant), gr.update(choices=choices), gr.update(choices=choices, value=None)

        def on_upload(files):
            return (upload_files(assistant, files), *refreshed(), None)

        def on_remove(doc_id):
            question = removal_question(assistant, doc_id)
            if question is None:
                return _status("Choose a document to remove."), gr.update(visible=False)
            return _status(question), gr.update(visible=True)

        def on_confirm(doc_id):
            message, entry = remove_with_undo(assistant, doc_id) if doc_id else (_status("Nothing chosen."), None)
            return (message, *refreshed(), gr.update(visible=False), entry, gr.update(visible=entry is not None))

        def on_undo(entry):
            message, left = undo_removal(assistant, entry)
            return (message, *refreshed(), left, gr.update(visible=left is not None))

        lists = [table, docs, remove_choice]
        upload.upload(on_upload, upload, [status, *lists, upload], api_visibility="private")
        remove.click(on_remove, remove_choice, [status, confirm_row], api_visibility="private")
        cancel.click(lambda: (_status("Nothing was removed."), gr.update(visible=False)), None, [status, confirm_row],
                     api_visibility="private")
        confirm.click(on_confirm, remove_choice, [status, *lists, confirm_row, trash_entry, undo],
                      api_visibility="private")
        undo.click(on_undo, trash_entry, [status, *lists, trash_entry, undo], api_visibility="private")
