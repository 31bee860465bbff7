"""Pure formatting for the browser UI: answers with citation chips, source panels, Markdown export.

Every piece of document or user text goes through ``html.escape``: a document containing
``<script>`` or ``onerror=`` is shown as text and runs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from assistant.answer.answering import display_text
from assistant.models import Answer, CheckReport, Citation
from assistant.patterns import CITATION_MARKER

WHOLE_DOCUMENT_LIMIT = 200_000
WINDOW = 20_000

CARD_CSS = """
.answer-card { font-size: 1rem; line-height: 1.55; }
.answer-card .searched { color: #555; font-size: .85rem; margin-bottom: .4rem; }
.answer-card .chip { display: inline-block; border: 1px solid #3b82f6; color: #1d4ed8; background: #eff6ff;
  border-radius: 999px; padding: 0 .45rem; margin: 0 .15rem; font-size: .8rem; cursor: pointer; line-height: 1.4; }
.answer-card .chip.active { background: #1d4ed8; color: #fff; }
.answer-card .confidence { color: #555; font-size: .85rem; margin-top: .4rem; }
.answer-card .abstain { background: #fff7ed; border-left: 4px solid #f97316; padding: .5rem .75rem; }
.answer-card .source { border: 1px solid #ddd; border-radius: 8px; padding: .6rem .8rem; margin-top: .6rem; }
.answer-card .source[hidden] { display: none; }
.answer-card .source-title { font-weight: 600; }
.answer-card .source-doc { color: #555; font-size: .8rem; }
.answer-card .passage, .answer-card .doc-view { white-space: pre-wrap; font-size: .9rem; }
.answer-card .doc-view { max-height: 320px; overflow: auto; border-top: 1px solid #eee; padding-top: .4rem; }
.answer-card mark.cited { background: #fde68a; padding: 0 .1rem; }
.answer-card mark.cited b.answer-phrase { font-weight: 700; }
.answer-card table.why td { padding: 0 .6rem 0 0; font-size: .85rem; }
"""

# Chips show their source panel; opening the whole document scrolls to the cited sentence.
CARD_JS = """
element.addEventListener('click', function (event) {
  const chip = event.target.closest('.chip');
  if (!chip) { return; }
  const card = chip.closest('.answer-card');
  card.querySelectorAll('.chip').forEach(c => c.classList.toggle('active', c.dataset.marker === chip.dataset.marker));
  card.querySelectorAll('.source').forEach(s => { s.hidden = s.dataset.marker !== chip.dataset.marker; });
});
element.addEventListener('toggle', function (event) {
  const details = event.target;
  if (!details.classList || !details.classList.contains('whole-doc') || !details.open) { return; }
  const mark = details.querySelector('mark.cited');
  if (mark) { mark.scrollIntoView({block: 'center'}); }
}, true);
"""


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
        f"<div class=\"source-doc\">{escape(citation.doc)} · characters {citation.start}–{citation.end}</div>"
        f"<div class=\"passage\">{passage_html(citation)}</div>"
        f"<details class=\"why\"><summary>Why this sentence</summary>{why_html(citation)}</details>"
        f"{whole}</div>"
    )


def answer_text_html(answer: Answer) -> str:
    """The answer text escaped, with each ``[n]`` turned into a clickable chip."""
    titles = {c.marker: c.title for c in answer.citations}
    parts, last = [], 0
    for match in CITATION_MARKER.finditer(answer.text):
        parts.append(escape(answer.text[last:match.start()]))
        marker = int(match.group(1))
        parts.append(f" <button type=\"button\" class=\"chip\" data-marker=\"{marker}\" "
                     f"title=\"{escape(titles.get(marker, ''), quote=True)}\">{marker}</button>")
        last = match.end()
    parts.append(escape(answer.text[last:]))
    return "".join(parts)


def answer_card_html(answer: Answer, document_text: Callable[[str], str | None] = lambda doc: None) -> str:
    """The whole answer card: searched question, text with chips, confidence, source panels."""
    searched = ""
    if answer.searched_question and answer.searched_question != answer.question:
        searched = f"<div class=\"searched\">Searched for: {escape(answer.searched_question)}</div>"
    if answer.abstained:
        return (f"<div class=\"answer-card\" data-abstained=\"true\">{searched}<div class=\"abstain\">"
                f"<strong>The documents don't say.</strong> <span class=\"reason\">{escape(answer.reason or '')}"
                f"</span></div><div class=\"confidence\">confidence {answer.confidence:.2f}</div></div>")
    sources = "".join(source_html(c, document_text(c.doc)) for c in answer.citations)
    return (f"<div class=\"answer-card\" data-abstained=\"false\">{searched}"
            f"<p class=\"answer-text\">{answer_text_html(answer)}</p>"
            f"<div class=\"confidence\">confidence {answer.confidence:.2f} · click a number to see its source</div>"
            f"<div class=\"sources\">{sources}</div></div>")


def chat_text(answer: Answer) -> str:
    """The plain-text chat bubble for an answer."""
    prefix = ""
    if answer.searched_question and answer.searched_question != answer.question:
        prefix = f"(searched for: {answer.searched_question})\n"
    if answer.abstained:
        return f"{prefix}The documents don't say. {answer.reason or ''}"
    return f"{prefix}{answer.text}\n(confidence {answer.confidence:.2f})"


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown with its reference list, for copying."""
    if answer.abstained:
        return f"**{answer.question}**\n\nThe documents don't say ({answer.reason})."
    lines = [f"**{answer.question}**", "", answer.text, "", "References:"]
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
