"""Two-part questions: splitting (pure), merging hand-built answers, and end to end on the corpus."""

from __future__ import annotations

import pytest

from assistant.answer.multipart import merge_answers, split_question
from assistant.models import Answer, Citation
from assistant.service import Assistant

SPLITS = [
    # (a) two questions in one; a pronoun in the second part gets the first part's name
    ("What is Zolgensma, and how much does it cost?", ["What is Zolgensma?", "How much does Zolgensma cost?"]),
    ("When was Luxturna approved and what does it treat?", ["When was Luxturna approved?", "What does Luxturna treat?"]),
    ("What is Zolgensma? How much does it cost?", ["What is Zolgensma?", "How much does Zolgensma cost?"]),
    ("What is the list price of Zolgensma and when was Luxturna approved?",
     ["What is the list price of Zolgensma?", "When was Luxturna approved?"]),
    ("When was Luxturna approved by the FDA and what is its target gene?",
     ["When was Luxturna approved by the FDA?", "What is Luxturna's target gene?"]),
    # (b) one question over two or three named subjects, with do -> does agreement
    ("What are the list prices of Zolgensma and Luxturna?",
     ["What are the list prices of Zolgensma?", "What are the list prices of Luxturna?"]),
    ("Which genes do Luxturna and Zolgensma deliver?",
     ["Which genes does Luxturna deliver?", "Which genes does Zolgensma deliver?"]),
    ("Which genes do both Luxturna and Zolgensma deliver?",
     ["Which genes does Luxturna deliver?", "Which genes does Zolgensma deliver?"]),
    ("Is AAV2 or AAV9 used for Luxturna?", ["Is AAV2 used for Luxturna?", "Is AAV9 used for Luxturna?"]),
    ("Which diseases do Zolgensma, Luxturna and Hemgenix treat?",
     ["Which diseases does Zolgensma treat?", "Which diseases does Luxturna treat?",
      "Which diseases does Hemgenix treat?"]),
    ("What did Zolgensma versus Luxturna cost at launch?",
     ["What did Zolgensma cost at launch?", "What did Luxturna cost at launch?"]),
]

NO_SPLITS = [
    "What are the safety and efficacy of lentiviral vectors?",  # "and" inside a noun phrase
    "Can gene therapy treat children and adults?",
    "How do gene therapy and cell therapy differ?",  # a comparison of unnamed things asks one thing
    "When was Luxturna approved?",
    "Zolgensma vs Luxturna?",  # parts of fewer than 3 words
    "Who died in 1999 and why?",
    "What is gene therapy and how does it work?",  # "it" has no name to carry over: left whole
    "What is the difference between what Zolgensma does and what Luxturna does?",
    "Which journal published the review by Bueren and Auricchio?",  # joint authors
    "Which diseases do Zolgensma, Luxturna, Hemgenix and Casgevy treat?",  # more than 3 parts
    "What Is The Price Of Zolgensma And Luxturna?",  # Title Case: capitals name nothing
    "Who wrote the novel Pride and Prejudice?",  # a title after a common noun
    "Which cells are targeted both by the hemophilia B therapy in the explainer and by the hemophilia A therapy?",
]


@pytest.mark.parametrize(("question", "parts"), SPLITS)
def test_split_question_splits(question: str, parts: list[str]) -> None:
    assert split_question(question) == parts


@pytest.mark.parametrize("question", NO_SPLITS)
def test_split_question_keeps_whole(question: str) -> None:
    assert split_question(question) == [question]


def _citation(marker: int, doc: str, start: int, quote: str) -> Citation:
    return Citation(marker=marker, doc=doc, title=doc, start=start, end=start + len(quote), quote=quote,
                    passage=quote, passage_start=start, passage_end=start + len(quote), chunk_id=f"{doc}#{start}")


def _answer(question: str, quotes: list[tuple[str, int, str]], confidence: float = 0.8,
            timings: dict[str, float] | None = None) -> Answer:
    citations = [_citation(i, doc, start, quote) for i, (doc, start, quote) in enumerate(quotes, 1)]
    return Answer(question=question, text=" ".join(f"{c.quote} [{c.marker}]" for c in citations),
                  abstained=False, confidence=confidence, citations=citations, mode="bm25",
                  timings_ms=timings or {"embed_ms": 1.0})


def _abstention(question: str, reason: str, confidence: float = 0.3) -> Answer:
    return Answer(question=question, text="The documents don't say.", abstained=True, reason=reason,
                  confidence=confidence, timings_ms={"embed_ms": 2.0, "fusion_ms": 0.5})


def test_merge_renumbers_markers_and_citations() -> None:
    parts = ["When was Luxturna approved?", "What does Zolgensma cost?"]
    first = _answer(parts[0], [("a.txt", 10, "Luxturna was approved in 2017."), ("b.txt", 5, "It treats eyes [4].")],
                    confidence=0.9, timings={"embed_ms": 1.0, "fusion_ms": 0.25})
    second = _answer(parts[1], [("c.txt", 40, "Zolgensma costs 2.1 million dollars.")], confidence=0.7)
    merged = merge_answers("Q?", parts, [first, second])
    assert not merged.abstained and merged.reason is None
    assert merged.text == ("Luxturna was approved in 2017. [1] It treats eyes [4]. [2] "
                           "Zolgensma costs 2.1 million dollars. [3]")
    assert [c.marker for c in merged.citations] == [1, 2, 3]
    assert [(c.doc, c.start, c.end, c.quote) for c in merged.citations] == \
        [(c.doc, c.start, c.end, c.quote) for c in first.citations + second.citations]
    assert merged.confidence == 0.7
    assert merged.timings_ms == {"embed_ms": 2.0, "fusion_ms": 0.25}
    assert merged.mode == "bm25" and merged.parts == parts and merged.question == "Q?"


