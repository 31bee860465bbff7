"""The command line, run as a subprocess exactly as a user would (fake embedder via ASSISTANT_MODEL)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, CORPUS_FILES, FAKE_MODEL, REPO

pytestmark = pytest.mark.process  # every test runs `python -m assistant ...` in a child process

DOC_002 = "002_8327220291109cc9.txt"
DOC_004 = "004_54acd962cbed51f9.txt"
GELSINGER_Q = "Who died in 1999 during a gene therapy study?"
CITATION_KEYS = {"marker", "doc", "title", "start", "end", "quote", "passage"}
ANSWER_KEYS = {"question", "text", "abstained", "reason", "confidence", "citations"}


def run_cli(*args: str, cwd: Path, extra_env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL=FAKE_MODEL, ASSISTANT_JUDGE="rules", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int = 2, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("assistant: error:"), lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder holding a copy of the corpus and an index built by ``assistant index``.
    Read-only for the tests that use it."""
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(CORPUS, root / "corpus")
    result = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=root)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def fresh_workdir(tmp_path: Path) -> Path:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    return tmp_path


# --- index -------------------------------------------------------------------------------------


def test_index_prints_a_summary_and_reuses_vectors(fresh_workdir: Path) -> None:
    first = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    summary = first.stdout.strip()
    assert summary.startswith(f"indexed {len(CORPUS_FILES)} documents, ")
    assert "chunks" in summary and "sentences" in summary and "idx" in summary
    assert f"{len(CORPUS_FILES)} added, 0 changed, 0 removed" in summary
    assert (fresh_workdir / "idx" / "CURRENT").is_file()

    second = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert second.returncode == 0, second.stderr
    assert "embedded 0 texts" in second.stdout
    assert "0 added, 0 changed, 0 removed" in second.stdout


def test_index_warns_about_skipped_files(fresh_workdir: Path) -> None:
    (fresh_workdir / "corpus" / "broken.txt").write_bytes(b"\x00\x01binary\x00")
    result = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert result.returncode == 0, result.stderr
    assert "warning: broken.txt" in result.stderr
    assert result.stdout.startswith(f"indexed {len(CORPUS_FILES)} documents")


def test_help() -> None:
    result = run_cli("--help", cwd=REPO)
    assert result.returncode == 0
    for word in ("index", "ask", "chat"):
        assert word in result.stdout
    result = run_cli("ask", "--help", cwd=REPO)
    assert result.returncode == 0
    assert "--json" in result.stdout and "--doc" in result.stdout and "--k" in result.stdout


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    assert_one_line_error(run_cli(cwd=tmp_path), 2)


# --- ask ---------------------------------------------------------------------------------------


