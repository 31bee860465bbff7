"""Pure formatting of the browser chat: every turn's answer with inline citation chips, its own
sources list, "Sources disagree", and one side panel that shows the source you click.

The whole conversation is one HTML block (``conversation_html``) re-rendered from the turns, so
an earlier answer keeps its chips and sources. Every piece of document or user text goes through
``html.escape``; a source's own reference marks ("[3]") inside a quote stay plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from assistant.answer.answering import display_text
from assistant.models import Answer, Citation, Conflict
from assistant.patterns import CITATION_MARKER, citation_marker
from assistant.serve.formatting import date_label, unmatched_note
from assistant.serve.ui_format import phrase_span, source_html

EMPTY_HINT = "Ask a question to see a cited answer here."
UNDATED = " <span class=\"date\">undated</span>"
PANEL_HINT = "Click a number in an answer, or a source under it, to see the source here."


def answer_pieces(answer: Answer) -> list[tuple[str, Citation | None]]:
    """The answer text as (text, citation) pieces in reading order: each quoted sentence followed
    by the citation its own marker points to, and plain text (a part the documents don't cover)
    with None. Only our markers become citations: a source's own "[3]" inside a quote stays text."""
    pieces: list[tuple[str, Citation | None]] = []
    text, position = answer.text, 0
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        marker = citation_marker(citation.marker)
        sentence = f"{display_text(citation.quote)} {marker}"
        at = text.find(sentence, position)
        if at >= 0:
            pieces.append((text[position:at + len(sentence) - len(marker)].rstrip(), citation))
            position = at + len(sentence)
            continue
        # composed differently: the marker itself (as our marker pattern writes it) ends the piece
        for match in CITATION_MARKER.finditer(text, position):
            if match.group(1) == str(citation.marker):
                pieces.append((text[position:match.start()], citation))
                position = match.end()
                break
    if text[position:].strip():
        pieces.append((text[position:], None))
    return pieces


def bold_phrase_html(citation: Citation) -> str:
    """The quote (white space collapsed) escaped, with its answer phrase in bold."""
    quote, span = citation.quote, phrase_span(citation)
    if span is None:
        return escape(display_text(quote))
    a, b = span
    return (f"{escape(display_text(quote[:a]))} <b class=\"answer-phrase\">{escape(quote[a:b])}</b> "
            f"{escape(display_text(quote[b:]))}").replace("  ", " ").strip()


def _date_html(date: str | None, source: str | None) -> str:
    label = date_label(date, source).lstrip(", ")
    return f" <span class=\"date\">{escape(label)}</span>" if label else ""


def chip_html(citation: Citation, turn: int) -> str:
    """An inline citation chip; hovering or focusing it previews the cited sentence."""
    return (f"<button type=\"button\" class=\"chip\" data-turn=\"{turn}\" data-marker=\"{citation.marker}\" "
            f"aria-label=\"source {citation.marker}: {escape(citation.title, quote=True)}\">{citation.marker}"
            f"<span class=\"preview\" role=\"tooltip\"><span class=\"preview-title\">{escape(citation.title)}"
            f"{_date_html(citation.date, citation.date_source)}</span> {bold_phrase_html(citation)}</span></button>")


def answer_text_html(answer: Answer, turn: int) -> str:
    """The answer text, once, with a chip after each quoted sentence."""
    parts = []
    for text, citation in answer_pieces(answer):
        parts.append(escape(text))
        if citation is not None:
            parts.append(" " + chip_html(citation, turn))
    return "".join(parts).strip()


def source_list_html(answer: Answer, turn: int) -> str:
    """The sources under a bubble: title, date when known, the quoted sentence with the answer phrase in bold."""
    items = "".join(
        f"<li><button type=\"button\" class=\"source-item\" data-turn=\"{turn}\" data-marker=\"{c.marker}\">"
        f"<span class=\"num\">{c.marker}</span> <span class=\"title\">{escape(c.title)}</span>"
        f"{_date_html(c.date, c.date_source)} <span class=\"quote\">“{bold_phrase_html(c)}”</span></button></li>"
        for c in answer.citations)
    return f"<ol class=\"source-list\">{items}</ol>" if items else ""


def conflicts_html(conflicts: Sequence[Conflict]) -> str:
    """"Sources disagree" with both sentences and their dates, newest first."""
    blocks = []
    for conflict in conflicts:
        sides = "".join(
            f"<li><span class=\"title\">{escape(s.title)}</span>{_date_html(s.date, s.date_source) or UNDATED}: "
            f"“{escape(display_text(s.quote))}”</li>" for s in conflict.sides)
        blocks.append(f"<div class=\"conflict\" data-kind=\"{conflict.kind}\"><strong>Sources disagree</strong> "
                      f"<span class=\"detail\">({escape(conflict.detail)})</span>, newest first:<ul>{sides}</ul></div>")
    return "".join(blocks)


def unmatched_html(words: Sequence[str]) -> str:
    """The warning for words of the question the citations never say (empty when there are none)."""
    if not words:
        return ""
    return f"<div class=\"unmatched\">⚠ {escape(unmatched_note(list(words)))}</div>"


def bubble_html(answer: Answer | None, turn: int, error: str | None = None) -> str:
    """The assistant's bubble for one turn: an answer with chips, conflicts and sources, an
    abstention with its reason, or an error."""
    if answer is None:
        return f"<div class=\"bubble assistant error\" data-turn=\"{turn}\">⚠ {escape(error or 'no answer')}</div>"
    searched = ""
    if answer.searched_question and answer.searched_question != answer.question:
        searched = f"<div class=\"searched\">Searched for: {escape(answer.searched_question)}</div>"
    if answer.abstained:
        return (f"<div class=\"bubble assistant answer-card\" data-turn=\"{turn}\" data-abstained=\"true\">{searched}"
                f"<div class=\"abstain\"><strong>The documents don't say.</strong> <span class=\"reason\">"
                f"{escape(answer.reason or '')}</span></div>"
                f"<div class=\"confidence\">confidence {answer.confidence:.2f}</div></div>")
    return (f"<div class=\"bubble assistant answer-card\" data-turn=\"{turn}\" data-abstained=\"false\">{searched}"
            f"<p class=\"answer-text\">{answer_text_html(answer, turn)}</p>"
            f"{conflicts_html(answer.conflicts)}{unmatched_html(answer.unmatched)}"
            f"<div class=\"confidence\">confidence {answer.confidence:.2f}</div>"
            f"{source_list_html(answer, turn)}</div>")


def panel_sources_html(answer: Answer, turn: int, document_text: Callable[[str], str | None]) -> str:
    """One turn's source panels for the side panel, hidden until a chip or source is clicked."""
    header = f"<div class=\"panel-question\">Answer {turn + 1}: {escape(answer.question)}</div>"
    panels = "".join(source_html(c, document_text(c.doc)).replace("<div class=\"passage\">", header
                                                                    + "<div class=\"passage\">", 1)
                     for c in answer.citations)
    return f"<div class=\"turn-sources\" data-turn=\"{turn}\">{panels}</div>"


Turn = tuple[str, Answer | None, str | None]  # (question as typed, answer, error message)


def conversation_html(turns: Sequence[Turn], document_text: Callable[[str], str | None] = lambda doc: None) -> str:
    """The whole conversation: each question and its bubble, and the side panel with every
    answer's sources (one shown at a time by the page's script)."""
    if not turns:
        return (f"<div class=\"conversation\" data-turns=\"0\"><div class=\"turns\"><p class=\"hint\">{EMPTY_HINT}"
                f"</p></div><aside class=\"side-panel\"><p class=\"panel-hint\">{PANEL_HINT}</p></aside></div>")
    rows, panels = [], []
    for number, (question, answer, error) in enumerate(turns):
        rows.append(f"<div class=\"turn\" data-turn=\"{number}\"><div class=\"bubble user\">{escape(question)}</div>"
                    f"{bubble_html(answer, number, error)}</div>")
        if answer is not None and not answer.abstained:
            panels.append(panel_sources_html(answer, number, document_text))
    return (f"<div class=\"conversation\" data-turns=\"{len(turns)}\"><div class=\"turns\">{''.join(rows)}</div>"
            f"<aside class=\"side-panel\"><p class=\"panel-hint\">{PANEL_HINT}</p>{''.join(panels)}</aside></div>")


CHAT_CSS = """
.conversation { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; font-size: 1rem;
  line-height: 1.55; }
@media (max-width: 760px) { .conversation { grid-template-columns: minmax(0, 1fr); } }
.conversation .turns { max-height: 70vh; overflow-y: auto; padding-right: .3rem; }
.conversation .bubble { border-radius: 10px; padding: .55rem .8rem; margin: .45rem 0; }
.conversation .bubble.user { background: #eef2ff; margin-left: 15%; }
.conversation .bubble.assistant { background: #fafafa; border: 1px solid #e5e7eb; margin-right: 5%; }
.conversation .turn.selected .bubble.assistant { border-color: #3b82f6; }
.conversation .bubble.error { color: #b91c1c; }
.conversation .searched, .conversation .confidence { color: #555; font-size: .85rem; }
.conversation .chip { position: relative; display: inline-block; border: 1px solid #3b82f6; color: #1d4ed8;
  background: #eff6ff; border-radius: 999px; padding: 0 .45rem; margin: 0 .1rem; font-size: .8rem; cursor: pointer;
  line-height: 1.4; }
.conversation .chip.active, .conversation .source-item.active .num { background: #1d4ed8; color: #fff; }
.conversation .chip .preview { display: none; position: absolute; z-index: 20; right: 0; top: 1.6rem;
  width: min(22rem, 70vw); background: #111827; color: #f9fafb; border-radius: 6px; padding: .45rem .6rem;
  font-size: .85rem; text-align: left;
  line-height: 1.4; white-space: normal; }
.conversation .chip:hover .preview, .conversation .chip:focus-visible .preview { display: block; }
.conversation .preview-title { font-weight: 600; }
.conversation .abstain { background: #fff7ed; border-left: 4px solid #f97316; padding: .4rem .7rem; }
.conversation .conflict { background: #fef2f2; border-left: 4px solid #dc2626; padding: .4rem .7rem; margin: .4rem 0;
  font-size: .9rem; }
.conversation .conflict ul { margin: .2rem 0 0 1rem; padding: 0; }
.conversation .unmatched { background: #fffbeb; border-left: 4px solid #d97706; padding: .3rem .7rem; margin: .4rem 0;
  font-size: .9rem; }
.conversation .source-list { margin: .4rem 0 0; padding: 0; list-style: none; font-size: .88rem; }
.conversation .source-item { all: unset; display: block; cursor: pointer; padding: .2rem .3rem; border-radius: 6px; }
.conversation .source-item:hover { background: #f3f4f6; }
.conversation .source-item .num { display: inline-block; border: 1px solid #3b82f6; color: #1d4ed8;
  border-radius: 999px; padding: 0 .4rem; font-size: .75rem; }
.conversation .source-item .title, .conversation .conflict .title { font-weight: 600; }
.conversation .source-item .quote { color: #4b5563; font-size: .85rem; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow: hidden; }
.conversation .date { color: #555; font-size: .8rem; }
.conversation .side-panel { position: sticky; top: .5rem; align-self: start; max-height: 85vh; overflow-y: auto;
  border: 1px solid #e5e7eb; border-radius: 10px; padding: .6rem .8rem; }
.conversation .source[hidden], .conversation .panel-hint[hidden] { display: none; }
.conversation .panel-question { color: #555; font-size: .8rem; }
.conversation .source-title { font-weight: 600; }
.conversation .source-doc { color: #555; font-size: .8rem; }
.conversation .passage, .conversation .doc-view { white-space: pre-wrap; font-size: .9rem; }
.conversation .doc-view { max-height: 320px; overflow: auto; border-top: 1px solid #eee; padding-top: .4rem; }
.conversation mark.cited { background: #fde68a; padding: 0 .1rem; }
.conversation b.answer-phrase { font-weight: 700; }
.conversation table.why td { padding: 0 .6rem 0 0; font-size: .85rem; }
"""

# A chip or a listed source shows its own answer's source in the side panel; clicking a bubble shows
# that answer's first source. New turns scroll into view; a whole document scrolls to the sentence.
CHAT_JS = """
function show(turn, marker) {
  let shown = null;
  element.querySelectorAll('.chip, .source-item').forEach(c => c.classList.toggle('active',
    c.dataset.turn === turn && c.dataset.marker === marker));
  element.querySelectorAll('.turn').forEach(t => t.classList.toggle('selected', t.dataset.turn === turn));
  element.querySelectorAll('.side-panel .source').forEach(s => {
    const on = s.closest('.turn-sources').dataset.turn === turn && s.dataset.marker === marker;
    s.hidden = !on; if (on) { shown = s; }
  });
  const hint = element.querySelector('.side-panel .panel-hint');
  if (hint) { hint.hidden = shown !== null; }
  if (shown && window.matchMedia('(max-width: 760px)').matches) { shown.scrollIntoView({block: 'start'}); }
}
element.addEventListener('click', function (event) {
  const target = event.target.closest('.chip, .source-item');
  if (target) { show(target.dataset.turn, target.dataset.marker); return; }
  const bubble = event.target.closest('.bubble.assistant');
  const first = bubble && bubble.querySelector('.chip');
  if (first && !event.target.closest('a, summary, details')) { show(first.dataset.turn, first.dataset.marker); }
});
element.addEventListener('toggle', function (event) {
  const details = event.target;
  if (!details.classList || !details.classList.contains('whole-doc') || !details.open) { return; }
  const mark = details.querySelector('mark.cited');
  if (mark) { mark.scrollIntoView({block: 'center'}); }
}, true);
let lastTurns = -1;
new MutationObserver(function () {
  const conversation = element.querySelector('.conversation');
  const count = conversation ? Number(conversation.dataset.turns) : 0;
  if (count !== lastTurns) {
    lastTurns = count;
    const turns = element.querySelector('.turns');
    if (turns) { turns.scrollTop = turns.scrollHeight; }
  }
}).observe(element, {childList: true, subtree: true});
"""
