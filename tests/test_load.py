"""Load and concurrency (fake embedder): the real server under 20 concurrent API clients, a
full queue, and reads while documents are uploaded.

The load figures are printed and written to ``test-artifacts/load.json``; the overload
figures to ``test-artifacts/overload.json``.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import CORPUS, QUESTIONS, REPO, make_assistant
from serving import running_server, write_generated_corpus

import assistant.service as service
from assistant.index.store import load_index
from assistant.ingest.corpus_admin import TRASH
from assistant.service import Assistant

gradio_client = pytest.importorskip("gradio_client")

ARTIFACTS = REPO / "test-artifacts"
CLIENTS = 20
QUESTIONS_PER_CLIENT = 50


def question_set() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(row["question"] for row in rows))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def check_answer(result: object, texts: dict[str, str]) -> str | None:
    """Why an API answer is wrong, or None: an answer contract whose quotes are in the corpus."""
    if not isinstance(result, dict) or "error" in result:
        return f"not an answer: {str(result)[:200]}"
    if result["abstained"] != (not result["citations"]):
        return "abstained with citations or answered without"
    for citation in result["citations"]:
        if texts[citation["doc"]][citation["start"]:citation["end"]] != citation["quote"]:
            return f"quote not at its offsets: {citation['doc']} {citation['start']}"
    return None


def report(capsys: pytest.CaptureFixture, name: str, figures: dict, lines: list[str]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(f"[load] {line}" for line in lines), flush=True)


@pytest.mark.slow
def test_twenty_clients_ask_fifty_questions_each(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    texts = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "corpus").iterdir()}
    questions = question_set()
    with running_server(tmp_path, tmp_path / "corpus", tmp_path / "index") as server:
        warm = gradio_client.Client(server.url, verbose=False)
        for question in questions[:20]:  # first calls allocate caches; measure growth after them
            assert check_answer(warm.predict(question, 2, "hybrid", None, api_name="/ask"), texts) is None
        rss_before, cpu_before = server.rss_kib(), server.cpu_s()
        barrier = threading.Barrier(CLIENTS)
        latencies: list[float] = []
        errors: list[str] = []

        def client_run(number: int) -> None:
            try:
                client = gradio_client.Client(server.url, verbose=False)
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                errors.append(f"client {number}: {type(exc).__name__}: {exc}")
                barrier.abort()
                return
            barrier.wait()
            for turn in range(QUESTIONS_PER_CLIENT):
                question = questions[(number * QUESTIONS_PER_CLIENT + turn) % len(questions)]
                started = time.perf_counter()
                try:
                    result = client.predict(question, 2, "hybrid", None, api_name="/ask")
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"client {number} turn {turn}: {type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - started)
                problem = check_answer(result, texts)
                if problem:
                    errors.append(f"client {number} turn {turn}: {problem}")

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client_run, range(CLIENTS)))
        wall = time.perf_counter() - started
        rss_after, server_cpu = server.rss_kib(), server.cpu_s() - cpu_before
        after = gradio_client.Client(server.url, verbose=False).predict(questions[0], 2, "hybrid", None,
                                                                        api_name="/ask")
        assert check_answer(after, texts) is None
    ms = [1000 * s for s in latencies]
    figures = {"clients": CLIENTS, "questions_per_client": QUESTIONS_PER_CLIENT, "answers": len(latencies),
               "errors": len(errors), "error_samples": errors[:5], "wall_s": round(wall, 1),
               "throughput_per_s": round(len(latencies) / wall, 1), "server_cpu_s": round(server_cpu, 1),
               "latency_ms": {"p50": round(statistics.median(ms), 1), "p95": round(percentile(ms, 0.95), 1),
                              "max": round(max(ms), 1)},
               "server_rss_mib": {"before": round(rss_before / 1024, 1), "after": round(rss_after / 1024, 1),
                                  "growth": round((rss_after - rss_before) / 1024, 1)},
               "server_ready_s": round(server.ready_s, 1)}
    report(capsys, "load.json", figures, [
        f"{CLIENTS} clients x {QUESTIONS_PER_CLIENT} questions: {len(latencies)} answers, {len(errors)} errors "
        f"in {wall:.1f}s ({figures['throughput_per_s']}/s; the server used {server_cpu:.0f} CPU-s, the clients "
        "the rest of 2 cores)",
        f"latency p50 {figures['latency_ms']['p50']} ms, p95 {figures['latency_ms']['p95']} ms, "
        f"max {figures['latency_ms']['max']} ms",
        f"server RSS {figures['server_rss_mib']['before']} -> {figures['server_rss_mib']['after']} MiB "
        f"({figures['server_rss_mib']['growth']:+} MiB)"])
    assert errors == []
    assert len(latencies) == CLIENTS * QUESTIONS_PER_CLIENT
    assert rss_after - rss_before < 150 * 1024, figures["server_rss_mib"]


def _post(url: str, body: dict) -> tuple[int, dict, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), time.perf_counter() - started


def _result(url: str) -> tuple[str, object]:
    """The last event and its data from Gradio's two-step call API (server-sent events)."""
    with urllib.request.urlopen(url, timeout=120) as response:
        payload = response.read().decode()
    event, data = "", None
    for line in payload.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = json.loads(line.split(":", 1)[1])
    return event, data


