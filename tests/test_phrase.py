"""The answer phrase: hand-computed spans, the citation offsets invariant on real answers, the UI's
bold phrase (escaped), the terminal line, and the phrase figures of an evaluation summary."""

from __future__ import annotations

import pytest

from assistant.answer.phrase import answer_phrase, phrase_fields, phrase_type
from assistant.eval.outcomes import score_answer, summarize
from assistant.eval.metrics import exact_match, token_f1
from assistant.models import Answer, Citation, EvalQuestion, EvalRecord
from assistant.serve.formatting import format_answer_text
from assistant.serve.ui_format import passage_html, source_html, whole_document_html
from assistant.service import Assistant

PRICE = "With a list price of 2.1 million dollars per dose, it was the most expensive drug ever approved at the time."


def phrase(question: str, sentence: str) -> str | None:
    span = answer_phrase(question, sentence)
    return None if span is None else sentence[span[0]:span[1]]


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    # money: the number, its scale and its currency word
    ("How much does Zolgensma cost?", PRICE, "2.1 million dollars"),
    ("What is the list price of Hemgenix?", "Hemgenix is listed at $3.5 million, the highest price yet.",
     "$3.5 million"),
    ("How much does a lifetime of factor replacement therapy cost?",
     "A lifetime of factor replacement can cost 20 to 30 million dollars.", "20 to 30 million dollars"),
    # dates: a year, a day and month with its year, a qualified year; the reference mark is no value
    ("In what year was Luxturna approved?", "Luxturna was approved by the FDA in 2017 [12].", "2017"),
    ("On what date were the studies published?", "The studies appeared on July 11, 2013 in Science.", "July 11, 2013"),
    ("When was Casgevy approved?", "Casgevy was approved in late 2023 [4].", "late 2023"),
    # counts: the question's own number is not the answer; dates are not counts; units stay attached
    ("How many of the 12 patients were cured?", "Of the 12 patients treated in 2013, 9 were cured.", "9"),
    ("What percentage of the patients responded?", "Overall, 64.7% of the patients responded [3].", "64.7%"),
    ("How long did the follow-up last?", "The follow-up lasted 18–32 months in both trials.", "18–32 months"),
    ("How old was Jesse Gelsinger when he died?", "In 1999, 18-year-old Jesse Gelsinger died in a trial.",
     "18-year-old"),
    ("How large a payload can an AAV9 vector hold?", "An AAV9 vector holds approximately 4.7 kilobases of DNA.",
     "4.7 kilobases"),
    # names: a capitalised run the question lacks, nearest to the words it shares with the question
    ("Which institute is Alberto Auricchio affiliated with?",
     "Alberto Auricchio, from the Telethon Institute of Genetics and Medicine (TIGEM) in Naples, agreed.",
     "Telethon Institute of Genetics and Medicine"),
    ("In which journal were the two studies published?", "Both studies were published in Science on July 11.",
     "Science"),
    ("In which journal were the two studies published?", "Both, published today (July 11) in Science, agree.",
     "Science"),  # a month is not a name
    ("Who is the President of the European Society for Gene and Cell Therapy?",
     "Juan Bueren, President of the European Society for Gene and Cell Therapy, wrote it.", "Juan Bueren"),
])
def test_answer_phrase_hand_computed(question: str, sentence: str, expected: str) -> None:
    assert phrase(question, sentence) == expected


def test_no_phrase_without_a_short_fact_question_or_a_candidate() -> None:
    assert phrase_type("Why do many adults already have antibodies against AAV?") is None
    assert answer_phrase("Why do many adults already have antibodies against AAV?", PRICE) is None
    assert answer_phrase("In what year was Luxturna approved?", "Luxturna restores some sight.") is None
    # a reference mark is never a count, and the question's own number is never the answer
    assert answer_phrase("How many trials were reported?", "Two earlier reports exist [12].") == (0, 3)
    assert answer_phrase("How many trials were reported?", "Earlier reports exist [12].") is None
    assert answer_phrase("How many of the 12 patients were cured?", "All 12 patients were followed [12].") is None


def test_phrase_fields_are_file_offsets() -> None:
    text = "Zolgensma treats SMA. " + PRICE
    start = text.index(PRICE)
    fields = phrase_fields("How much does Zolgensma cost?", PRICE, start)
    assert fields["answer_phrase"] == "2.1 million dollars"
    assert text[fields["answer_start"]:fields["answer_end"]] == fields["answer_phrase"]
    assert phrase_fields("Why is it expensive?", PRICE, start) == {}


QUESTIONS = ["How much does Zolgensma cost?", "In what year was Luxturna approved?", "When was Casgevy approved?",
             "How old was Jesse Gelsinger when he died in a gene therapy study?",
             "What is the list price of Hemgenix?", "Which institute is Alberto Auricchio affiliated with?",
             "Who is the President of the European Society for Gene and Cell Therapy (ESGCT)?",
             "How many main kinds of gene therapy do patient support organizations distinguish?"]


