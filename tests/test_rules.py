"""Rules that several stages share are defined once (issue 12): each test pins one such rule to its
single home and checks that every user agrees with it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant.ingest.cleaning import _CODE_SYMBOLS
from assistant.ingest.lines import TERMINAL
from assistant.ingest.splitting import sentence_spans
from assistant.patterns import REFERENCE_MARK

MARKS = ["[3]", "[12–14]", "[4, 7]", "[1-3]", "[2,5]"]


def test_reference_marks_are_one_pattern_for_splitting_cleaning_and_lines() -> None:
    for mark in MARKS:
        assert REFERENCE_MARK.fullmatch(mark)
        text = f"Gene therapy works.{mark} It was approved in 2017."
        assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
            f"Gene therapy works.{mark}", "It was approved in 2017."]
        assert TERMINAL.search(f"It ends here.{mark}")
        assert not _CODE_SYMBOLS.search(f"cited {mark} here")
    assert _CODE_SYMBOLS.search("a [x] b")


def test_citation_markers_are_written_and_read_by_one_rule() -> None:
    from assistant.patterns import CITATION_MARKER, citation_marker

    text = f"Gene therapy works. {citation_marker(1)} It was approved in 2017.[12–14] {citation_marker(12)}"
    assert CITATION_MARKER.findall(text) == ["1", "12"]  # a source's own "[12–14]" is not ours
    assert CITATION_MARKER.sub("", text) == "Gene therapy works. It was approved in 2017.[12–14]"


def test_one_enum_names_every_system_and_mode() -> None:
    import pytest

    from assistant.eval.evaluation import SYSTEMS
    from assistant.models import RETRIEVAL_MODES, Answer, System
    from assistant.serve.arguments import build_parser
    from assistant.serve.http_api import ask_arguments_problem
    from assistant.settings import Settings

    parser = build_parser()
    for mode in RETRIEVAL_MODES:
        assert parser.parse_args(["ask", "q", "--mode", mode]).mode == mode
        assert ask_arguments_problem(2, mode.value, None) is None
        assert Answer(question="q", text="", abstained=True, confidence=0, mode=mode.value).mode == mode
    for other in set(System) - set(RETRIEVAL_MODES):
        with pytest.raises(SystemExit):
            parser.parse_args(["ask", "q", "--mode", other])
        assert ask_arguments_problem(2, other.value, None) == f"unknown mode '{other}'; use hybrid, dense or bm25"
    assert SYSTEMS == tuple(parser.parse_args(["eval"]).systems.split(",")) == tuple(System)
    answer = Answer(question="q", text="", abstained=True, confidence=0, mode="bm25")
    assert json.loads(answer.model_dump_json())["mode"] == json.loads(json.dumps(answer.model_dump()))["mode"] == "bm25"
    with pytest.raises(ValueError, match="Input should be 'hybrid', 'dense' or 'bm25'"):
        Settings(mode="naive")


def test_local_model_environment_is_set_up_in_one_place(monkeypatch) -> None:
    from assistant.settings import LOCAL_MODELS_ENV, local_models_env, use_local_models

    for name in LOCAL_MODELS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the caller's own choice stands in this process
    use_local_models()
    assert local_models_env()["HF_HUB_OFFLINE"] == "1"  # a child always loads local files
    assert os.environ["HF_HUB_OFFLINE"] == "0" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    package = Path(__file__).resolve().parents[1] / "assistant"
    writers = [p.name for p in package.rglob("*.py") if '"HF_HUB_OFFLINE"' in p.read_text(encoding="utf-8")]
    assert writers == ["settings.py"]


def test_questions_and_claims_share_one_term_extraction() -> None:
    from assistant.check.facts import lexical_overlap
    from assistant.lexical import key_stems, key_words

    question = "How much does the CRISPR-Cas9 therapy cost in the U.S.?"
    assert key_words(question, drop_question_words=True) == ["crispr-cas9", "therapy", "cost", "u.s"]
    assert key_stems("Therapies cost") == key_stems("the therapy costs")
    assert lexical_overlap("The therapies cost millions", "Each therapy costs two millions.") == 1.0


def test_one_function_decides_abstention_and_says_why() -> None:
    from types import SimpleNamespace

    from assistant.answer.abstention import RULES_THRESHOLD, abstain_threshold, abstention, merged_abstention
    from assistant.models import Answer

    judge = SimpleNamespace(answer=SimpleNamespace(threshold=0.37))
    assert abstain_threshold(None, None) == RULES_THRESHOLD
    assert abstain_threshold(None, judge) == 0.37 and abstain_threshold(0.8, judge) == 0.8
    assert abstention("q", None, 0.5, index=None, abstain=False) == (  # type: ignore[arg-type]
        0.0, "no passage in the documents matches the question")
    judged = SimpleNamespace(probability=0.6, missing_entity=["luxturna"], sentence=SimpleNamespace(text="Near  it."))
    assert abstention("q", judged, 0.5, index=None) == (0.6, None)  # type: ignore[arg-type]
    assert abstention("q", judged, 0.7, index=None, abstain=False) == (0.6, None)  # type: ignore[arg-type]
    assert abstention("q", judged, 0.7, index=None) == (  # type: ignore[arg-type]
        0.6, 'no passage about luxturna answers it (nearest: "Near it.")')
    yes = Answer(question="a", text="A. [1]", abstained=False, confidence=0.9)
    no = Answer(question="b", text="", abstained=True, reason="why", confidence=0.2)
    assert merged_abstention(["a", "b"], [yes, no]) == (False, 0.9, 'the documents don\'t cover: "b" (why)')
    assert merged_abstention(["b", "b"], [no, no]) == (True, 0.2, '"b": why; "b": why')


def test_answer_options_take_every_default_from_settings() -> None:
    import dataclasses

    from assistant.answer.answering import AnswerOptions
    from assistant.settings import Settings

    settings = Settings(k=7, max_sentences=3, mode="bm25", dense_weight=0.5, lexical_weight=2.0, fusion="rrf",
                        abstain_threshold=0.4, max_question_chars=99)
    options = AnswerOptions.from_settings(settings)
    assert options == AnswerOptions(k=7, max_sentences=3, mode="bm25", fusion_weights=(0.5, 2.0),  # type: ignore
                                    fusion="rrf", abstain_threshold=0.4, max_question_chars=99)
    assert AnswerOptions.from_settings(settings, k=4, mode=None, abstain=False) == dataclasses.replace(
        options, k=4, abstain=False)
    owned = {f.name for f in dataclasses.fields(AnswerOptions) if f.default is dataclasses.MISSING}
    assert owned == {"k", "max_sentences", "mode", "fusion_weights", "fusion", "abstain_threshold",
                     "max_question_chars"}
    default = AnswerOptions.from_settings(Settings.model_construct())
    assert (default.k, default.max_sentences, default.mode) == (Settings.model_fields["k"].default,
                                                                 Settings.model_fields["max_sentences"].default,
                                                                 Settings.model_fields["mode"].default)
