"""The browser UI's pure formatting (citation chips, source panels, escaping, Markdown export),
follow-up resolution, and the chat handler, with hand-built answers and the fake embedder."""

from __future__ import annotations

import re
from html import unescape

import pytest

from assistant.answer.conversation import is_follow_up, resolve_follow_up, subject_of
from assistant.models import Answer, Citation
from assistant.serve.chat_format import answer_text_html, conversation_html
from assistant.serve.ui import EMPTY_CONVERSATION, ask_in_chat
from assistant.serve.ui_corpus import documents_table
from assistant.serve.ui_format import (
    WHOLE_DOCUMENT_LIMIT,
    WINDOW,
    answer_markdown,
    passage_html,
    source_html,
    whole_document_html,
)
from assistant.service import Assistant

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
DOC_TEXT = (
    "Gene Therapy Notes\n\n"
    "Zolgensma treats spinal muscular atrophy in infants. "
    "With a list price of 2.1 million dollars per dose, it was the most expensive drug ever approved. "
    f"A pasted fragment {SCRIPT} and {IMG} must show as text.\n\n"
    "Luxturna treats an inherited retinal dystrophy."
)
MARK = re.compile(r'<mark class="cited">(.*?)</mark>', re.S)
CHIP = re.compile(r'<button type="button" class="chip" data-turn="0" data-marker="(\d+)"[^>]*>(\d+)<span')


def span(text: str, quote: str) -> tuple[int, int]:
    start = text.index(quote)
    return start, start + len(quote)


def citation(marker: int, quote: str, text: str = DOC_TEXT, doc: str = "notes.txt",
             title: str = "Gene Therapy Notes", passage: tuple[int, int] | None = None) -> Citation:
    """A citation of ``quote`` in ``text``; the passage is the paragraph holding it unless given."""
    start, end = span(text, quote)
    if passage is None:
        p_start = text.rfind("\n\n", 0, start)
        p_start = 0 if p_start < 0 else p_start + 2
        p_end = text.find("\n\n", end)
        passage = (p_start, len(text) if p_end < 0 else p_end)
    return Citation(marker=marker, doc=doc, title=title, start=start, end=end, quote=quote,
                    passage=text[passage[0]:passage[1]], passage_start=passage[0], passage_end=passage[1])


PRICE = "With a list price of 2.1 million dollars per dose, it was the most expensive drug ever approved."
TREATS = "Zolgensma treats spinal muscular atrophy in infants."
HOSTILE = f"A pasted fragment {SCRIPT} and {IMG} must show as text."


def answer(*citations: Citation, question: str = "How much does Zolgensma cost?", **extra) -> Answer:
    text = " ".join(f"{c.quote} [{c.marker}]" for c in citations)
    return Answer(question=question, text=text, abstained=False, confidence=0.8, citations=list(citations), **extra)


def abstention(reason: str = "the closest passage does not mention australia", **extra) -> Answer:
    return Answer(question="What is the capital of Australia?", text="The documents don't say.", abstained=True,
                  reason=reason, confidence=0.12, **extra)


def lookup(doc: str) -> str | None:
    return DOC_TEXT if doc == "notes.txt" else None


def answer_card_html(a: Answer, document_text=lambda doc: None) -> str:
    """A conversation of one turn: the answer's bubble and its side panel."""
    return conversation_html([(a.question, a, None)], document_text)


# --- chips and highlights ------------------------------------------------------------------------


def test_every_marker_becomes_a_chip_with_its_marker() -> None:
    a = answer(citation(1, TREATS), citation(2, PRICE))
    html = answer_text_html(a, 0)
    chips = CHIP.findall(html)
    assert chips == [("1", "1"), ("2", "2")]
    assert "[1]" not in html and "[2]" not in html
    card = answer_card_html(a, lookup)
    assert [m for m, _ in CHIP.findall(card)] == ["1", "2"]
    # one source panel per chip, hidden until its chip is clicked
    assert re.findall(r'<div class="source" data-marker="(\d+)" hidden>', card) == ["1", "2"]


def test_chip_carries_the_escaped_source_title() -> None:
    c = citation(1, TREATS, title='Notes "quoted" <b>bold</b>')
    html = answer_text_html(answer(c), 0)
    assert 'aria-label="source 1: Notes &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;"' in html
    assert "<b>bold" not in html


def test_highlight_in_passage_equals_the_quote() -> None:
    c = citation(1, PRICE)
    html = passage_html(c)
    assert [unescape(m) for m in MARK.findall(html)] == [PRICE]
    # the passage around the highlight is there too
    assert unescape(re.sub(r"</?mark[^>]*>", "", html)) == c.passage


def test_highlight_when_the_passage_does_not_hold_the_quote_shows_the_quote_alone() -> None:
    c = citation(1, PRICE).model_copy(update={"passage_start": 3})  # offsets no longer line up
    html = passage_html(c)
    assert html == f'<mark class="cited">{PRICE}</mark>'


