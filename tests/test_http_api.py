"""The plain JSON API (``http_api``) in-process through Starlette's TestClient (fake embedder):
the answer and check contracts, input validation, body limits and the busy gate."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from assistant.errors import AssistantError
from assistant.models import Answer, CheckReport
from assistant.serve.http_api import MAX_BODY_BYTES, ask_arguments_problem, plain_routes
from assistant.service import Assistant

QUESTION = "What is gene therapy?"
DOC_002 = "002_8327220291109cc9.txt"
DOC_004 = "004_54acd962cbed51f9.txt"
WAIT_S = 30  # the most a test waits for another thread; never reached when the code works


def make_client(assistant: Assistant, concurrency: int = 1, waiting: int = 0) -> TestClient:
    app = Starlette(routes=plain_routes(assistant, concurrency=concurrency, waiting=waiting))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(shared_assistant: Assistant) -> Iterator[TestClient]:
    with make_client(shared_assistant) as test_client:
        yield test_client


def error_of(response, status: int) -> str:
    """The one-line error message of a response that must have ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def check_answer_contract(body: dict, assistant: Assistant, max_sentences: int) -> Answer:
    answer = Answer.model_validate(body)
    assert not answer.abstained
    assert 1 <= len(answer.citations) <= max_sentences
    for number, citation in enumerate(answer.citations, 1):
        text = assistant.index.documents[citation.doc].text
        assert citation.marker == number
        assert text[citation.start:citation.end] == citation.quote
        assert text[citation.passage_start:citation.passage_end] == citation.passage
        assert f"[{number}]" in answer.text
    return answer


# --- ask_arguments_problem ---------------------------------------------------------------------


@pytest.mark.parametrize("max_sentences", [1, 2, 2.0, "2", "2.0", " 3 ", 10, 10.0])
def test_good_max_sentences(max_sentences) -> None:
    assert ask_arguments_problem(max_sentences, "hybrid", None) is None


@pytest.mark.parametrize("max_sentences", [0, 11, 2.5, "2.5", True, False, "x", "", None, [2], {"n": 2},
                                           -1, float("nan"), float("inf"), 10 ** 30])
def test_bad_max_sentences(max_sentences) -> None:
    assert ask_arguments_problem(max_sentences, "hybrid", None) == "max_sentences must be a whole number from 1 to 10"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_good_modes(mode: str) -> None:
    assert ask_arguments_problem(2, mode, None) is None


@pytest.mark.parametrize("mode", ["HYBRID", "", "sparse", None, 1, ["hybrid"], "x" * 500])
def test_bad_modes(mode) -> None:
    problem = ask_arguments_problem(2, mode, None)
    assert problem is not None and problem.startswith("unknown mode") and "use hybrid, dense or bm25" in problem
    assert len(problem) < 120  # a long value is cut short


@pytest.mark.parametrize("documents", [None, [], ["a.txt"], ["a.txt", "b.txt"]])
def test_good_documents(documents) -> None:
    assert ask_arguments_problem(2, "dense", documents) is None


@pytest.mark.parametrize("documents", ["a.txt", [1], ["a.txt", None], {"a.txt": 1}, ("a.txt",), 0])
def test_bad_documents(documents) -> None:
    assert ask_arguments_problem(2, "dense", documents) == "documents must be a list of document ids or null"


def test_mode_is_checked_before_max_sentences() -> None:
    assert ask_arguments_problem(0, "nope", "x").startswith("unknown mode")
    assert ask_arguments_problem(0, "bm25", "x").startswith("max_sentences")


# --- /api/ask ----------------------------------------------------------------------------------


def test_ask_returns_the_answer_contract(client: TestClient, shared_assistant: Assistant) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "max_sentences": 3, "mode": "hybrid",
                                              "documents": None})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    answer = check_answer_contract(response.json(), shared_assistant, max_sentences=3)
    assert answer.question == QUESTION and answer.mode == "hybrid"


def test_ask_gives_the_same_answer_as_the_library(client: TestClient, shared_assistant: Assistant) -> None:
    body = client.post("/api/ask", json={"question": QUESTION, "mode": "bm25", "max_sentences": 1}).json()
    expected = shared_assistant.ask(QUESTION, mode="bm25", max_sentences=1)
    got = Answer.model_validate(body)
    assert [(c.doc, c.start, c.end) for c in got.citations] == [(c.doc, c.start, c.end) for c in expected.citations]
    assert got.text == expected.text


