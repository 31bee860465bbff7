"""The corpus tab of the Gradio app: the document list, uploads and removal.

``corpus_tab`` builds the tab's components inside the caller's ``gr.Blocks`` and wires its
events; ``documents_table`` and ``documents_table_ids`` are the pure views of the index it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError
from assistant.service import Assistant


def documents_table(assistant: Assistant) -> list[list[Any]]:
    """Rows of (document, title, characters, chunks) for the corpus tab."""
    try:
        entries = assistant.index.manifest.documents
    except AssistantError:
        return []
    return [[doc_id, e.title, e.chars, e.chunks] for doc_id, e in sorted(entries.items())]


def documents_table_ids(assistant: Assistant) -> list[str]:
    """Document ids of the current index."""
    return [row[0] for row in documents_table(assistant)]


def corpus_tab(assistant: Assistant, docs: gr.Dropdown) -> None:
    """Build the "Corpus" tab; ``docs`` is the chat's document filter, refreshed after each change."""
    doc_ids = lambda: sorted(documents_table_ids(assistant))  # noqa: E731
    with gr.Tab("Corpus"):
        table = gr.Dataframe(headers=["document", "title", "characters", "chunks"],
                             value=documents_table(assistant), interactive=False, elem_id="documents")
        upload = gr.File(label="Add documents (.txt, .md, .html, .pdf; at most 10 MB each)",
                         file_count="multiple", file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
                         elem_id="upload")
        status = gr.Markdown(elem_id="corpus-status")
        with gr.Row():
            remove_choice = gr.Dropdown(choices=doc_ids(), label="Remove a document", elem_id="remove-choice")
            remove = gr.Button("Remove", variant="stop")

        def on_upload(files):
            messages = []
            for file in files or []:
                path = Path(file if isinstance(file, str) else file.name)
                try:
                    data = path.read_bytes()
                    doc_id = assistant.add_document(path.name, data)
                    messages.append(f"✅ added {doc_id}")
                except AssistantError as exc:
                    messages.append(f"❌ {exc}")
                except OSError as exc:
                    messages.append(f"❌ {path.name}: cannot read the upload ({exc.strerror})")
            choices = doc_ids()
            return ("\n\n".join(messages) or "No file.", documents_table(assistant), gr.update(choices=choices),
                    gr.update(choices=choices, value=None), None)

        def on_remove(doc_id):
            if not doc_id:
                return "Choose a document to remove.", documents_table(assistant), gr.update(), gr.update()
            try:
                assistant.remove_document(doc_id)
                message = f"🗑 removed {doc_id}"
            except AssistantError as exc:
                message = f"❌ {exc}"
            choices = doc_ids()
            return message, documents_table(assistant), gr.update(choices=choices), gr.update(choices=choices,
                                                                                              value=None)

        upload.upload(on_upload, upload, [status, table, docs, remove_choice, upload], api_visibility="private")
        remove.click(on_remove, remove_choice, [status, table, docs, remove_choice], api_visibility="private")
