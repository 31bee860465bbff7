"""Terminal formatting of answers and check reports (pure functions)."""

from __future__ import annotations

from assistant.models import (
    Answer,
    CheckReport,
    Citation,
    ClaimCheck,
    Difference,
    EvidenceSentence,
)
from assistant.serve.formatting import format_answer_text, format_check_report


def test_answer_lists_each_citation_with_its_span():
    answer = Answer(question="q", text="It costs 2.1 million dollars. [1]", abstained=False, confidence=0.85,
                    citations=[Citation(marker=1, doc="a.txt", title="A", start=10, end=39,
                                        quote="It costs 2.1 million dollars.", passage="It costs 2.1 million dollars.")])
    assert format_answer_text(answer).splitlines() == [
        "It costs 2.1 million dollars. [1]", "", "confidence 0.85", "[1] a.txt (A), characters 10-39"]


def test_answer_warns_of_question_words_its_citations_never_say():
    answer = Answer(question="q", text="It costs 2.1 million dollars. [1]", abstained=False, confidence=0.85,
                    unmatched=["Tanzania", "AAV9"])
    assert format_answer_text(answer).splitlines()[3] == (
        "Not in the cited text: Tanzania, AAV9. The answer may be about something close to what was asked; "
        "check the citations.")
    assert "Not in the cited text" not in format_answer_text(answer.model_copy(update={"unmatched": []}))


def test_abstention_gives_the_reason_in_one_line():
    answer = Answer(question="q", text="The documents don't say.", abstained=True, confidence=0.12,
                    reason="the question does not match anything in the documents")
    text = format_answer_text(answer)
    assert text == ("The documents don't say: the question does not match anything in the documents. "
                    "(confidence 0.12)")


def test_check_report_shows_verdicts_differences_and_totals_without_colour():
    claim = ClaimCheck(index=1, text="It costs 3.5 million dollars.", start=0, end=30, markers=["1"],
                       cited_docs=["a.txt"], verdict="mismatch", similarity=0.7,
                       evidence=EvidenceSentence(doc="a.txt", title="A", start=5, end=40,
                                                 text="It costs 2.1 million dollars."),
                       differences=[Difference(kind="number", claimed="3.5 million", source="2.1 million")])
    report = CheckReport(claims=[claim], errors=["marker [7] points to nothing"], counts={"mismatch": 1}, ok=False)
    text = format_check_report(report)
    assert "  1. MISMATCH It costs 3.5 million dollars. [1]" in text
    assert 'number: source says "2.1 million", claim says "3.5 million"' in text
    assert "error: marker [7] points to nothing" in text
    assert text.endswith("1 claims: 1 mismatch -> NOT OK")
    assert "\033[" not in text and "\033[" in format_check_report(report, colour=True)