@pytest.mark.slow
def test_a_full_queue_turns_the_surplus_away_quickly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--queue-size 2 --concurrency 1``: of 30 simultaneous calls the surplus gets HTTP 503
    ("Queue is full") at once, every accepted call is answered, and the server answers afterwards."""
    write_generated_corpus(tmp_path / "corpus", 60, paragraphs=12)  # slower answers make a queue
    texts = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "corpus").iterdir()}
    questions = question_set()
    burst = 30
    with running_server(tmp_path, tmp_path / "corpus", tmp_path / "index", "--queue-size", "2", "--concurrency",
                        "1", ASSISTANT_K="200") as server:
        call = f"{server.url}gradio_api/call/ask"
        barrier = threading.Barrier(burst)

        def fire(number: int) -> tuple[int, dict, float]:
            barrier.wait()
            return _post(call, {"data": [questions[number % len(questions)], 3, "hybrid", None]})

        with ThreadPoolExecutor(burst) as pool:
            posted = list(pool.map(fire, range(burst)))
        accepted = [body["event_id"] for status, body, _ in posted if status == 200]
        refused = [(status, body, seconds) for status, body, seconds in posted if status != 200]
        outcomes = [_result(f"{call}/{event_id}") for event_id in accepted]
        after = gradio_client.Client(server.url, verbose=False).predict(questions[0], 2, "hybrid", None,
                                                                        api_name="/ask")
    figures = {"queue_size": 2, "concurrency": 1, "simultaneous_calls": burst, "accepted": len(accepted),
               "refused": len(refused), "refusal": refused[0][1] if refused else None,
               "refusal_s_max": round(max((s for _, _, s in refused), default=0), 3),
               "accepted_answered": sum(event == "complete" for event, _ in outcomes)}
    report(capsys, "overload.json", figures, [
        f"queue 2, concurrency 1, {burst} simultaneous calls: {len(accepted)} accepted and answered "
        f"{figures['accepted_answered']}, {len(refused)} refused with HTTP {refused[0][0] if refused else '-'} "
        f"{refused[0][1] if refused else ''} within {figures['refusal_s_max']}s"])
    assert refused, "no call was turned away: the queue limit does not work (or answers are too fast to queue)"
    for status, body, seconds in refused:
        assert status == 503 and "Queue is full" in body.get("detail", ""), (status, body)
        assert seconds < 5, seconds
    assert len(accepted) >= 2
    for event, data in outcomes:
        assert event == "complete", (event, data)
        assert check_answer(data[0], texts) is None
    assert check_answer(after, texts) is None


# --- reads during writes (library) ------------------------------------------------------------

ZORBLAX = ("Zorblax Therapy Notes {n}\n\nZorblax therapy number {n} was approved in 20{n:02d} for treating glimmer "
           "syndrome of type {n}. Glimmer syndrome is a rare inherited condition that makes the skin shimmer under "
           "moonlight. A single Zorblax infusion of batch {n} is expected to work for at least a decade.\n")
READ_QUESTIONS = ["When was Zorblax therapy approved?", "What is glimmer syndrome?", "How much does Zolgensma cost?",
                  "Who died in 1999 during a gene therapy study?", "What is gene therapy?"]


@pytest.mark.slow  # ~5 s of real uploads and reader threads: the full suite's, not the unit tier's
def test_reads_during_uploads_cite_the_index_version_they_used(fake_assistant: Assistant, monkeypatch,
                                                               tmp_path: Path) -> None:
    """While one thread uploads (and removes) documents, three threads keep asking: every
    citation resolves in the index version the answer was computed from. A second Assistant
    (as another process would) keeps its loaded version while the first rebuilds and deletes
    old version folders."""
    used = threading.local()
    real_answer = service.answer_question

    def recording_answer(index, *args, **kwargs):
        used.index = index
        return real_answer(index, *args, **kwargs)

    monkeypatch.setattr(service, "answer_question", recording_answer)
    other = make_assistant(fake_assistant.settings.corpus, fake_assistant.settings.index)
    other.index  # loaded before any upload
    done = threading.Event()
    errors: list[str] = []
    seen_versions: set[Path] = set()
    answers = {"count": 0, "new_docs": 0, "slowest_s": 0.0}
    lock = threading.Lock()

    def verify(assistant: Assistant, question: str) -> None:
        started = time.perf_counter()
        answer = assistant.ask(question, abstain=False)
        elapsed = time.perf_counter() - started
        index = used.index
        with lock:
            seen_versions.add(index.path)
            answers["count"] += 1
            answers["slowest_s"] = max(answers["slowest_s"], elapsed)
            answers["new_docs"] += any(c.doc.startswith("zorblax") for c in answer.citations)
        for citation in answer.citations:
            chunk = next((c for c in index.chunks if c.chunk_id == citation.chunk_id), None)
            if chunk is None:
                errors.append(f"{citation.chunk_id} is not in {index.path.name}")
                continue
            text = index.documents[citation.doc].text
            if chunk.doc_id != citation.doc or text[citation.start:citation.end] != citation.quote \
                    or chunk.text != citation.passage:
                errors.append(f"citation {citation.chunk_id} does not match {index.path.name}")

    def reader(assistant: Assistant, offset: int) -> None:
        turn = offset
        while not done.is_set():
            try:
                verify(assistant, READ_QUESTIONS[turn % len(READ_QUESTIONS)])
            except Exception as exc:  # noqa: BLE001
                errors.append(f"reader: {type(exc).__name__}: {exc}")
            turn += 1

    def writer() -> None:
        try:
            for n in range(8):
                fake_assistant.add_document(f"zorblax{n}.txt", ZORBLAX.format(n=n).encode())
                if n % 3 == 2:
                    fake_assistant.remove_document(f"zorblax{n - 1}.txt")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"writer: {type(exc).__name__}: {exc}")
        finally:
            done.set()

    threads = [threading.Thread(target=reader, args=(fake_assistant, i)) for i in range(3)]
    threads.append(threading.Thread(target=reader, args=(other, 0)))
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert answers["count"] > 20 and len(seen_versions) >= 2, (answers, len(seen_versions))
    assert answers["new_docs"] > 0, "no reader ever saw an uploaded document"
    final = load_index(fake_assistant.settings.index)
    assert sorted(d for d in final.documents if d.startswith("zorblax")) == \
        sorted(f"zorblax{n}.txt" for n in range(8) if not (n % 3 == 1 and n < 7))


def test_concurrent_uploads_of_one_document_are_serialised(fake_assistant: Assistant) -> None:
    names = ["same.txt", "../same.txt", "/tmp/same.txt", "sub\\same.txt", "./same.txt", "same.txt"]
    contents = [ZORBLAX.format(n=n) for n in range(len(names))]
    before = set(fake_assistant.index.manifest.documents)
    barrier = threading.Barrier(len(names))
    results: list[str] = []

    def upload(number: int) -> None:
        barrier.wait()
        results.append(fake_assistant.add_document(names[number], contents[number].encode()))

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == ["same.txt"] * len(names)
    corpus = fake_assistant.settings.corpus
    # no temporary file is left behind; the replaced versions wait in the trash (one per replacement)
    assert sorted(p.name for p in corpus.iterdir() if ("same" in p.name or p.name.startswith(".")) and p.name != TRASH
                  ) == ["same.txt"]
    index = load_index(fake_assistant.settings.index)
    assert set(index.manifest.documents) == before | {"same.txt"}
    assert len(index.documents) == len(index.manifest.documents)
    assert [d for d in index.documents if d == "same.txt"] == ["same.txt"]
    stored = (corpus / "same.txt").read_text(encoding="utf-8")
    assert stored in contents and index.documents["same.txt"].text == stored
    assert len({c.chunk_id for c in index.chunks}) == len(index.chunks)
