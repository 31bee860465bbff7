"""The Gradio app: chat with clickable citations, settings, corpus management, evaluation.

``build_app`` only builds the Blocks; ``assistant serve`` launches it. Every handler calls the
same library API as the CLI (``Assistant``) and the pure formatters of ``ui_format``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import gradio as gr

from assistant.answer.conversation import ask_in_conversation
from assistant.errors import AssistantError
from assistant.models import RETRIEVAL_MODES, Answer, System
from assistant.serve.http_api import MAX_SENTENCES, ask_arguments_problem
from assistant.serve.ui_corpus import corpus_tab, document_choices
from assistant.serve.chat_format import CHAT_CSS, CHAT_JS, Turn, conversation_html
from assistant.serve.ui_format import CHECK_CSS, EVAL_CSS, answer_markdown, check_report_html, eval_summary_html
from assistant.service import Assistant

log = logging.getLogger(__name__)

EXAMPLES = [
    "How much does Zolgensma cost?",
    "What is the packaging capacity of AAV vectors?",
    "Who died in 1999 during a gene therapy study?",
    "How does ex vivo gene therapy work?",
]
EMPTY_CONVERSATION = conversation_html([])


def _document_text(assistant: Assistant):
    def lookup(doc_id: str) -> str | None:
        document = assistant.index.documents.get(doc_id)
        return document.text if document else None
    return lookup


def ask_in_chat(assistant: Assistant, question: str, turns: list[dict], asked: list[str], max_sentences: int,
                mode: str, docs: list[str] | None) -> tuple[list[dict], list[str], str, str, Answer | None]:
    """Answer one chat turn (a follow-up is resolved as in the terminal chat) and render the whole
    conversation: (turns, questions searched, conversation HTML, this answer's Markdown, answer).
    ``turns`` are ``{"question", "answer" (the contract as a dict) or None, "error"}``."""
    turns = list(turns or [])
    asked = list(asked or [])
    try:
        answer = ask_in_conversation(
            lambda q: assistant.ask(q, max_sentences=int(max_sentences), mode=mode, doc_filter=docs or None),
            question, asked, assistant.index.sentence_df)
    except AssistantError as exc:
        turns.append({"question": question, "answer": None, "error": str(exc)})
        return turns, asked, render_conversation(assistant, turns), "", None
    turns.append({"question": question, "answer": answer.model_dump(mode="json"), "error": None})
    return turns, asked, render_conversation(assistant, turns), answer_markdown(answer), answer


def render_conversation(assistant: Assistant, turns: list[dict]) -> str:
    """The conversation HTML of the stored turns (each answer with its own sources)."""
    rows: list[Turn] = [(t["question"], Answer.model_validate(t["answer"]) if t.get("answer") else None,
                         t.get("error")) for t in turns]
    return conversation_html(rows, _document_text(assistant))


def gr_escape(text: str) -> str:
    """HTML-escape a message."""
    from html import escape

    return escape(text)


def question_sets(heldout_dir: Path, questions_dir: Path) -> tuple[str | None, list[str]]:
    """(the default set, every set): the default is the first held-out set, never a set the
    abstention model or the judge was fitted on (those in ``questions_dir``)."""
    held_out = sorted(str(p) for p in heldout_dir.glob("*.jsonl")) if heldout_dir.exists() else []
    fitted = sorted(str(p) for p in questions_dir.glob("*.jsonl")) if questions_dir.exists() else []
    return (held_out[0] if held_out else None), held_out + fitted


def question_set_note(held_out: str | None) -> str:
    """The note under the question-set choice, naming the default set."""
    if held_out is None:
        return ("No held-out question set was found, so none is chosen: the sets in `evals/questions/` were used "
                "to fit the abstention model and the judge, and their figures are in-sample.")
    return (f"Default: **`{held_out}`**, a held-out set (never used to fit or tune the abstention model, the "
            "judge or any threshold). The sets in `evals/questions/` were used for that calibration, so their "
            "figures are in-sample.")


def build_app(assistant: Assistant, questions_dir: Path = Path("evals/questions"),
              runs_dir: Path = Path("evals/runs"), heldout_dir: Path = Path("evals/heldout")) -> gr.Blocks:
    """The Blocks app (not launched)."""
    doc_ids = lambda: document_choices(assistant)  # noqa: E731  (title, id) pairs

    with gr.Blocks(title="Cited answers") as app:
        gr.Markdown("## Ask the documents\nEvery sentence of an answer is quoted from a document; click a number "
                    "to see where.")
        asked = gr.State([])
        turns = gr.State([])
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.HTML(EMPTY_CONVERSATION, css_template=CHAT_CSS, js_on_load=CHAT_JS,
                                   elem_id="conversation")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask a question about the documents", show_label=False,
                                              scale=5, elem_id="question", max_lines=3)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    markdown = gr.Textbox(label="Copy the last answer as Markdown", lines=4, buttons=["copy"],
                                          elem_id="answer-markdown", interactive=False)
                with gr.Column(scale=1, min_width=200):
                    max_sentences = gr.Slider(1, MAX_SENTENCES, value=assistant.settings.max_sentences, step=1,
                                              label="Sentences per answer", elem_id="max-sentences")
                    mode = gr.Radio([m.value for m in RETRIEVAL_MODES], value=str(assistant.settings.mode),
                                    label="Retrieval")
                    docs = gr.Dropdown(choices=doc_ids(), multiselect=True, label="Only these documents",
                                       elem_id="doc-filter")
                    clear = gr.Button("New conversation")

            def on_ask(q, turns_so_far, asked_so_far, n, m, selected):
                turns_now, asked_now, html, md, _ = ask_in_chat(assistant, q, turns_so_far, asked_so_far, n, m,
                                                                selected)
                return turns_now, asked_now, html, md, ""

            outputs = [turns, asked, chat, markdown, question]
            inputs = [question, turns, asked, max_sentences, mode, docs]
            send.click(on_ask, inputs, outputs, api_visibility="private")
            question.submit(on_ask, inputs, outputs, api_visibility="private")
            clear.click(lambda: ([], [], EMPTY_CONVERSATION, ""), None, [turns, asked, chat, markdown],
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
            held_out, sets = question_sets(heldout_dir, questions_dir)
            question_set = gr.Dropdown(choices=sets, value=held_out, label="Question set", elem_id="question-set")
            gr.Markdown(question_set_note(held_out), elem_id="question-set-note")
            with gr.Row():
                systems = gr.CheckboxGroup([s.value for s in System], value=[System.NAIVE.value, System.FULL.value],
                                           label="Systems")
                limit = gr.Number(value=0, precision=0, label="Limit (0 = all questions)")
            run = gr.Button("Run evaluation")
            summary = gr.HTML(css_template=EVAL_CSS, elem_id="eval-summary")
            report_path = gr.Markdown()
            # one plot per row, the full width of the page
            plot_metrics = gr.Image(label="Metrics", type="filepath", elem_id="plot-metrics")
            plot_confidence = gr.Image(label="Confidence", type="filepath", elem_id="plot-confidence")
            plot_latency = gr.Image(label="Latency", type="filepath", elem_id="plot-latency")

            def on_eval(path, chosen, n, progress=gr.Progress()):
                from assistant.eval.evaluation import (
                    eval_report,
                    load_questions,
                    run_evaluation,
                )
                from assistant.eval.reports import write_report

                if not path or not chosen:
                    return "", "Choose a question set and at least one system.", None, None, None
                try:
                    questions = load_questions(Path(path), limit=int(n) or None)
                except AssistantError as exc:
                    return "", f"❌ {exc}", None, None, None
                records = run_evaluation(assistant, questions, chosen,
                                         progress=lambda done, total: progress(done / total))
                now = dt.datetime.now(dt.timezone.utc)
                report = eval_report(assistant, path, records, now.isoformat(timespec="seconds"))
                out = runs_dir / f"ui-{now.strftime('%Y%m%dT%H%M%S')}"
                paths = write_report(report, out, assistant.abstain_threshold)
                pngs = {p.stem: str(p) for p in paths if p.suffix == ".png"}
                return (eval_summary_html(report.summary), f"Report: `{out}`", pngs.get("metrics"),
                        pngs.get("confidence"), pngs.get("latency"))

            run.click(on_eval, [question_set, systems, limit],
                      [summary, report_path, plot_metrics, plot_confidence, plot_latency],
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