def test_ask_defaults_come_from_the_settings(shared_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_ask = shared_assistant.ask

    def recording_ask(question, **kwargs):
        calls.append((question, kwargs))
        return real_ask(question, **kwargs)

    monkeypatch.setattr(shared_assistant, "ask", recording_ask)
    with make_client(shared_assistant) as test_client:
        response = test_client.post("/api/ask", json={"question": QUESTION})
        assert response.status_code == 200, response.text
        check_answer_contract(response.json(), shared_assistant, shared_assistant.settings.max_sentences)
        assert response.json()["mode"] == shared_assistant.settings.mode
        # "2" and 2.0 arrive as the int 2; an empty document list means no filter.
        for value in ["2", 2.0]:
            assert test_client.post("/api/ask", json={"question": QUESTION, "max_sentences": value,
                                                      "documents": []}).status_code == 200
    settings = shared_assistant.settings
    assert calls[0] == (QUESTION, {"max_sentences": settings.max_sentences, "mode": settings.mode,
                                   "doc_filter": None})
    for _, kwargs in calls[1:]:
        assert kwargs["max_sentences"] == 2 and type(kwargs["max_sentences"]) is int
        assert kwargs["doc_filter"] is None


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_ask_each_mode(client: TestClient, shared_assistant: Assistant, mode: str) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "mode": mode, "max_sentences": 2})
    assert response.status_code == 200, response.text
    assert check_answer_contract(response.json(), shared_assistant, 2).mode == mode


def test_ask_with_a_document_filter(client: TestClient, shared_assistant: Assistant) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "documents": [DOC_002]})
    assert response.status_code == 200, response.text
    answer = check_answer_contract(response.json(), shared_assistant, shared_assistant.settings.max_sentences)
    assert {c.doc for c in answer.citations} == {DOC_002}


def test_ask_with_an_unknown_document_is_a_400(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "documents": [DOC_004, "no-such-doc.txt"]})
    assert "no-such-doc.txt" in error_of(response, 400)


@pytest.mark.parametrize("body, message", [
    ({"question": QUESTION, "mode": "sparse"}, "unknown mode"),
    ({"question": QUESTION, "mode": None}, "unknown mode"),
    ({"question": QUESTION, "max_sentences": 0}, "max_sentences"),
    ({"question": QUESTION, "max_sentences": 11}, "max_sentences"),
    ({"question": QUESTION, "max_sentences": 2.5}, "max_sentences"),
    ({"question": QUESTION, "max_sentences": True}, "max_sentences"),
    ({"question": QUESTION, "max_sentences": "x"}, "max_sentences"),
    ({"question": QUESTION, "max_sentences": None}, "max_sentences"),
    ({"question": QUESTION, "documents": DOC_002}, "documents"),
    ({"question": QUESTION, "documents": [1]}, "documents"),
    ({"question": QUESTION, "documents": {"a": 1}}, "documents"),
    ({"question": 42}, "question must be a string"),
    ({"question": None}, "question must be a string"),
    ({"question": [QUESTION]}, "question must be a string"),
    ({}, "question must be a string"),
    ({"question": QUESTION, "k": 5}, "unknown field 'k'"),
    ({"question": QUESTION, "Question": QUESTION}, "unknown field 'Question'"),
])
def test_ask_bad_arguments_are_400(client: TestClient, body: dict, message: str) -> None:
    assert message in error_of(client.post("/api/ask", json=body), 400)


@pytest.mark.parametrize("raw", ['{"question": "What is gene therapy?", "max_sentences": NaN}',
                                 '{"question": "What is gene therapy?", "max_sentences": Infinity}',
                                 '{"question": "What is gene therapy?", "max_sentences": 1e400}'])
def test_ask_non_finite_numbers_are_400(client: TestClient, raw: str) -> None:
    response = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert "max_sentences" in error_of(response, 400)


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 3000, "?!? ..."])
def test_ask_unusable_questions_are_400(client: TestClient, question: str) -> None:
    error_of(client.post("/api/ask", json={"question": question}), 400)