def test_highlight_in_the_whole_document_equals_the_quote() -> None:
    c = citation(1, HOSTILE)
    html = whole_document_html(DOC_TEXT, c.start, c.end)
    assert [unescape(m) for m in MARK.findall(html)] == [HOSTILE]
    assert unescape(re.sub(r"</?mark[^>]*>", "", html)) == DOC_TEXT


def test_card_highlights_equal_the_quote_in_passage_and_whole_document() -> None:
    c = citation(1, PRICE)
    card = answer_card_html(answer(c), lookup)
    marks = [unescape(m) for m in MARK.findall(card)]
    assert marks == [PRICE, PRICE]  # passage, whole document
    assert "Open the whole document" in card
    assert "notes.txt · characters" in card and f"{c.start}–{c.end}" in card


def test_whole_document_is_left_out_when_the_text_does_not_match_the_offsets() -> None:
    c = citation(1, PRICE)
    assert "whole-doc" not in source_html(c, None)
    assert "whole-doc" not in source_html(c, "something else entirely" * 20)
    assert "whole-doc" in source_html(c, DOC_TEXT)


# --- escaping ------------------------------------------------------------------------------------


def test_document_markup_is_escaped_everywhere() -> None:
    hostile_title = f"Title {SCRIPT}"
    c = citation(1, HOSTILE, title=hostile_title, doc="x<img src=y>.txt")
    a = answer(c, question=f"What does {IMG} say?", searched_question=f"{SCRIPT} searched")
    card = answer_card_html(a, lambda doc: DOC_TEXT)
    for html in (card, source_html(c, DOC_TEXT), passage_html(c), answer_text_html(a, 0),
                 whole_document_html(DOC_TEXT, c.start, c.end)):
        assert "<script" not in html.lower()
        assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "&lt;img src=x onerror=alert(1)&gt;" in card
    assert "Searched for: &lt;script&gt;" in card


def test_abstention_reason_and_searched_question_are_escaped() -> None:
    card = answer_card_html(abstention(reason=f"nothing about {IMG}", searched_question=SCRIPT))
    assert "<img" not in card and "<script" not in card
    assert "nothing about &lt;img" in card


@pytest.mark.parametrize("text", [SCRIPT, IMG, "<svg onload=alert(1)>", "\"><iframe src=javascript:alert(1)>"])
def test_whole_document_escapes_any_markup(text: str) -> None:
    doc = f"Before. {text} After."
    start, end = span(doc, "After.")
    html = whole_document_html(doc, start, end)
    assert "<" not in re.sub(r"</?mark[^>]*>", "", html)


# --- abstention, chat text, Markdown -------------------------------------------------------------


def test_abstention_card_says_the_documents_dont_say_with_the_reason() -> None:
    card = answer_card_html(abstention())
    assert "The documents don't say" in card
    assert "the closest passage does not mention australia" in card
    assert 'data-abstained="true"' in card
    assert 'class="chip"' not in card and 'class="source"' not in card


def test_searched_for_line_only_when_the_question_was_rewritten() -> None:
    a = answer(citation(1, PRICE), question="How much does it cost?",
               searched_question="How much does Zolgensma cost?")
    assert "Searched for: How much does Zolgensma cost?" in answer_card_html(a)
    same = a.model_copy(update={"question": "How much does Zolgensma cost?"})
    assert "Searched for" not in answer_card_html(same)


def test_answer_markdown_has_references_with_doc_and_offsets() -> None:
    c1, c2 = citation(1, TREATS), citation(2, PRICE, doc="other.md", title="Other")
    md = answer_markdown(answer(c1, c2))
    lines = md.splitlines()
    assert lines[0] == "**How much does Zolgensma cost?**"
    assert f"{TREATS} [1] {PRICE} [2]" in lines
    refs = lines[lines.index("References:") + 1:]
    assert refs == [
        f"[1] Gene Therapy Notes (notes.txt, characters {c1.start}–{c1.end}): “{TREATS}”",
        f"[2] Other (other.md, characters {c2.start}–{c2.end}): “{PRICE}”",
    ]


def test_answer_markdown_carries_the_unmatched_words_warning() -> None:
    warned = answer(citation(1, PRICE)).model_copy(update={"unmatched": ["Tanzania"]})
    lines = answer_markdown(warned).splitlines()
    assert lines[lines.index("References:") - 2] == (
        "_Not in the cited text: Tanzania. The answer may be about something close to what was asked; "
        "check the citations._")
    assert "Not in the cited text" not in answer_markdown(answer(citation(1, PRICE)))


def test_answer_markdown_collapses_white_space_in_quotes() -> None:
    text = "Title\n\nA sentence that\nwraps   across lines."
    c = citation(1, "A sentence that\nwraps   across lines.", text=text)
    assert "“A sentence that wraps across lines.”" in answer_markdown(answer(c))


def test_answer_markdown_of_an_abstention() -> None:
    md = answer_markdown(abstention())
    assert md == ("**What is the capital of Australia?**\n\n"
                  "The documents don't say (the closest passage does not mention australia).")


# --- whole document windowing ------------------------------------------------------------------