def test_merge_keeps_each_answered_parts_unmatched_words_once() -> None:
    parts = ["When was Luxturna approved in Kenya?", "What does Zolgensma cost in Kenya and Peru?"]
    first = _answer(parts[0], [("a.txt", 10, "Luxturna was approved in 2017.")]).model_copy(
        update={"unmatched": ["Kenya"]})
    second = _answer(parts[1], [("c.txt", 40, "Zolgensma costs 2.1 million dollars.")]).model_copy(
        update={"unmatched": ["Kenya", "Peru"]})
    assert merge_answers("Q?", parts, [first, second]).unmatched == ["Kenya", "Peru"]
    abstained = _abstention(parts[1], "no passage about peru answers it").model_copy(update={"unmatched": ["Peru"]})
    assert merge_answers("Q?", parts, [first, abstained]).unmatched == ["Kenya"]


def test_merge_names_the_part_the_documents_do_not_cover() -> None:
    parts = ["What is the list price of Luxturna?", "When was Zolgensma approved?"]
    answers = [_abstention(parts[0], "no passage about luxturna answers it"),
               _answer(parts[1], [("a.txt", 0, "Zolgensma was approved in 2019.")], confidence=0.6)]
    merged = merge_answers("Q?", parts, answers)
    assert not merged.abstained
    assert merged.text == ("Zolgensma was approved in 2019. [1] "
                           "The documents don't say: what is the list price of Luxturna.")
    assert merged.citations[0].marker == 1
    assert "What is the list price of Luxturna?" in merged.reason
    assert "no passage about luxturna" in merged.reason
    assert merged.confidence == 0.6


def test_merge_abstains_only_when_every_part_does() -> None:
    parts = ["Who won the Tour de France in 1987?", "Which club did Pelé play for?"]
    merged = merge_answers("Q?", parts, [_abstention(parts[0], "reason one", 0.2),
                                         _abstention(parts[1], "reason two", 0.4)])
    assert merged.abstained and merged.citations == []
    assert "reason one" in merged.reason and "reason two" in merged.reason
    assert parts[0] in merged.reason and parts[1] in merged.reason
    assert merged.text.count("The documents don't say:") == 2
    assert merged.confidence == 0.4
    assert merged.timings_ms == {"embed_ms": 4.0, "fusion_ms": 1.0}


def test_merge_cites_a_shared_sentence_once() -> None:
    shared = ("a.txt", 100, "Luxturna and Zolgensma are AAV gene therapies.")
    parts = ["Which vector does Luxturna use?", "Which vector does Zolgensma use?"]
    answers = [_answer(parts[0], [shared, ("b.txt", 3, "Luxturna uses AAV2.")]),
               _answer(parts[1], [shared, ("c.txt", 9, "Zolgensma uses AAV9.")])]
    merged = merge_answers("Q?", parts, answers)
    assert merged.text == ("Luxturna and Zolgensma are AAV gene therapies. [1] Luxturna uses AAV2. [2] "
                           "Zolgensma uses AAV9. [3]")
    assert [(c.marker, c.doc) for c in merged.citations] == [(1, "a.txt"), (2, "b.txt"), (3, "c.txt")]


def _assert_valid(answer: Answer, assistant: Assistant) -> None:
    for citation in answer.citations:
        text = (assistant.settings.corpus / citation.doc).read_text(encoding="utf-8")
        assert citation.quote == text[citation.start:citation.end]
        assert f"[{citation.marker}]" in answer.text
    assert [c.marker for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_ask_answers_each_part_with_its_own_citation(fake_assistant: Assistant) -> None:
    answer = fake_assistant.ask("What is the list price of Zolgensma and when was Luxturna approved?")
    assert answer.parts == ["What is the list price of Zolgensma?", "When was Luxturna approved?"]
    assert not answer.abstained
    _assert_valid(answer, fake_assistant)
    quotes = " ".join(c.quote for c in answer.citations)
    assert "2.1 million dollars" in quotes and "approved in 2017" in quotes


def test_ask_says_which_part_the_documents_do_not_cover(fake_assistant: Assistant) -> None:
    question = "What is the list price of Zolgensma and which telephone did Alexander Graham Bell invent?"
    answer = fake_assistant.ask(question)
    assert answer.question == question and not answer.abstained
    _assert_valid(answer, fake_assistant)
    assert any("2.1 million dollars" in c.quote for c in answer.citations)
    assert answer.text.endswith("The documents don't say: which telephone did Alexander Graham Bell invent.")
    assert "Alexander Graham Bell" in answer.reason


def test_ask_single_question_is_unchanged(fake_assistant: Assistant) -> None:
    answer = fake_assistant.ask("When was Luxturna approved?")
    assert answer.parts == [] and not answer.abstained
    _assert_valid(answer, fake_assistant)


@pytest.mark.parametrize("question", [
    "What does the European Society for Gene and Cell Therapy recommend?",
    "Which trials did the Institute of Neurology and Psychiatry run?",
])
def test_a_long_name_with_and_inside_is_not_split(question: str) -> None:
    assert split_question(question) == [question]
