"""Pure formatting for the browser UI: source panels, Markdown export, check reports (the chat's
conversation, chips and sources lists are in ``chat_format``).

Every piece of document or user text goes through ``html.escape``: a document containing
``<script>`` or ``onerror=`` is shown as text and runs nothing.
"""

from __future__ import annotations

from html import escape

from assistant.answer.answering import display_text
from assistant.models import Answer, CheckReport, Citation
from assistant.serve.formatting import date_label, unmatched_note

# every answer of a conversation keeps its sources in the page: a long document shows a window around the sentence
WHOLE_DOCUMENT_LIMIT = 30_000
WINDOW = 6_000

def _bold_phrase(quote: str, phrase: tuple[int, int] | None) -> str:
    """``quote`` escaped, with ``quote[phrase[0]:phrase[1]]`` (the answer phrase) in bold; the three
    parts are escaped separately, so the bold tags never split an entity."""
    if phrase is None or not 0 <= phrase[0] < phrase[1] <= len(quote):
        return escape(quote)
    a, b = phrase
    return f"{escape(quote[:a])}<b class=\"answer-phrase\">{escape(quote[a:b])}</b>{escape(quote[b:])}"


def phrase_span(citation: Citation) -> tuple[int, int] | None:
    """The answer phrase's offsets within the quote, or None when the citation has none (or its
    offsets do not point at its phrase inside the quote)."""
    if citation.answer_start is None or citation.answer_end is None or not citation.answer_phrase:
        return None
    a, b = citation.answer_start - citation.start, citation.answer_end - citation.start
    if 0 <= a < b <= len(citation.quote) and citation.quote[a:b] == citation.answer_phrase:
        return a, b
    return None


