"""The browser chat's pure formatting (``serve/chat_format.py``): chips inline in the bubble, the
answer text once, every answer with its own sources, reference marks as text, "Sources disagree",
the eval tab's table and default question set."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from assistant.models import Answer, Citation, Conflict, ConflictSide
from assistant.serve.chat_format import (
    answer_pieces,
    answer_text_html,
    conflicts_html,
    conversation_html,
    source_list_html,
)
from assistant.serve.ui import question_set_note, question_sets
from assistant.serve.ui_format import eval_summary_html

TEXT = ("Gene Therapy Notes\n\nLuxturna was approved in 2017 [3]. It costs 850,000 dollars [4, 7] for both eyes.\n\n"
        "Zolgensma treats spinal muscular atrophy.")
APPROVED = "Luxturna was approved in 2017 [3]."
COST = "It costs 850,000 dollars [4, 7] for both eyes."
TREATS = "Zolgensma treats spinal muscular atrophy."


def cite(marker: int, quote: str, phrase: str | None = None, date: str | None = None, source: str | None = None,
         title: str = "Gene Therapy Notes") -> Citation:
    start = TEXT.index(quote)
    extra = {}
    if phrase:
        a = TEXT.index(phrase, start)
        extra = {"answer_start": a, "answer_end": a + len(phrase), "answer_phrase": phrase}
    return Citation(marker=marker, doc="notes.txt", title=title, start=start, end=start + len(quote), quote=quote,
                    passage=TEXT, passage_start=0, passage_end=len(TEXT), date=date, date_source=source, **extra)


def answer(*citations: Citation, question: str = "When was Luxturna approved?", **extra) -> Answer:
    text = " ".join(f"{c.quote} [{c.marker}]" for c in citations)
    return Answer(question=question, text=text, abstained=False, confidence=0.9, citations=list(citations), **extra)


def chips(html: str) -> list[tuple[str, str]]:
    return re.findall(r'class="chip" data-turn="(\d+)" data-marker="(\d+)"', html)


def visible_text(html: str) -> str:
    """Text without the hover previews (hidden until hovered)."""
    html = re.sub(r'<span class="preview".*?</span></button>', "</button>", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_a_sources_own_reference_marks_stay_text_and_only_our_markers_become_chips() -> None:
    a = answer(cite(1, APPROVED), cite(2, COST))
    assert [(t, c.marker if c else None) for t, c in answer_pieces(a)] == [(APPROVED, 1), (" " + COST, 2)]
    html = answer_text_html(a, 0)
    assert chips(html) == [("0", "1"), ("0", "2")]
    shown = visible_text(html)
    assert shown == f"{APPROVED} 1 {COST} 2"  # "[3]" and "[4, 7]" are the source's, shown as text
    # a quote holding a mark with our own number is still one chip, after the sentence
    b = answer(cite(3, APPROVED))
    assert chips(answer_text_html(b, 0)) == [("0", "3")] and "[3]." in visible_text(answer_text_html(b, 0))


def test_text_the_documents_dont_cover_is_plain() -> None:
    a = answer(cite(1, APPROVED))
    a = a.model_copy(update={"text": a.text + " The documents don't say: what it costs."})
    assert answer_pieces(a)[-1] == (" The documents don't say: what it costs.", None)


def test_chip_preview_and_sources_list_show_title_date_and_the_phrase_in_bold() -> None:
    c = cite(1, APPROVED, phrase="2017", date="2014-06-21", source="dateline")
    html = answer_text_html(answer(c), 4)
    assert 'data-turn="4"' in html and 'role="tooltip"' in html
    assert '<b class="answer-phrase">2017</b>' in html and "2014-06-21" in html
    listing = source_list_html(answer(c, cite(2, TREATS, date="2026-12-02", source="file")), 4)
    items = re.findall(r'<li><button type="button" class="source-item" data-turn="4" '
                       r'data-marker="(\d)">(.*?)</button>', listing)
    assert [m for m, _ in items] == ["1", "2"]
    assert '<span class="title">Gene Therapy Notes</span> <span class="date">2014-06-21</span>' in items[0][1]
    assert '<b class="answer-phrase">2017</b>' in items[0][1]
    assert '<span class="date">file date 2026-12-02</span>' in items[1][1]  # only the file's time: said so


def test_every_answer_keeps_its_own_chips_sources_and_panels() -> None:
    first = answer(cite(1, APPROVED), cite(2, COST))
    second = answer(cite(1, TREATS, title="Other"), question="What does Zolgensma treat?")
    html = conversation_html([(first.question, first, None), ("What?", None, "the question is empty"),
                              (second.question, second, None)], lambda doc: TEXT)
    assert 'data-turns="3"' in html
    assert chips(html) == [("0", "1"), ("0", "2"), ("2", "1")]
    assert re.findall(r'class="source-item" data-turn="(\d)" data-marker="(\d)"', html) == [
        ("0", "1"), ("0", "2"), ("2", "1")]
    panels = re.findall(r'<div class="turn-sources" data-turn="(\d)">', html)
    assert panels == ["0", "2"]
    # the answer text appears once per answer (the side panel holds passages, not the answer)
    assert visible_text(html).count(f"{APPROVED} 1 {COST} 2") == 1
    assert "the question is empty" in html


def test_sources_disagree_lists_both_sentences_newest_first_with_dates() -> None:
    conflict = Conflict(kind="negation", subject="Luxturna", detail="“approved” / “not approved”", sides=[
        ConflictSide(doc="b.txt", title="News <2019>", start=0, end=1, quote="Luxturna was approved.",
                     date="2019-06-05"),
        ConflictSide(doc="a.txt", title="Review", start=0, end=1, quote="Luxturna has not been approved.")])
    html = conflicts_html([conflict])
    text = visible_text(html)
    assert text.startswith("Sources disagree (“approved” / “not approved”), newest first:")
    assert text.index("News <2019> 2019-06-05") < text.index("Review undated")
    assert "<2019>" not in html  # escaped
    bubble = conversation_html([("q", answer(cite(1, APPROVED), conflicts=[conflict]), None)])
    assert bubble.count('class="conflict"') == 1 and conflicts_html([]) == ""


def test_eval_summary_table_has_one_header_cell_per_column() -> None:
    summary = {"full": {"answered": 10, "abstained": 2, "errored": 0, **{k: 0.5 for k in (
        "hit_rate exact_match f1 phrase_exact_match phrase_f1 gold_cited_at_1 gold_cited_any citation_validity "
        "recall_at_5 mrr abstention_recall false_abstention calibration_error").split()},
        "latency_p50_ms": 4.56, "latency_p95_ms": 9.0}}
    html = eval_summary_html(summary)
    headers = re.findall(r"<th>(.*?)</th>", html)
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert len(headers) == len(cells) == 17 and cells[:3] == ["full", "10 / 2 / 0", "50.0%"] and cells[-2] == "4.6"


def test_the_default_question_set_is_held_out(tmp_path: Path) -> None:
    (tmp_path / "heldout").mkdir()
    (tmp_path / "questions").mkdir()
    (tmp_path / "heldout" / "gene_therapy_heldout.jsonl").write_text("")
    (tmp_path / "questions" / "gene_therapy.jsonl").write_text("")
    default, sets = question_sets(tmp_path / "heldout", tmp_path / "questions")
    assert default == str(tmp_path / "heldout" / "gene_therapy_heldout.jsonl") and len(sets) == 2
    assert default in question_set_note(default) and "held-out" in question_set_note(default)
    assert question_sets(tmp_path / "none", tmp_path / "questions")[0] is None  # never the calibration set
    repo_default, _ = question_sets(Path("evals/heldout"), Path("evals/questions"))
    assert repo_default is not None and "calibration" not in repo_default and "evals/questions" not in repo_default


def test_an_answer_warns_of_question_words_its_citations_never_say() -> None:
    warned = conversation_html([("When was Luxturna approved in <Kenya>?",
                                 answer(cite(1, APPROVED), unmatched=["<Kenya>"]), None)])
    assert 'class="unmatched"' in warned
    assert "Not in the cited text: <Kenya>." in visible_text(warned)  # escaped in the HTML, shown as typed
    assert "&lt;Kenya&gt;" in warned
    assert 'class="unmatched"' not in conversation_html([("q", answer(cite(1, APPROVED)), None)])