def test_citation_phrase_offsets_index_the_original_file(fake_assistant: Assistant) -> None:
    phrases = 0
    for question in QUESTIONS:
        answer = fake_assistant.ask(question, abstain=False)
        for c in answer.citations:
            text = (fake_assistant.settings.corpus / c.doc).read_text(encoding="utf-8")
            assert text[c.start:c.end] == c.quote
            if c.answer_phrase is None:
                assert c.answer_start is None and c.answer_end is None
                continue
            phrases += 1
            assert c.start <= c.answer_start < c.answer_end <= c.end
            assert text[c.answer_start:c.answer_end] == c.answer_phrase
            assert c.quote[c.answer_start - c.start:c.answer_end - c.start] == c.answer_phrase
    assert phrases > 0
    why = fake_assistant.ask("Why is gene therapy expensive?", abstain=False)
    assert all(c.answer_phrase is None for c in why.citations)


HOSTILE = "It cost <b>$5 & more</b> in 2019 at <Acme & Sons>."


def hostile_citation(question: str = "In what year was it sold?") -> Citation:
    text = "Intro. " + HOSTILE + " Outro."
    start = text.index(HOSTILE)
    return Citation(marker=1, doc="h.txt", title="H", start=start, end=start + len(HOSTILE), quote=HOSTILE,
                    passage=text, passage_start=0, passage_end=len(text), **phrase_fields(question, HOSTILE, start))


def test_ui_bolds_the_phrase_and_escapes_every_part() -> None:
    citation = hostile_citation()
    assert citation.answer_phrase == "2019"
    html = passage_html(citation)
    assert '<mark class="cited">It cost &lt;b&gt;$5 &amp; more&lt;/b&gt; in <b class="answer-phrase">2019</b> at ' \
           "&lt;Acme &amp; Sons&gt;.</mark>" in html
    assert html.startswith("Intro. ") and html.endswith(" Outro.")
    text = citation.passage
    whole = whole_document_html(text, citation.start, citation.end, (citation.answer_start - citation.start,
                                                                      citation.answer_end - citation.start))
    assert whole == html
    panel = source_html(citation, text)
    assert panel.count('<b class="answer-phrase">2019</b>') == 2  # the passage and the whole document
    assert "<Acme" not in panel and "<b>$5" not in panel


def test_ui_without_a_phrase_or_with_stale_offsets_bolds_nothing() -> None:
    plain = hostile_citation("Why was it sold?")
    assert plain.answer_phrase is None and "answer-phrase" not in passage_html(plain)
    stale = plain.model_copy(update={"answer_start": plain.start + 1, "answer_end": plain.start + 5,
                                     "answer_phrase": "2019"})
    assert "answer-phrase" not in passage_html(stale)


def test_terminal_line_names_the_phrase_and_the_quote_stays_verbatim() -> None:
    citation = hostile_citation()
    answer = Answer(question="q", text=f"{HOSTILE} [1]", abstained=False, confidence=0.8, citations=[citation])
    lines = format_answer_text(answer).splitlines()
    assert lines[0] == f"{HOSTILE} [1]"
    assert lines[-1].endswith(', answer "2019"')


def test_score_and_summary_phrase_figures() -> None:
    citation = Citation(marker=1, doc="a.txt", title="A", start=0, end=len(PRICE), quote=PRICE, passage=PRICE,
                        **phrase_fields("How much does Zolgensma cost?", PRICE, 0))
    answer = Answer(question="q", text=f"{PRICE} [1]", abstained=False, confidence=0.9, citations=[citation])
    question = EvalQuestion(id="p", question="How much does Zolgensma cost?", answers=["2.1 million dollars"])

    class Index:  # only what score_answer reads
        documents: dict = {}

    scored = score_answer(question, answer, Index(), [], [])
    assert (scored.phrase_em, scored.phrase_f1) == (1.0, 1.0)
    # SQuAD normalisation splits "2.1" into "2 1": 3 of 4 gold tokens
    assert exact_match("2.1 million", ["2.1 million dollars"]) == 0.0
    assert token_f1("2.1 million", ["2.1 million dollars"]) == pytest.approx(6 / 7)

    def rec(qid: str, answerable: bool = True, em: float = 0.0, f1: float = 0.0, with_phrase: bool = False,
            abstained: bool = False) -> EvalRecord:
        cite = citation if with_phrase else citation.model_copy(
            update={"answer_start": None, "answer_end": None, "answer_phrase": None})
        ans = Answer(question=qid, text="x", abstained=abstained, confidence=0.5, citations=[] if abstained else [cite])
        return EvalRecord(id=qid, system="full", question=qid, answerable=answerable, abstained=abstained,
                          phrase_em=em, phrase_f1=f1, answer=ans)

    summary = summarize([rec("a", em=1.0, f1=1.0, with_phrase=True), rec("b", f1=0.5, with_phrase=True),
                         rec("c"), rec("d", abstained=True), rec("e", answerable=False, with_phrase=True)])
    assert summary["phrase_exact_match"] == pytest.approx(1 / 4)  # over the 4 answerable questions
    assert summary["phrase_f1"] == pytest.approx(1.5 / 4)
    assert summary["phrase_coverage"] == pytest.approx(2 / 3)  # of the 3 answered answerable ones