def test_ask_too_long_question_says_the_limit(client: TestClient, shared_assistant: Assistant) -> None:
    limit = shared_assistant.settings.max_question_chars
    message = error_of(client.post("/api/ask", json={"question": "gene " * limit}), 400)
    assert str(limit) in message


@pytest.mark.parametrize("raw", [b"", b"not json", b"{", b"{'question': 'x'}", b"\xff\xfe\x00",
                                 "{\"question\": \"caf\u00e9\"}".encode("latin-1")])
def test_ask_non_json_body_is_400(client: TestClient, raw: bytes) -> None:
    assert error_of(client.post("/api/ask", content=raw), 400) == "the request body is not JSON"


@pytest.mark.parametrize("value", [[{"question": QUESTION}], "What is gene therapy?", 42, None, True])
def test_ask_body_must_be_an_object(client: TestClient, value) -> None:
    response = client.post("/api/ask", content=json.dumps(value))
    assert error_of(response, 400) == "the request body must be a JSON object"


def test_ask_body_over_the_limit_is_413(client: TestClient) -> None:
    padding = "x" * MAX_BODY_BYTES
    response = client.post("/api/ask", content=json.dumps({"question": QUESTION, "pad": padding}))
    assert str(MAX_BODY_BYTES) in error_of(response, 413)


def test_ask_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    """Without a Content-Length (chunked), the body is counted as it arrives."""
    def chunks():
        yield b'{"question": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/api/ask", content=chunks())
    assert str(MAX_BODY_BYTES) in error_of(response, 413)


def test_body_at_the_limit_is_read(client: TestClient) -> None:
    """A body of exactly MAX_BODY_BYTES is accepted as far as size goes (then fails on its field)."""
    prefix = '{"question": "What is gene therapy?", "pad": "'
    raw = prefix + "x" * (MAX_BODY_BYTES - len(prefix) - 2) + '"}'
    assert len(raw.encode()) == MAX_BODY_BYTES
    assert "unknown field 'pad'" in error_of(client.post("/api/ask", content=raw), 400)