def _highlight(text: str, start: int, end: int, phrase: tuple[int, int] | None = None) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in a highlight and, inside it, the
    answer phrase (offsets relative to ``start``) in bold."""
    return (f"{escape(text[:start])}<mark class=\"cited\">{_bold_phrase(text[start:end], phrase)}</mark>"
            f"{escape(text[end:])}")


def passage_html(citation: Citation) -> str:
    """The chunk the sentence came from, with the cited sentence highlighted and its answer phrase in bold."""
    start = citation.start - citation.passage_start
    end = citation.end - citation.passage_start
    if 0 <= start <= end <= len(citation.passage) and citation.passage[start:end] == citation.quote:
        return _highlight(citation.passage, start, end, phrase_span(citation))
    return f"<mark class=\"cited\">{_bold_phrase(citation.quote, phrase_span(citation))}</mark>"


def whole_document_html(text: str, start: int, end: int, phrase: tuple[int, int] | None = None) -> str:
    """The document (or, when very long, the 40,000 characters around the sentence) with the
    cited sentence highlighted and its answer phrase (offsets within the sentence) in bold."""
    if len(text) <= WHOLE_DOCUMENT_LIMIT:
        return _highlight(text, start, end, phrase)
    lo, hi = max(0, start - WINDOW), min(len(text), end + WINDOW)
    note = f"<em>(characters {lo}–{hi} of {len(text)})</em>\n"
    return note + _highlight(text[lo:hi], start - lo, end - lo, phrase)


def why_html(citation: Citation) -> str:
    """The ranks and scores behind a cited sentence."""
    e = citation.evidence
    rows = [
        ("lexical (BM25) rank of its passage", e.lexical_rank or "—", f"{e.lexical_score:.2f}"),
        ("dense rank of its passage", e.dense_rank or "—", ""),
        ("dense similarity of the sentence", "", f"{e.dense_score:.3f}"),
        ("question terms covered", "", f"{e.coverage:.2f}"),
        ("fused rank of its passage", e.chunk_rank or "—", ""),
        ("sentence score", "", f"{e.score:.3f}"),
    ]
    body = "".join(f"<tr><td>{escape(str(a))}</td><td>{escape(str(b))}</td><td>{escape(str(c))}</td></tr>"
                   for a, b, c in rows)
    return f"<table class=\"why\">{body}</table>"


def source_html(citation: Citation, document_text: str | None) -> str:
    """One citation's source panel: title, passage with highlight, why, whole document."""
    whole = ""
    if document_text is not None and document_text[citation.start:citation.end] == citation.quote:
        whole = (f"<details class=\"whole-doc\"><summary>Open the whole document</summary>"
                 f"<div class=\"doc-view\">"
                 f"{whole_document_html(document_text, citation.start, citation.end, phrase_span(citation))}</div>"
                 f"</details>")
    return (
        f"<div class=\"source\" data-marker=\"{citation.marker}\" hidden>"
        f"<div class=\"source-title\">[{citation.marker}] {escape(citation.title)}</div>"
        f"<div class=\"source-doc\">{escape(citation.doc)}{escape(date_label(citation.date, citation.date_source))}"
        f" · characters {citation.start}–{citation.end}</div>"
        f"<div class=\"passage\">{passage_html(citation)}</div>"
        f"<details class=\"why\"><summary>Why this sentence</summary>{why_html(citation)}</details>"
        f"{whole}</div>"
    )


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown with its reference list, for copying."""
    if answer.abstained:
        return f"**{answer.question}**\n\nThe documents don't say ({answer.reason})."
    lines = [f"**{answer.question}**", "", answer.text, ""]
    if answer.unmatched:
        lines += [f"_{unmatched_note(answer.unmatched)}_", ""]
    lines.append("References:")
    for c in answer.citations:
        lines.append(f"[{c.marker}] {c.title} ({c.doc}, characters {c.start}–{c.end}): “{display_text(c.quote)}”")
    return "\n".join(lines)


VERDICT_STYLE = {"verbatim": "#dcfce7", "supported": "#d1fae5", "mismatch": "#fee2e2", "wrong-source": "#fef3c7",
                 "unsupported": "#fecaca", "uncited": "#ede9fe"}


def check_report_html(report: CheckReport) -> str:
    """Each claim coloured by verdict; opening a claim shows its evidence and the differences."""
    items = []
    for claim in report.claims:
        details = []
        for diff in claim.differences:
            details.append(f"<div class=\"diff\">{escape(diff.kind)}: source says <b>{escape(diff.source)}</b>, "
                           f"claim says <b>{escape(diff.claimed)}</b></div>")
        if claim.evidence is not None:
            e = claim.evidence
            details.append(f"<div class=\"evidence\"><div class=\"source-doc\">{escape(e.title)} · {escape(e.doc)} · "
                           f"characters {e.start}–{e.end} · similarity {claim.similarity:.2f}</div>"
                           f"<mark class=\"cited\">{escape(display_text(e.text))}</mark></div>")
        if claim.note:
            details.append(f"<div class=\"note\">{escape(claim.note)}</div>")
        marks = "".join(f"[{escape(m)}]" for m in claim.markers)
        items.append(f"<details class=\"claim\" data-verdict=\"{claim.verdict}\" "
                     f"style=\"background:{VERDICT_STYLE[claim.verdict]}\"><summary><span class=\"verdict\">"
                     f"{escape(claim.verdict)}</span> {escape(claim.text)} {marks}</summary>{''.join(details)}</details>")
    errors = "".join(f"<div class=\"check-error\">⚠ {escape(e)}</div>" for e in report.errors)
    totals = ", ".join(f"{n} {v}" for v, n in report.counts.items() if n) or "no claims"
    verdict = "all claims verified" if report.ok else "some claims are not supported as cited"
    return (f"<div class=\"check-report\"><div class=\"check-summary\">{len(report.claims)} claims: {escape(totals)} "
            f"— {verdict}</div>{errors}{''.join(items)}</div>")


CHECK_CSS = """
.check-report details.claim { border-radius: 6px; padding: .35rem .6rem; margin: .3rem 0; }
.check-report .verdict { font-weight: 700; text-transform: uppercase; font-size: .75rem; margin-right: .4rem; }
.check-report .evidence, .check-report .diff, .check-report .note { margin: .3rem 0 0 1rem; font-size: .9rem; }
.check-report .check-error { color: #b91c1c; }
.check-report mark.cited { background: #fde68a; }
"""


def eval_summary_html(summary: dict[str, dict[str, float]]) -> str:
    """The evaluation summary as a table that scrolls sideways rather than wrapping its headers:
    one row per system, counts beside the rates (the columns of ``eval.reports.TABLE_COLUMNS``)."""
    from assistant.eval.reports import TABLE_COLUMNS, _cell

    header = "".join(f"<th>{escape(label)}</th>" for label in ["system", "answered / abstained / errored"]
                     + [label for _, label in TABLE_COLUMNS])
    rows = []
    for system, figures in summary.items():
        counts = f"{int(figures['answered'])} / {int(figures['abstained'])} / {int(figures['errored'])}"
        cells = [system, counts] + [_cell(key, figures[key]) for key, _ in TABLE_COLUMNS]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return (f"<div class=\"eval-summary\"><table><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


EVAL_CSS = """
.eval-summary { overflow-x: auto; }
.eval-summary table { border-collapse: collapse; font-size: .9rem; }
.eval-summary th, .eval-summary td { white-space: nowrap; padding: .25rem .6rem; border-bottom: 1px solid #e5e7eb;
  text-align: right; }
.eval-summary th:first-child, .eval-summary td:first-child { text-align: left; font-weight: 600; }
"""
