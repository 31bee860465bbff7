"""Citation checking: input parsing, fact comparison (pure), verdicts and the `check` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from test_cli import run_cli

from assistant.check.citation_input import (
    claims_from_body,
    parse_input,
    resolve_reference,
    split_references,
)
from assistant.check.facts import (
    fact_differences,
    months,
    names,
    negated_terms,
    normalize_text,
    numbers_with_units,
)
from assistant.check.support import SWAP_ALIGNMENT, VETO_KINDS, swapped_names
from assistant.errors import UserInputError
from assistant.eval.claim_eval import ClaimOutcome, score_claims
from assistant.index.word_vectors import WordVectors

DOC_002 = "002_8327220291109cc9.txt"
DOC_004 = "004_54acd962cbed51f9.txt"
TITLES = {DOC_002: "Gene Therapy Explained: Treating Disease by Fixing Genes", DOC_004: "What Is Gene Therapy?"}
PRICE = "With a list price of 2.1 million dollars per dose, it was the most expensive drug ever approved at the time."
GELSINGER = ("This already happened in 1999, when 18-year-old Jesse Gelsinger died during a gene therapy study "
             "for ornithine transcarbamylase deficiency.")


# --- parsing -----------------------------------------------------------------------------------


def test_reference_list_is_split_from_the_body() -> None:
    body, refs = split_references("Claim one [1]. Claim two [2].\n\nReferences\n[1] a.txt\n[2]: Some Title\n")
    assert body.strip() == "Claim one [1]. Claim two [2]."
    assert refs == {"1": "a.txt", "2": "Some Title"}


def test_references_resolve_by_id_title_or_path() -> None:
    assert resolve_reference(DOC_002, TITLES) == DOC_002
    assert resolve_reference("corpus/" + DOC_004, TITLES) == DOC_004
    assert resolve_reference("What Is Gene Therapy?", TITLES) == DOC_004
    assert resolve_reference("Something else entirely", TITLES) is None


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    claims = claims_from_body("First sentence is here. [1] Second sentence is here. [2]")
    assert [(c.text, c.markers) for c in claims] == [("First sentence is here.", ["1"]),
                                                      ("Second sentence is here.", ["2"])]


def test_a_sentence_with_two_markers_splits_into_clauses() -> None:
    claims = claims_from_body("Gene therapy is experimental [2], and it was never approved by anyone [1].")
    assert [c.markers for c in claims] == [["2"], ["1"]]
    assert claims[0].text == "Gene therapy is experimental"


def test_marker_ranges_and_document_markers() -> None:
    claims = claims_from_body(f"A claim with a range of sources [1-3]. Another one names it [{DOC_004}].")
    assert claims[0].markers == ["1", "2", "3"]
    assert claims[1].markers == [DOC_004]


def test_quoted_passages_are_kept_as_quotes() -> None:
    claims = claims_from_body('The FDA wrote "no human gene therapy product was approved" in 2014 [2].')
    assert claims[0].quote == "no human gene therapy product was approved"


def test_bad_inputs_give_clear_errors() -> None:
    with pytest.raises(UserInputError, match="empty"):
        parse_input("   \n", TITLES)
    with pytest.raises(UserInputError, match="limit"):
        parse_input("x" * 1_000_001, TITLES)
    parsed = parse_input("A claim [7].\n\n[1] " + DOC_002, TITLES)
    assert any("[7]" in e and "points to nothing" in e for e in parsed.errors)
    parsed = parse_input("A claim that cites [1].", TITLES)
    assert any("no reference list" in e for e in parsed.errors)
    parsed = parse_input("A claim [1].\n\n[1] unknown-document.txt", TITLES)
    assert any("unknown document" in e for e in parsed.errors)


def test_html_in_the_paste_is_read_as_text() -> None:
    parsed = parse_input("<p>Gene therapy is <b>an experimental</b> way of using genes [1].</p>\n\n[1] " + DOC_004,
                         TITLES)
    assert parsed.claims and "<b>" not in parsed.claims[0].text and parsed.references == {"1": DOC_004}


# --- fact comparison (pure) --------------------------------------------------------------------


def test_normalize_text_ignores_quotes_dashes_case_and_reference_marks() -> None:
    assert normalize_text("“One‑time” Treatment.[5]") == normalize_text('"one-time" treatment')


def test_numbers_with_units() -> None:
    assert numbers_with_units("a list price of 2.1 million dollars") == [("2.1", "million")]
    assert ("4.7", "kilobases") in numbers_with_units("approximately 4.7 kilobases")
    assert ("2", "") in numbers_with_units("before age two")
    assert numbers_with_units("before age two", spelled=False) == []


def test_one_quantity_written_two_ways_is_no_difference() -> None:
    # a scale word is multiplied out for comparison: "94 million" is "94,000,000", "2.1 million dollars" is
    # "$2,100,000"
    assert fact_differences("Shandong has 94,000,000 people.", "Shandong has 94 million people.") == []
    assert fact_differences("It costs $2,100,000.", "It costs 2.1 million dollars.") == []
    assert fact_differences("It costs 2,100,000 dollars.", "It costs 2.1 million dollars.") == []
    assert fact_differences("Wuhan is a city of eleven million people.", "Wuhan is a city of 11 million people.") == []
    assert [d.kind for d in fact_differences("It costs 3.1 million dollars.", "It costs 2.1 million dollars.")] == \
        ["number"]
    # a digit stands for a number the source spells out when a word beside them is the same
    assert fact_differences("Only 4 studies were included.", "Only four studies were included.") == []
    assert fact_differences("The 5 hit drugs were VGCC inhibitors.", "The five hit drugs were VGCC inhibitors.") == []
    # each digit by the words beside it: the count of groups is the source's "two", the weeks are not said
    assert [(d.kind, d.claimed) for d in fact_differences("2 groups were compared over 2 weeks.",
                                                          "Two groups were compared.")] == [("number", "2 weeks")]
    # but a label is not a count said elsewhere: "type 2" is not "age two"
    assert "number" in [d.kind for d in fact_differences("It treats type 2 disease.", "It treats children before age two.")]


def test_a_number_inside_a_name_is_not_a_quantity() -> None:
    for name in ("COVID-19", "SARS-CoV-2", "IL-6", "2019-nCoV"):
        assert numbers_with_units(f"Patients with {name} were tested.") == [], name
    # a quantity joined to a plain word stays one
    assert numbers_with_units("a 3-year-old child and a 5-fold rise") == [("3", ""), ("5", "")]
    # so a claim naming the disease is no number mismatch against a sentence that says "the disease"
    diffs = fact_differences("Twelve patients with COVID-19 were tested.", "Twelve patients with the disease were tested.")
    assert "number" not in [d.kind for d in diffs]
    # one lower-case letter glued to a number names a variant (the 3a protein), unless it is a unit's symbol
    assert numbers_with_units("SARS-CoV 3a and viroporin 8a, compound 5b") == []
    assert numbers_with_units("after 24h, 3 a day, a 5x rise") == [("24", "h"), ("3", ""), ("5", "x")]
    diffs = fact_differences("SARS-CoV 3a triggers the inflammasome.", "SARS-CoV triggers the inflammasome.")
    assert "number" not in [d.kind for d in diffs]


def test_names_skip_common_first_words_but_keep_codes_and_single_capitals() -> None:
    assert names("Scientists treated hemophilia A with AAV5 and CRISPR.") == {"A", "AAV5", "CRISPR"}
    assert "Zolgensma" in names("Zolgensma treats infants.")


def test_a_changed_number_is_a_number_difference() -> None:
    diffs = fact_differences("Zolgensma costs 3.5 million dollars per dose.", PRICE, "Zolgensma")
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("number", "3.5 million", "2.1 million")]


def test_a_changed_unit_is_a_unit_difference() -> None:
    diffs = fact_differences("AAV carries about 4.7 megabases.", "AAV has a packaging capacity of 4.7 kilobases.")
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("unit", "4.7 megabases", "4.7 kilobases")]


def test_a_swapped_name_is_a_name_difference() -> None:
    diffs = fact_differences("Hemgenix has a list price of 2.1 million dollars per dose.", PRICE, "Zolgensma treats")
    assert [d.kind for d in diffs] == ["name"] and diffs[0].claimed == "Hemgenix"


def test_months_are_read_in_full_and_may_only_as_a_date() -> None:
    assert months("On 3 December 2014 and in March, then May 2019.") == {3, 5, 12}
    assert months("In September 2014, then Sept 2015.") == {9}
    assert months("Patients may improve; in May, it rained.") == set()  # the verb, and May with no number
    assert months("It started on 7 may 2020.") == set()  # lower case: not read as a month


def test_a_changed_month_is_a_date_difference() -> None:
    source = "On 3 November 2014, the plan was put to the test when a plane landed."
    diffs = fact_differences("On 3 December 2014, a plane landed.", source)
    assert ("date", "December", "November") in [(d.kind, d.claimed, d.source) for d in diffs]
    assert not [d for d in fact_differences("On 3 November 2014, a plane landed.", source) if d.kind == "date"]
    september = fact_differences("It began in September 2014.", "It began in October 2014.")
    assert ("date", "September", "October") in [(d.kind, d.claimed, d.source) for d in september]
    # a sentence that names no month may leave the date to the sentences before it
    assert not [d for d in fact_differences("In November the plan was tested.", "The plan was tested.",
                                            "Preparations began in November 2014.") if d.kind == "date"]


def test_a_flipped_negation_is_a_negation_difference() -> None:
    source = "Lentiviral vectors integrate their cargo permanently into the host cell genome."
    diffs = fact_differences("Lentiviral vectors never integrate their cargo into the host genome.", source)
    assert [d.kind for d in diffs] == ["negation"]
    assert negated_terms("They do not integrate it.") == {"integr"}
    # a negation reaches no further than a punctuation mark: "lacking" negates nothing after its comma
    assert negated_terms("Estimates are lacking, particularly in poor countries.") == set()
    assert negated_terms("Estimates are lacking for poor countries; data exist.") == {"poor"}


def test_a_true_paraphrase_has_no_differences() -> None:
    paraphrase = "In 1999 the 18-year-old Jesse Gelsinger died in a gene therapy trial for ornithine " \
                 "transcarbamylase deficiency."
    assert fact_differences(paraphrase, GELSINGER) == []
    assert fact_differences("Some risks may still be unknown.", "Some of the risks may not yet be known.") == []


def test_claim_scores_hand_computed() -> None:
    outcomes = [ClaimOutcome(id="1", label="supported", predicted="supported"),
                ClaimOutcome(id="2", label="supported", predicted="mismatch"),
                ClaimOutcome(id="3", label="mismatch", predicted="mismatch"),
                ClaimOutcome(id="4", label="unsupported", predicted="supported"),
                ClaimOutcome(id="5", label="verbatim", predicted="verbatim")]
    result = score_claims(outcomes)
    assert result.confusion["supported"]["mismatch"] == 1
    assert result.precision["mismatch"] == 0.5 and result.recall["supported"] == 0.5
    assert result.altered_flagged == 0.5 and result.paraphrases_flagged == 0.5
    assert result.verbatim_recognised == 1.0


# --- verdicts on the real corpus (fake embedder, so decisions rest on words and facts) --------


@pytest.fixture(scope="module")
def checked(shared_assistant):
    text = (f"{PRICE} [1] Zolgensma has a list price of 3.5 million dollars per dose [1]. "
            f"{GELSINGER} [1] Gene therapy was proven to cure every disease on Mars in 3021 [1]. "
            f"Disorders caused by mutations in a single gene are the best candidates for gene therapy. "
            f"\"The FDA has not yet approved any human gene therapy product for sale\" [2].\n\n"
            f"[1] {DOC_002}\n[2] What Is Gene Therapy?\n")
    return shared_assistant.check(text)


def test_verdicts_for_each_kind_of_claim(checked) -> None:
    verdicts = [c.verdict for c in checked.claims]
    assert verdicts[0] == "verbatim"
    assert verdicts[1] == "mismatch" and checked.claims[1].differences[0].source == "2.1 million"
    assert verdicts[2] == "wrong-source" and DOC_004 in checked.claims[2].note
    assert verdicts[3] in ("unsupported", "mismatch")
    assert verdicts[4] == "uncited" and checked.claims[4].evidence is not None
    assert checked.claims[4].evidence.doc == DOC_004
    assert verdicts[5] == "verbatim" and checked.claims[5].quoted
    assert checked.ok is False and checked.counts["verbatim"] == 2


def test_evidence_offsets_point_into_the_document(checked, shared_assistant) -> None:
    for claim in checked.claims:
        if claim.evidence is not None:
            text = shared_assistant.index.documents[claim.evidence.doc].text
            assert text[claim.evidence.start:claim.evidence.end] == claim.evidence.text


# --- the command -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check")
    (root / "corpus").symlink_to(REPO / "corpus")
    assert run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=root).returncode == 0
    return root


@pytest.mark.process
def test_check_exits_0_when_every_claim_holds_and_3_otherwise(checkdir: Path) -> None:
    good = checkdir / "good.md"
    good.write_text(f"{PRICE} [1]\n\n[1] {DOC_002}\n", encoding="utf-8")
    result = run_cli("check", str(good), "--index", "idx", cwd=checkdir)
    assert result.returncode == 0, result.stderr
    assert "VERBATIM" in result.stdout
    bad = checkdir / "bad.md"
    bad.write_text(f"Zolgensma has a list price of 3.5 million dollars per dose [1].\n\n[1] {DOC_002}\n",
                   encoding="utf-8")
    result = run_cli("check", str(bad), "--index", "idx", "--json", cwd=checkdir)
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["claims"][0]["verdict"] == "mismatch" and report["ok"] is False
    assert {"verdict", "evidence", "differences", "similarity", "cited_docs"} <= set(report["claims"][0])


@pytest.mark.process
def test_check_reads_standard_input_and_rejects_bad_input_in_one_line(checkdir: Path) -> None:
    import subprocess
    import sys

    from test_cli import run_cli as _run  # noqa: F401  (same environment)

    env_result = run_cli("check", "missing.md", "--index", "idx", cwd=checkdir)
    assert env_result.returncode == 2 and len(env_result.stderr.strip().splitlines()) == 1
    empty = checkdir / "empty.md"
    empty.write_text("", encoding="utf-8")
    result = run_cli("check", str(empty), "--index", "idx", cwd=checkdir)
    assert result.returncode == 2 and "empty" in result.stderr and "Traceback" not in result.stderr
    big = checkdir / "big.md"
    big.write_text("word " * 220_000, encoding="utf-8")
    result = run_cli("check", str(big), "--index", "idx", cwd=checkdir)
    assert result.returncode == 2 and "limit" in result.stderr
    assert sys.executable and subprocess  # the CLI is run as a subprocess by run_cli


def _word_vectors(words: list[str], rows: list[list[float]]) -> WordVectors:
    matrix = np.asarray(rows, dtype=np.float32)
    return WordVectors(tuple(words), matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def test_a_code_put_where_the_source_has_another_is_a_swapped_term() -> None:
    empty = WordVectors((), np.zeros((0, 2), np.float32))
    diffs = swapped_names("Zolgensma delivers SMN1 via AAV5.", "Zolgensma delivers SMN1 via AAV9.", empty, empty)
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("term", "AAV5", "AAV9")]
    # the same codes, or a code the source also writes inside a hyphenated word: no swap
    assert swapped_names("It targets RPE65 via AAV2.", "It treats RPE65-associated dystrophy via AAV2.", empty,
                         empty) == []
    # an ordinal is not a code
    assert swapped_names("Cases rose by March 28th.", "COVID-19 cases rose by March.", empty, empty) == []
    # a code the claim adds where the source has none is not a swap (it may come from the article)
    assert swapped_names("It uses AAV9.", "It uses a viral vector.", empty, empty) == []
    letters = swapped_names("Hemgenix treats hemophilia A.", "Hemgenix treats hemophilia B.", empty, empty)
    assert [(d.claimed, d.source) for d in letters] == [("A", "B")]


def test_a_name_aligned_with_another_source_name_is_a_swapped_term() -> None:
    claim = _word_vectors(["child", "tanzania"], [[1, 0, 0], [0, 1, 0.2]])
    source = _word_vectors(["child", "from", "tunisia"], [[1, 0, 0], [0.7, 0.7, 0], [0, 1, 0]])
    text, said = "A child from Tanzania was ill.", "A child from Tunisia was ill."
    assert [(d.claimed, d.source) for d in swapped_names(text, said, claim, source)] == [("Tanzania", "Tunisia")]
    # below the cosine threshold the closest word is another word, not a swap (in a sentence whose words
    # do not put Tunisia in Tanzania's place: ``substituted_terms`` would)
    far = _word_vectors(["child", "tanzania"], [[1, 0, 0], [0.5, 0.5, 0.7]])
    reworded = "Doctors in Tunisia reported that a child was ill."
    assert swapped_names(text, reworded, claim, source) != []
    assert swapped_names(text, reworded, far, source, threshold=SWAP_ALIGNMENT) == []
    # the closest source word is not a name: no swap
    plain = _word_vectors(["child", "from", "abroad"], [[1, 0, 0], [0.7, 0.7, 0], [0, 1, 0]])
    assert swapped_names(text, "A child from abroad was ill.", claim, plain) == []


def test_changed_dates_and_swapped_terms_overrule_the_judge() -> None:
    assert {"number", "negation", "date", "term"} <= set(VETO_KINDS)


def test_another_form_of_the_same_name_is_not_a_swap() -> None:
    claim = _word_vectors(["iceland", "travel"], [[1, 0.1, 0], [0, 0, 1]])
    source = _word_vectors(["icelandic", "citizens"], [[1, 0, 0], [0, 1, 0]])
    assert swapped_names("Iceland's health office advised against travel.",
                         "The office advised Icelandic citizens against visits.", claim, source) == []
