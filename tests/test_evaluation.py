"""Evaluation runs, summaries, comparisons, hold-out abstention and the `eval` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import QUESTIONS, REPO
from test_cli import run_cli

from assistant.errors import UserInputError
from assistant.eval.evaluation import evidence_spans, load_questions, run_evaluation, run_holdout
from assistant.eval.outcomes import compare_records, summarize, summarize_by_tag
from assistant.models import Answer, Citation, EvalRecord

DOC_004 = "004_54acd962cbed51f9.txt"
GELSINGER = {"id": "q1", "question": "Who died in 1999 during a gene therapy study?", "answers": ["Jesse Gelsinger"],
             "evidence": [{"doc": DOC_004, "quote": "This already happened in 1999, when 18-year-old Jesse Gelsinger "
                           "died during a gene therapy study for ornithine transcarbamylase deficiency."}],
             "answerable": True, "tags": ["who"]}
OFF_TOPIC = {"id": "q2", "question": "Which footballer scored twice at Wembley yesterday?", "answers": [],
             "evidence": [], "answerable": False, "tags": ["off-topic"]}


def write_questions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def record(system: str, qid: str, answerable: bool, hit: bool = False, abstained: bool = False,
           errored: bool = False, tags: tuple[str, ...] = ()) -> EvalRecord:
    return EvalRecord(id=qid, system=system, question=qid, answerable=answerable, hit=hit, abstained=abstained,
                      errored=errored, tags=list(tags), citations_valid=not errored)


def test_load_questions_reads_both_formats(tmp_path: Path) -> None:
    ours = load_questions(QUESTIONS)
    assert len(ours) >= 60 and ours[0].id.startswith("gt-")
    covid = write_questions(tmp_path / "covid.jsonl", [
        {"qid": "7", "question": "Q?", "answers": ["a"], "gold_doc_ids": ["630"],
         "gold_spans": [{"doc_id": "630", "start": 3, "end": 9}], "answerable": True, "split": "dev"},
        {"qid": "8", "question": "R?", "answers": ["b"], "gold_doc_ids": ["631"],
         "gold_spans": [{"doc_id": "631", "start": 1, "end": 2}], "answerable": True, "split": "test"}])
    dev = load_questions(covid, split="dev")
    assert [q.id for q in dev] == ["7"]
    assert dev[0].evidence[0].doc == "630" and (dev[0].evidence[0].start, dev[0].evidence[0].end) == (3, 9)
    assert len(load_questions(covid, limit=1)) == 1


def test_load_questions_rejects_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(UserInputError, match="line 1"):
        load_questions(bad)
    with pytest.raises(UserInputError):
        load_questions(tmp_path / "missing.jsonl")


def test_summary_counts_errors_as_failures() -> None:
    records = [record("full", "a", True, hit=True), record("full", "b", True, errored=True),
               record("full", "c", False, abstained=True), record("full", "d", False)]
    summary = summarize(records)
    assert summary["hit_rate"] == 0.5  # the errored answerable question counts as a miss
    assert summary["errored"] == 1
    assert summary["abstention_recall"] == 0.5
    assert summary["abstention_precision"] == 1.0
    assert summary["citation_validity"] == 0.75
    assert summary["questions"] == 4


def test_summary_counts_answers_that_warn_of_unmatched_words() -> None:
    def answered(qid: str, answerable: bool, unmatched: list[str]) -> EvalRecord:
        r = record("full", qid, answerable)
        r.answer = Answer(question=qid, text="S. [1]", abstained=False, confidence=0.5, unmatched=unmatched,
                          citations=[Citation(marker=1, doc="d", title="d", start=0, end=2, quote="S.", passage="S.")])
        return r

    records = [answered("a", True, []), answered("b", True, ["Kenya"]), answered("c", True, []),
               answered("d", True, []), answered("e", False, ["Peru"]), answered("f", False, []),
               record("full", "g", False, abstained=True)]  # abstentions are not answers
    summary = summarize(records)
    assert summary["unmatched_warned_answerable"] == 0.25
    assert summary["unmatched_warned_unanswerable"] == 0.5


def test_summary_by_tag_and_flips() -> None:
    before = [record("full", "a", True, hit=False, tags=("number",)), record("full", "b", False, abstained=True)]
    after = [record("full", "a", True, hit=True, tags=("number",)), record("full", "b", False, abstained=False)]
    assert compare_records(after, before) == [("full", "a", "fixed", "a"), ("full", "b", "broken", "b")]
    by_tag = summarize_by_tag(after)
    assert by_tag["number"]["full"]["hit_rate"] == 1.0 and by_tag["number"]["full"]["questions"] == 1


def test_run_evaluation_scores_each_system(shared_assistant, tmp_path: Path) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl", [GELSINGER, OFF_TOPIC]))
    records = run_evaluation(shared_assistant, questions, ["naive", "full"])
    assert [(r.system, r.id) for r in records] == [("naive", "q1"), ("full", "q1"), ("naive", "q2"), ("full", "q2")]
    full_hit = records[1]
    assert full_hit.hit and full_hit.cited_gold_any and full_hit.citations_valid
    assert full_hit.retrieval_ranks and min(full_hit.retrieval_ranks) <= 10
    assert records[2].abstained is False  # the naive baseline never abstains
    assert records[3].abstained is True
    spans = evidence_spans(questions[0], shared_assistant.index)
    text = shared_assistant.index.documents[DOC_004].text
    assert text[spans[0][1]:spans[0][2]] == GELSINGER["evidence"][0]["quote"]


def test_an_erroring_system_is_recorded_not_dropped(shared_assistant, tmp_path: Path, monkeypatch) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl", [GELSINGER]))

    def broken(*args, **kwargs) -> Answer:
        raise RuntimeError("boom")

    monkeypatch.setattr(shared_assistant, "ask", broken)
    records = run_evaluation(shared_assistant, questions, ["full"])
    assert len(records) == 1 and records[0].errored and "boom" in (records[0].error or "")
    assert summarize(records)["hit_rate"] == 0.0


def test_holdout_answers_without_the_gold_document(shared_assistant, tmp_path: Path) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl", [GELSINGER]))
    records = run_holdout(shared_assistant, questions, 5)
    assert len(records) == 1 and records[0].system == "full-holdout" and not records[0].answerable
    answer = records[0].answer
    assert answer is not None
    assert all(c.doc != DOC_004 for c in answer.citations)


@pytest.mark.process
def test_eval_command_writes_reports_and_compares(tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.jsonl", [GELSINGER, OFF_TOPIC])
    (tmp_path / "corpus").symlink_to(REPO / "corpus")
    first = run_cli("eval", "--questions", str(questions), "--corpus", "corpus", "--index", "idx",
                    "--systems", "naive,full", "--out", "run1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    for name in ("report.json", "report.md", "metrics.png", "latency.png", "confidence.png"):
        assert (tmp_path / "run1" / name).stat().st_size > 0
    report = json.loads((tmp_path / "run1" / "report.json").read_text())
    assert set(report["summary"]) == {"naive", "full"}
    assert {"question", "text", "abstained", "reason", "confidence", "citations"} <= set(report["records"][0]["answer"])
    assert "| full |" in first.stdout
    second = run_cli("eval", "--questions", str(questions), "--index", "idx", "--systems", "naive,full",
                     "--out", "run2", "--compare", "run1", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "(+0.0)" in second.stdout and "0 fixed, 0 broken" in second.stdout
    bad = run_cli("eval", "--questions", str(questions), "--index", "idx", "--systems", "nope", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown system" in bad.stderr