@pytest.mark.parametrize("path", ["/api/ask", "/api/check"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(client: TestClient, path: str, method: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert "POST" in response.headers.get("allow", "")


def test_library_errors_are_500_with_one_line(shared_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_ask(question, **kwargs):
        raise AssistantError("the index went away")

    monkeypatch.setattr(shared_assistant, "ask", failing_ask)
    with make_client(shared_assistant) as test_client:
        response = test_client.post("/api/ask", json={"question": QUESTION})
    assert error_of(response, 500) == "the index went away"


# --- /api/check --------------------------------------------------------------------------------


def test_check_returns_a_report(client: TestClient, shared_assistant: Assistant) -> None:
    sentence = shared_assistant.index.sentences[5]
    text = f"{sentence.text} [1]\n\n[1] {sentence.doc_id}\n"
    response = client.post("/api/check", json={"text": text})
    assert response.status_code == 200, response.text
    report = CheckReport.model_validate(response.json())
    assert report.claims
    assert report.claims[0].cited_docs == [sentence.doc_id]
    assert report.claims[0].verdict in ("verbatim", "supported")
    assert report == shared_assistant.check(text)


def test_check_text_without_markers_still_reports(client: TestClient) -> None:
    response = client.post("/api/check", json={"text": "Gene therapy replaces a faulty gene with a working copy."})
    assert response.status_code == 200, response.text
    report = CheckReport.model_validate(response.json())
    assert any("no citation markers" in e for e in report.errors)


@pytest.mark.parametrize("body", [{}, {"text": 5}, {"text": None}, {"text": ["a"]}, {"claim": "x"},
                                  {"text": "Gene therapy works [1].", "extra": 1}])
def test_check_bad_bodies_are_400(client: TestClient, body: dict) -> None:
    assert error_of(client.post("/api/check", json=body), 400) == 'the body must be {"text": "<the text to check>"}'


@pytest.mark.parametrize("text", ["", "   \n "])
def test_check_empty_text_is_400(client: TestClient, text: str) -> None:
    assert "empty" in error_of(client.post("/api/check", json={"text": text}), 400)


@pytest.mark.parametrize("raw, message", [(b"nope", "not JSON"), (b'["text"]', "JSON object")])
def test_check_non_object_bodies_are_400(client: TestClient, raw: bytes, message: str) -> None:
    assert message in error_of(client.post("/api/check", content=raw), 400)


def test_check_body_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post("/api/check", content=json.dumps({"text": "x" * (MAX_BODY_BYTES + 1)}))
    error_of(response, 413)


# --- the busy gate -----------------------------------------------------------------------------


def test_busy_server_answers_503_at_once(fake_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    real_ask = fake_assistant.ask

    def blocking_ask(question, **kwargs):
        entered.set()
        assert release.wait(WAIT_S), "the test never released the blocked call"
        return real_ask(question, **kwargs)

    monkeypatch.setattr(fake_assistant, "ask", blocking_ask)
    responses = {}
    with make_client(fake_assistant, concurrency=1, waiting=0) as test_client:
        def first_request() -> None:
            responses["first"] = test_client.post("/api/ask", json={"question": QUESTION})

        worker = threading.Thread(target=first_request, daemon=True)
        worker.start()
        try:
            assert entered.wait(WAIT_S), "the first request never reached ask"
            # One call is running and none may wait: the next ones are refused, not queued.
            busy = test_client.post("/api/ask", json={"question": QUESTION})
            assert "busy" in error_of(busy, 503)
            busy_check = test_client.post("/api/check", json={"text": "Gene therapy works."})
            assert "busy" in error_of(busy_check, 503)
            # Bad input is still answered at once, before the gate.
            error_of(test_client.post("/api/ask", json={"question": QUESTION, "mode": "x"}), 400)
        finally:
            release.set()
            worker.join(WAIT_S)
        assert not worker.is_alive()
        assert responses["first"].status_code == 200, responses["first"].text
        check_answer_contract(responses["first"].json(), fake_assistant, fake_assistant.settings.max_sentences)
        # The gate is free again once the first call has finished.
        again = test_client.post("/api/ask", json={"question": QUESTION})
        assert again.status_code == 200, again.text


def test_gate_lets_one_wait_when_waiting_is_one(fake_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """concurrency=1, waiting=1: a second call waits for the first, a third is refused."""
    from assistant.serve import http_api

    entered, release, second_arrived = threading.Event(), threading.Event(), threading.Event()
    asked, validated = [], []
    real_ask, real_problem = fake_assistant.ask, http_api.ask_arguments_problem

    def blocking_ask(question, **kwargs):
        asked.append(question)
        entered.set()
        assert release.wait(WAIT_S), "the test never released the blocked call"
        return real_ask(question, **kwargs)

    def noting_problem(*args):
        # Runs on the event loop just before the handler enters the gate; the loop cannot serve
        # another request until this one has taken its place and awaits the running slot.
        validated.append(args)
        if len(validated) == 2:
            second_arrived.set()
        return real_problem(*args)

    monkeypatch.setattr(fake_assistant, "ask", blocking_ask)
    monkeypatch.setattr(http_api, "ask_arguments_problem", noting_problem)
    responses: dict[str, object] = {}
    with make_client(fake_assistant, concurrency=1, waiting=1) as test_client:
        def request(name: str) -> None:
            responses[name] = test_client.post("/api/ask", json={"question": QUESTION})

        first = threading.Thread(target=request, args=("first",), daemon=True)
        second = threading.Thread(target=request, args=("second",), daemon=True)
        first.start()
        try:
            assert entered.wait(WAIT_S), "the first request never reached ask"
            second.start()
            assert second_arrived.wait(WAIT_S), "the second request never reached the gate"
            probe = test_client.post("/api/check", json={"text": "Gene therapy works."})
            assert "busy" in error_of(probe, 503)
            assert asked == [QUESTION], "the waiting call ran while the first still held the only slot"
        finally:
            release.set()
            first.join(WAIT_S)
            second.join(WAIT_S)
        assert not first.is_alive() and not second.is_alive()
        assert responses["first"].status_code == 200
        assert responses["second"].status_code == 200
        assert asked == [QUESTION, QUESTION]