def test_ask_json_prints_the_answer_contract(workdir: Path) -> None:
    result = run_cli("ask", GELSINGER_Q, "--json", "--corpus", "corpus", "--index", "idx", cwd=workdir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert ANSWER_KEYS <= set(answer)
    assert answer["question"] == GELSINGER_Q
    assert isinstance(answer["abstained"], bool)
    assert 0.0 <= answer["confidence"] <= 1.0
    assert answer["abstained"] is False and answer["reason"] is None, answer["reason"]
    assert 1 <= len(answer["citations"]) <= 2
    for number, citation in enumerate(answer["citations"], 1):
        assert CITATION_KEYS <= set(citation)
        assert citation["marker"] == number and f"[{number}]" in answer["text"]
        text = (workdir / "corpus" / citation["doc"]).read_bytes().decode("utf-8")
        assert text[citation["start"]:citation["end"]] == citation["quote"]
        assert citation["quote"] in citation["passage"]
    assert "index updated" not in result.stderr  # the index was fresh


def test_ask_plain_text(workdir: Path) -> None:
    result = run_cli("ask", GELSINGER_Q, "--corpus", "corpus", "--index", "idx", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout and "confidence" in result.stdout
    assert DOC_004 in result.stdout


def test_ask_with_doc_filter_and_options(workdir: Path) -> None:
    result = run_cli("ask", "What is gene therapy?", "--json", "--doc", DOC_002, "--k", "3", "--max-sentences", "1",
                     "--mode", "bm25", "--corpus", "corpus", "--index", "idx", cwd=workdir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mode"] == "bm25"
    assert len(answer["citations"]) <= 1
    assert {c["doc"] for c in answer["citations"]} <= {DOC_002}


def test_ask_unknown_doc_is_a_user_error(workdir: Path) -> None:
    result = run_cli("ask", "What is gene therapy?", "--doc", "nope.txt", "--corpus", "corpus", "--index", "idx",
                     cwd=workdir)
    assert_one_line_error(result, 2, "nope.txt")


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_question_exits_2_with_one_line(workdir: Path, question: str) -> None:
    result = run_cli("ask", question, "--corpus", "corpus", "--index", "idx", cwd=workdir)
    assert_one_line_error(result, 2, "question")
    assert result.stdout == ""


def test_empty_question_fails_before_building_an_index(fresh_workdir: Path) -> None:
    result = run_cli("ask", "", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert_one_line_error(result, 2, "empty")
    assert not (fresh_workdir / "idx").exists()


@pytest.mark.parametrize("k", ["0", "x", "-3"])
def test_bad_k_exits_2(tmp_path: Path, k: str) -> None:
    result = run_cli("ask", "What is gene therapy?", "--k", k, cwd=tmp_path)
    assert_one_line_error(result, 2, "--k")


def test_bad_mode_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("ask", "What is gene therapy?", "--mode", "fuzzy", cwd=tmp_path), 2, "--mode")


def test_bad_setting_from_environment_exits_2(tmp_path: Path) -> None:
    result = run_cli("ask", "What is gene therapy?", cwd=tmp_path, extra_env={"ASSISTANT_K": "many"})
    assert_one_line_error(result, 2, "invalid setting")


def test_empty_corpus_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("index", "--corpus", "empty", "--index", "idx", cwd=tmp_path)
    assert_one_line_error(result, 2, "no readable")
    result = run_cli("ask", "What is gene therapy?", "--corpus", "empty", "--index", "idx", cwd=tmp_path)
    assert_one_line_error(result, 2, "no readable")


def test_missing_corpus_and_index_exits_2(tmp_path: Path) -> None:
    result = run_cli("ask", "What is gene therapy?", "--corpus", "nowhere", "--index", "idx", cwd=tmp_path)
    assert_one_line_error(result, 2, "nowhere")


def test_file_in_place_of_index_folder_exits_2(fresh_workdir: Path) -> None:
    (fresh_workdir / "idx").write_text("not a folder\n", encoding="utf-8")
    result = run_cli("ask", "What is gene therapy?", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert_one_line_error(result, 2, "idx")
    result = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert_one_line_error(result, 2, "idx")


def test_corrupt_current_exits_2_when_the_corpus_is_not_at_hand(fresh_workdir: Path, tmp_path_factory) -> None:
    built = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert built.returncode == 0, built.stderr
    (fresh_workdir / "idx" / "CURRENT").write_text("../../etc\n", encoding="utf-8")
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no corpus/ folder here
    result = run_cli("ask", "What is gene therapy?", "--index", str(fresh_workdir / "idx"), cwd=elsewhere)
    assert_one_line_error(result, 2, "CURRENT")


def test_corrupt_current_is_rebuilt_when_the_corpus_is_given(fresh_workdir: Path) -> None:
    built = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert built.returncode == 0, built.stderr
    (fresh_workdir / "idx" / "CURRENT").write_text("v-gone\n", encoding="utf-8")
    result = run_cli("ask", GELSINGER_Q, "--json", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert result.returncode == 0, result.stderr
    assert "index updated" in result.stderr
    assert json.loads(result.stdout)["question"] == GELSINGER_Q


def test_ask_rebuilds_after_a_corpus_edit(fresh_workdir: Path) -> None:
    built = run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert built.returncode == 0, built.stderr
    question = "Where was the quokkavirus vector tested on zebrafish larvae?"
    before = run_cli("ask", question, "--json", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert before.returncode == 0, before.stderr
    assert not any("quokkavirus" in c["quote"] for c in json.loads(before.stdout)["citations"])

    path = fresh_workdir / "corpus" / DOC_004
    text = path.read_text(encoding="utf-8")
    anchor = "Safety concerns are a priority in the planning and carrying out gene therapy research."
    assert anchor in text
    new_sentence = "The quokkavirus vector was tested on zebrafish larvae in Reykjavik in 2031."
    path.write_text(text.replace(anchor, f"{anchor} {new_sentence}"), encoding="utf-8")

    after = run_cli("ask", question, "--json", "--corpus", "corpus", "--index", "idx", cwd=fresh_workdir)
    assert after.returncode == 0, after.stderr
    assert "index updated" in after.stderr
    answer = json.loads(after.stdout)
    assert not answer["abstained"], answer["reason"]
    cited = [c for c in answer["citations"] if c["quote"] == new_sentence]
    assert cited and cited[0]["doc"] == DOC_004
    edited = path.read_bytes().decode("utf-8")
    assert edited[cited[0]["start"]:cited[0]["end"]] == new_sentence


@pytest.mark.process
def test_eval_claims_on_another_corpus_leaves_the_default_index_alone(fresh_workdir: Path) -> None:
    """`eval --claims F --corpus OTHER` indexes OTHER in its own cache folder, never in index/."""
    assert run_cli("index", cwd=fresh_workdir).returncode == 0
    before = (fresh_workdir / "index" / "CURRENT").read_text()
    other = fresh_workdir / "other"
    other.mkdir()
    (other / "note.txt").write_text("Glybera was the first gene therapy approved in Europe, in 2012.\n")
    claims = fresh_workdir / "claims.jsonl"
    claims.write_text(json.dumps({"id": "c1", "claim": "Glybera was approved in Europe in 2012.", "cites": "note.txt",
                                  "label": "supported", "source_doc": None, "source_quote": None}) + "\n")
    result = run_cli("eval", "--claims", "claims.jsonl", "--corpus", "other", "--out", "out", cwd=fresh_workdir)
    assert result.returncode == 0, result.stderr
    assert (fresh_workdir / "index" / "CURRENT").read_text() == before
    assert (fresh_workdir / "evals" / "cache").is_dir()
