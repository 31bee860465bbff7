"""The Gradio app: chat with clickable citations, settings, corpus management, evaluation.

``build_app`` only builds the Blocks; ``assistant serve`` launches it. Every handler calls the
same library API as the CLI (``Assistant``) and the pure formatters of ``ui_format``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import gradio as gr

from assistant.answer.conversation import resolve_follow_up
from assistant.errors import AssistantError
from assistant.models import RETRIEVAL_MODES, Answer, System
from assistant.serve.http_api import ask_arguments_problem
from assistant.serve.ui_corpus import corpus_tab, documents_table_ids
from assistant.serve.ui_format import (
    CARD_CSS,
    CARD_JS,
    CHECK_CSS,
    answer_card_html,
    answer_markdown,
    chat_text,
    check_report_html,
)
from assistant.service import Assistant

log = logging.getLogger(__name__)

EXAMPLES = [
    "How much does Zolgensma cost?",
    "What is the packaging capacity of AAV vectors?",
    "Who died in 1999 during a gene therapy study?",
    "How does ex vivo gene therapy work?",
]
EMPTY_CARD = "<div class=\"answer-card\"><p class=\"hint\">Ask a question to see a cited answer here.</p></div>"


def _document_text(assistant: Assistant):
    def lookup(doc_id: str) -> str | None:
        document = assistant.index.documents.get(doc_id)
        return document.text if document else None
    return lookup


def ask_in_chat(assistant: Assistant, question: str, history: list[dict], asked: list[str], max_sentences: int,
                mode: str, docs: list[str] | None) -> tuple[list[dict], list[str], str, str, Answer | None]:
    """Answer one chat turn: resolve a follow-up, answer, and render every output."""
    history = list(history or [])
    asked = list(asked or [])
    try:
        searched = resolve_follow_up(question, asked, assistant.index.sentence_df)
        answer = assistant.ask(searched, max_sentences=int(max_sentences), mode=mode, doc_filter=docs or None)
    except AssistantError as exc:
        message = f"⚠ {exc}"
        history += [{"role": "user", "content": gr_escape(question)},
                    {"role": "assistant", "content": gr_escape(message)}]
        card = f"<div class=\"answer-card\"><div class=\"abstain error\">{gr_escape(message)}</div></div>"
        return history, asked, card, "", None
    answer = answer.model_copy(update={"question": question.strip(), "searched_question": searched})
    asked.append(searched)
    # the Chatbot renders its messages as (sanitised) HTML even without Markdown: escape them so
    # markup in a question or a quoted document shows as text
    history += [{"role": "user", "content": gr_escape(question)},
                {"role": "assistant", "content": gr_escape(chat_text(answer))}]
    return history, asked, answer_card_html(answer, _document_text(assistant)), answer_markdown(answer), answer


def gr_escape(text: str) -> str:
    """HTML-escape a message."""
    from html import escape

    return escape(text)


def build_app(assistant: Assistant, questions_dir: Path = Path("evals/questions"),
              runs_dir: Path = Path("evals/runs")) -> gr.Blocks:
    """The Blocks app (not launched)."""
    doc_ids = lambda: sorted(documents_table_ids(assistant))  # noqa: E731

    with gr.Blocks(title="Cited answers") as app:
        gr.Markdown("## Ask the documents\nEvery sentence of an answer is quoted from a document; click a number "
                    "to see where.")
        asked = gr.State([])
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=300, render_markdown=False, elem_id="chat")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask a question about the documents", show_label=False,
                                              scale=5, elem_id="question", max_lines=3)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    card = gr.HTML(EMPTY_CARD, css_template=CARD_CSS, js_on_load=CARD_JS, elem_id="answer-card")
                    markdown = gr.Textbox(label="Copy this answer as Markdown", lines=4, buttons=["copy"],
                                          elem_id="answer-markdown", interactive=False)
                with gr.Column(scale=1):
                    max_sentences = gr.Slider(1, 3, value=assistant.settings.max_sentences, step=1,
                                              label="Sentences per answer")
                    mode = gr.Radio([m.value for m in RETRIEVAL_MODES], value=str(assistant.settings.mode),
                                    label="Retrieval")
                    docs = gr.Dropdown(choices=doc_ids(), multiselect=True, label="Only these documents",
                                       elem_id="doc-filter")
                    clear = gr.Button("New conversation")

            def on_ask(q, history, asked_so_far, n, m, selected):
                history, asked_now, card_html, md, _ = ask_in_chat(assistant, q, history, asked_so_far, n, m, selected)
                return history, asked_now, card_html, md, ""

            outputs = [chat, asked, card, markdown, question]
            inputs = [question, chat, asked, max_sentences, mode, docs]
            send.click(on_ask, inputs, outputs, api_visibility="private")
            question.submit(on_ask, inputs, outputs, api_visibility="private")
            clear.click(lambda: ([], [], EMPTY_CARD, ""), None, [chat, asked, card, markdown],
                        api_visibility="private")

        corpus_tab(assistant, docs)

        with gr.Tab("Check citations"):
            gr.Markdown("Paste a text that cites the collection: `[n]` markers with a reference list at the end "
                        "(`[1] 002_8327220291109cc9.txt` or a document title), markers naming a document "
                        "(`[002_8327220291109cc9.txt]`), or an answer in the JSON contract.")
            pasted = gr.Textbox(lines=8, label="Text to check", elem_id="check-input")
            check_button = gr.Button("Check citations", variant="primary", elem_id="check-button")
            check_out = gr.HTML(css_template=CHECK_CSS, elem_id="check-report", js_on_load=None)

            def on_check(text):
                try:
                    return check_report_html(assistant.check(text))
                except AssistantError as exc:
                    return f"<div class=\"check-report\"><div class=\"check-error\">⚠ {gr_escape(str(exc))}</div></div>"

            check_button.click(on_check, pasted, check_out, api_visibility="private")

        with gr.Tab("Evaluation"):
            sets = sorted(str(p) for p in questions_dir.glob("*.jsonl")) if questions_dir.exists() else []
            question_set = gr.Dropdown(choices=sets, value=sets[0] if sets else None, label="Question set")
            with gr.Row():
                systems = gr.CheckboxGroup([s.value for s in System], value=[System.NAIVE.value, System.FULL.value],
                                           label="Systems")
                limit = gr.Number(value=0, precision=0, label="Limit (0 = all questions)")
            run = gr.Button("Run evaluation")
            summary = gr.Markdown()
            with gr.Row():
                plot_metrics = gr.Image(label="Metrics", type="filepath")
                plot_confidence = gr.Image(label="Confidence", type="filepath")
                plot_latency = gr.Image(label="Latency", type="filepath")

            def on_eval(path, chosen, n, progress=gr.Progress()):
                from assistant.eval.evaluation import (
                    eval_report,
                    load_questions,
                    run_evaluation,
                )
                from assistant.eval.reports import summary_table, write_report

                if not path or not chosen:
                    return "Choose a question set and at least one system.", None, None, None
                try:
                    questions = load_questions(Path(path), limit=int(n) or None)
                except AssistantError as exc:
                    return f"❌ {exc}", None, None, None
                records = run_evaluation(assistant, questions, chosen,
                                         progress=lambda done, total: progress(done / total))
                now = dt.datetime.now(dt.timezone.utc)
                report = eval_report(assistant, path, records, now.isoformat(timespec="seconds"))
                out = runs_dir / f"ui-{now.strftime('%Y%m%dT%H%M%S')}"
                paths = write_report(report, out, assistant.abstain_threshold)
                pngs = {p.stem: str(p) for p in paths if p.suffix == ".png"}
                return (summary_table(report.summary) + f"\n\nReport: `{out}`", pngs.get("metrics"), pngs.get("confidence"),
                        pngs.get("latency"))

            run.click(on_eval, [question_set, systems, limit], [summary, plot_metrics, plot_confidence, plot_latency],
                      api_visibility="private", concurrency_limit=1)

        def api_ask(question: str, max_sentences: int = 2, mode: str = "hybrid",
                    documents: list[str] | None = None) -> dict:
            """Answer a question; returns the answer contract (see README)."""
            problem = ask_arguments_problem(max_sentences, mode, documents)
            if problem:
                return {"error": problem}
            try:
                answer = assistant.ask(question, max_sentences=int(float(max_sentences)),
                                       mode=mode, doc_filter=documents or None)  # type: ignore[arg-type]
            except AssistantError as exc:
                return {"error": str(exc)}
            return answer.model_dump(mode="json")

        gr.api(api_ask, api_name="ask")

        def api_check(text: str) -> dict:
            """Check the citations of a text; returns the check report (see README)."""
            if not isinstance(text, str):
                return {"error": "the text to check must be a string"}
            try:
                return assistant.check(text).model_dump(mode="json")
            except AssistantError as exc:
                return {"error": str(exc)}

        gr.api(api_check, api_name="check")
    return app

