"""Retrieval and answering over the seed corpus: the citation contract, filters and input checks.

All but the last test use the fake embedder; they check contracts, not answer quality.
"""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS

from assistant.answer.retrieval import CANDIDATE_DEPTH, dense_search, lexical_search, retrieve
from assistant.answer.scoring import RRF_K
from assistant.errors import UserInputError
from assistant.models import Answer
from assistant.service import Assistant
from assistant.settings import Settings

QUESTIONS = [
    "What is gene therapy?",
    "Who died in 1999 during a gene therapy study?",
    "Which vectors have a packaging capacity of 4.7 kilobases?",
    "How much does Zolgensma cost?",
    "What journal published the lentiviral gene therapy studies?",
]
DOC_004 = "004_54acd962cbed51f9.txt"
MODES = ["dense", "bm25", "hybrid"]


def check_citations(answer: Answer, assistant: Assistant, max_sentences: int) -> None:
    index = assistant.index
    assert not answer.abstained and answer.reason is None
    assert 1 <= len(answer.citations) <= max_sentences
    assert 0.0 <= answer.confidence <= 1.0
    for number, citation in enumerate(answer.citations, 1):
        document = index.documents[citation.doc]
        assert citation.marker == number
        assert f"[{number}]" in answer.text
        assert document.text[citation.start:citation.end] == citation.quote
        assert citation.quote in citation.passage
        assert document.text[citation.passage_start:citation.passage_end] == citation.passage
        assert citation.passage_start <= citation.start < citation.end <= citation.passage_end
        assert citation.title == index.titles[citation.doc]
        assert citation.chunk_id.startswith(citation.doc + "#")
        sentence = next(s for s in index.sentences if s.doc_id == citation.doc and s.start == citation.start)
        assert sentence.answerable and sentence.end == citation.end
        # The answer text shows the quote (white space collapsed) before its marker.
        assert f"{' '.join(citation.quote.split())} [{number}]" in answer.text
    assert f"[{len(answer.citations) + 1}]" not in answer.text
    assert len({(c.doc, c.start) for c in answer.citations}) == len(answer.citations), "no sentence cited twice"


# --- retrieval ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_returns_ranked_chunks(shared_assistant: Assistant, mode: str) -> None:
    index = shared_assistant.index
    question = "Who died in 1999 during a gene therapy study?"
    vector = shared_assistant.embedder.encode([question])[0]
    results = retrieve(index, question, vector, 5, mode)
    assert 1 <= len(results) <= 5
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    assert len({r.chunk.chunk_id for r in results}) == len(results)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    if mode == "dense":
        assert all(r.dense_rank > 0 for r in results)
    if mode == "bm25":
        assert all(r.lexical_rank > 0 and r.lexical_score > 0 for r in results)
        assert "Gelsinger" in results[0].chunk.text  # the only chunk with "died" and "1999"
    if mode == "hybrid":  # fused by score: each list divided by its top score, then added
        dense = dense_search(index, vector, CANDIDATE_DEPTH, None)
        lexical = lexical_search(index, question, CANDIDATE_DEPTH, None)

        def share(found: list[tuple[int, float]], score: float, rank: int) -> float:
            floor = found[-1][1] if len(found) >= CANDIDATE_DEPTH else 0.0
            return (score if rank else floor) / found[0][1]

        for r in results:
            assert r.score == pytest.approx(share(dense, r.dense_score, r.dense_rank)
                                            + share(lexical, r.lexical_score, r.lexical_rank))
        rrf = retrieve(index, question, vector, 5, mode, fusion="rrf")
        for r in rrf:
            expected = sum(1.0 / (RRF_K + rank) for rank in (r.dense_rank, r.lexical_rank) if rank)
            assert r.score == pytest.approx(expected)


@pytest.mark.parametrize("mode", MODES)
def test_doc_filter_restricts_retrieval(shared_assistant: Assistant, mode: str) -> None:
    question = "Which gene therapy vectors are used for blood stem cells?"
    vector = shared_assistant.embedder.encode([question])[0]
    unfiltered = retrieve(shared_assistant.index, question, vector, 8, mode)
    assert any(r.chunk.doc_id != DOC_004 for r in unfiltered)
    results = retrieve(shared_assistant.index, question, vector, 8, mode, doc_filter=[DOC_004])
    assert results and all(r.chunk.doc_id == DOC_004 for r in results)


def test_bm25_without_known_terms_returns_nothing(shared_assistant: Assistant) -> None:
    assert retrieve(shared_assistant.index, "xyzzy plugh", None, 5, "bm25") == []