def test_whole_document_windows_a_very_long_document() -> None:
    filler = "Lorem ipsum dolor sit amet. "
    head = "HEAD-MARKER " + filler * 6000
    quote = "The needle sentence is here."
    text = head + quote + " " + filler * 6000 + "TAIL-MARKER"
    assert len(text) > WHOLE_DOCUMENT_LIMIT
    start, end = span(text, quote)
    html = whole_document_html(text, start, end)
    assert [unescape(m) for m in MARK.findall(html)] == [quote]
    assert "HEAD-MARKER" not in html and "TAIL-MARKER" not in html
    lo, hi = start - WINDOW, end + WINDOW
    assert f"(characters {lo}–{hi} of {len(text)})" in html
    body = unescape(re.sub(r"<[^>]+>", "", html.split("\n", 1)[1]))
    assert body == text[lo:hi]
    assert len(html) < 2 * WINDOW + 1000


def test_whole_document_window_is_clipped_at_the_ends() -> None:
    text = "First sentence. " + "x" * (WHOLE_DOCUMENT_LIMIT + 10)
    html = whole_document_html(text, 0, 15)
    assert html.startswith(f"<em>(characters 0–{15 + WINDOW} of {len(text)})</em>\n<mark class=\"cited\">")
    short = "Short document. Another sentence."
    assert "<em>" not in whole_document_html(short, 0, 15)


# --- follow-ups -----------------------------------------------------------------------------------


def test_follow_up_gets_the_previous_subject() -> None:
    assert resolve_follow_up("How much does it cost?", ["What does Zolgensma treat?"]) == \
        "How much does Zolgensma cost?"
    assert resolve_follow_up("When was it approved?", ["How much does Zolgensma cost?"]) == \
        "When was Zolgensma approved?"
    assert resolve_follow_up("What is its price?", ["What does Zolgensma treat?"]) == "What is Zolgensma's price?"
    # the latest question counts
    assert resolve_follow_up("How much does it cost?", ["What does Zolgensma treat?", "What is Luxturna?"]) == \
        "How much does Luxturna cost?"


@pytest.mark.parametrize("question", [
    "How much does Luxturna cost?",  # names its own subject
    "What is the packaging capacity of AAV vectors?",  # no pronoun
    "Is there anything in these documents about the history of how it was developed over the years?",  # too long
])
def test_non_follow_ups_are_unchanged(question: str) -> None:
    assert resolve_follow_up(question, ["What does Zolgensma treat?"]) == question


def test_follow_up_without_a_previous_question_is_unchanged() -> None:
    assert resolve_follow_up("How much does it cost?", []) == "How much does it cost?"
    assert is_follow_up("How much does it cost?")
    assert not is_follow_up("How much does Zolgensma cost?")


def test_subject_without_names_uses_rare_known_words() -> None:
    assert subject_of("What does Zolgensma treat?") == "Zolgensma"
    df = {"vector": 3, "packag": 1, "capac": 2}
    assert subject_of("what is the packaging capacity of vectors", df) == "packaging capacity vectors"


# --- the chat handler (fake embedder) -----------------------------------------------------------


def test_ask_in_chat_resolves_follow_ups_and_renders_every_output(fake_assistant: Assistant) -> None:
    history, asked, card, md, first = ask_in_chat(fake_assistant, "How much does Zolgensma cost?", [], [], 2,
                                                  "hybrid", None)
    assert first is not None and asked == ["How much does Zolgensma cost?"]
    assert [t["question"] for t in history] == ["How much does Zolgensma cost?"]
    history, asked, card, md, second = ask_in_chat(fake_assistant, "When was it approved?", history, asked, 2,
                                                   "hybrid", None)
    assert second is not None
    assert second.question == "When was it approved?"
    assert second.searched_question == "When was Zolgensma approved?"
    assert asked == ["How much does Zolgensma cost?", "When was Zolgensma approved?"]
    assert "Searched for: When was Zolgensma approved?" in card
    assert len(history) == 2 and history[-1]["answer"]["searched_question"] == "When was Zolgensma approved?"
    assert 'data-turns="2"' in card  # the first answer is still there
    assert md.startswith("**When was it approved?**")


def test_ask_in_chat_shows_errors_in_the_card(fake_assistant: Assistant) -> None:
    history, asked, card, md, result = ask_in_chat(fake_assistant, "   ", [], ["earlier"], 2, "hybrid", None)
    assert result is None and md == "" and asked == ["earlier"]
    assert "the question is empty" in card and 'class="bubble assistant error"' in card
    _, _, card, _, _ = ask_in_chat(fake_assistant, "What?", [], [], 2, "hybrid", ["<img src=x>.txt"])
    assert "unknown document in filter" in card and "<img" not in card


def test_documents_table_lists_the_index(fake_assistant: Assistant) -> None:
    rows = documents_table(fake_assistant)
    assert sorted(r[1] for r in rows) == sorted(fake_assistant.index.manifest.documents)
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), key=str.casefold)  # by title
    assert all(isinstance(r[3], int) and r[4] > 0 for r in rows)
    assert EMPTY_CONVERSATION.startswith('<div class="conversation" data-turns="0">')