# --- answering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_satisfy_the_citation_contract(shared_assistant: Assistant, question: str, mode: str) -> None:
    answer = shared_assistant.ask(question, mode=mode, max_sentences=3, abstain=False)
    assert answer.question == question and answer.mode == mode
    check_citations(answer, shared_assistant, max_sentences=3)


@pytest.mark.parametrize("max_sentences", [1, 2, 4])
def test_max_sentences_is_respected(shared_assistant: Assistant, max_sentences: int) -> None:
    answer = shared_assistant.ask("What is gene therapy?", max_sentences=max_sentences, abstain=False)
    check_citations(answer, shared_assistant, max_sentences=max_sentences)


def test_doc_filter_restricts_citations(shared_assistant: Assistant) -> None:
    for question in QUESTIONS:
        answer = shared_assistant.ask(question, doc_filter=[DOC_004], max_sentences=3, abstain=False)
        check_citations(answer, shared_assistant, max_sentences=3)
        assert {c.doc for c in answer.citations} == {DOC_004}


def test_lexically_obvious_question_cites_the_right_sentence(shared_assistant: Assistant) -> None:
    answer = shared_assistant.ask("Who died in 1999 during a gene therapy study?", abstain=False)
    assert any("Jesse Gelsinger died" in c.quote and c.doc == DOC_004 for c in answer.citations)


def test_off_topic_question_abstains_with_a_reason(shared_assistant: Assistant) -> None:
    # No word of this question occurs in the corpus (real-model off-topic checks: test_quality.py).
    answer = shared_assistant.ask("Which footballer scored twice at Wembley yesterday?")
    assert answer.abstained
    assert answer.citations == []
    assert isinstance(answer.reason, str) and answer.reason.strip()
    assert "\n" not in answer.reason
    assert 0.0 <= answer.confidence < shared_assistant.abstain_threshold


def test_confidence_is_a_probability_for_every_question(shared_assistant: Assistant) -> None:
    for question in [*QUESTIONS, "What is the capital of France?", "xyzzy plugh"]:
        answer = shared_assistant.ask(question)
        assert 0.0 <= answer.confidence <= 1.0
        assert answer.abstained == (answer.citations == [])


def test_answer_round_trips_through_json(shared_assistant: Assistant) -> None:
    answer = shared_assistant.ask("What is gene therapy?", abstain=False)
    again = Answer.model_validate_json(answer.model_dump_json())
    assert again == answer


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 100_000, "?!? ..."])
def test_bad_questions_are_user_errors(shared_assistant: Assistant, question: str) -> None:
    with pytest.raises(UserInputError) as info:
        shared_assistant.ask(question)
    assert "\n" not in str(info.value)


def test_question_is_stripped(shared_assistant: Assistant) -> None:
    answer = shared_assistant.ask("  What is gene therapy?\x00  ", abstain=False)
    assert answer.question == "What is gene therapy?"


def test_unknown_document_in_filter_is_a_user_error(shared_assistant: Assistant) -> None:
    with pytest.raises(UserInputError, match="no-such-doc.txt"):
        shared_assistant.ask("What is gene therapy?", doc_filter=[DOC_004, "no-such-doc.txt"])


# --- the real model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_assistant(real_embedder, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    index = tmp_path_factory.mktemp("real") / "index"
    assistant = Assistant(Settings(corpus=CORPUS, index=index), embedder=real_embedder)
    assistant.build()
    return assistant


@pytest.mark.model
def test_real_model_answers_the_zolgensma_price(real_assistant: Assistant) -> None:
    answer = real_assistant.ask("How much does Zolgensma cost?")
    assert not answer.abstained, f"abstained: {answer.reason} (confidence {answer.confidence})"
    check_citations(answer, real_assistant, max_sentences=real_assistant.settings.max_sentences)
    assert any(c.doc == "002_8327220291109cc9.txt" and "2.1 million" in c.quote for c in answer.citations), \
        answer.text
    assert re.search(r"2\.1 million dollars", answer.text)


def test_an_answer_names_the_question_words_its_citations_never_say(shared_assistant: Assistant) -> None:
    answer = shared_assistant.ask("Who died in 1999 during a gene therapy study in Tanzania?", abstain=False)
    assert any("Jesse Gelsinger died" in c.quote for c in answer.citations)
    assert answer.unmatched == ["Tanzania"]  # no document names it; "gene therapy study" is said
    answer = shared_assistant.ask("Who died in 1999 during a gene therapy study?", abstain=False)
    assert answer.unmatched == []
