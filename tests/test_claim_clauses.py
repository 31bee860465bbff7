"""Swapped roles across clauses (``check.roles``): hand-worked cases, then the checker on a real article."""

from __future__ import annotations

import pytest

from assistant.check.clauses import clauses, match_clauses, role_terms, swapped_roles

SOURCE = ("The NYVAC vector has been shown to induce CD4 + T cell-dominant responses, and MVA induces both "
          "CD4 + and CD8 + T cell responses.")


def test_clauses_are_cut_at_contrast_and_consequence_words() -> None:
    cut = clauses("MALAT1 binds SFPQ and thereby frees PTBP2 from the SFPQ/PTBP2 complex; it is a target.")
    assert [c.text for c in cut] == ["MALAT1 binds SFPQ", "frees PTBP2 from the SFPQ/PTBP2 complex",
                                     "it is a target."]
    assert "sfpq_ptbp2" in cut[1].words  # a slashed pair names one complex, not its two parts
    assert "sfpq" not in cut[1].words
    # a piece under three words is no clause, and "CD4 and CD8" is no cut
    assert [c.text for c in clauses("Both CD4 and CD8 cells respond, but weakly.")] == [
        "Both CD4 and CD8 cells respond"]
    # two sentences are two clauses (a candidate may be a pair of sentences); an abbreviation ends neither
    assert [c.text for c in clauses("NYVAC induces CD4 responses. MVA induces CD8 responses.")] == [
        "NYVAC induces CD4 responses.", "MVA induces CD8 responses."]
    assert len(clauses("The U.S. FDA approved it, e.g. Luxturna, in 2017 after trials.")) == 1


def test_role_terms_are_names_field_terms_and_direction_words() -> None:
    terms = role_terms("High-affinity BCRs of the NYVAC group bind monomeric antigen in the evening.")
    assert {"high", "bcrs", "nyvac", "monomeric"} <= terms
    assert not {"bind", "antigen", "evening", "group"} & terms


def test_two_names_that_trade_clauses_are_a_swapped_role() -> None:
    claim = ("MVA elicits mainly CD4+ T-cell-dominated responses, while NYVAC triggers both CD4+ and CD8+ "
             "T-cell responses.")
    found = swapped_roles(claim, SOURCE)
    # the claim's clause about MVA, and the source clause it matches, which says it of NYVAC
    assert [(d.kind, d.claimed, d.source) for d in found] == [
        ("role", "MVA elicits mainly CD4+ T-cell-dominated responses",
         "The NYVAC vector has been shown to induce CD4 + T cell-dominant responses")]


def test_terms_that_trade_sentences_of_a_pair_are_a_swapped_role() -> None:
    pair = "NYVAC induces CD4-dominant T cell responses. MVA induces both CD4 and CD8 T cell responses."
    swapped = "MVA induces CD4-dominant T cell responses. NYVAC induces both CD4 and CD8 T cell responses."
    assert [d.kind for d in swapped_roles(swapped, pair)] == ["role"]
    assert swapped_roles(pair, pair) == []


def test_clauses_in_another_order_say_the_same() -> None:
    claim = "MVA induces both CD4+ and CD8+ T-cell responses, whereas NYVAC induces CD4+ T-cell-dominant responses."
    assert swapped_roles(claim, SOURCE) == []
    assert swapped_roles(SOURCE, SOURCE) == []


def test_direction_words_that_trade_clauses_are_a_swapped_role() -> None:
    source = ("Receptors of high affinity bind the monomer at low doses, whereas receptors of low affinity need "
              "larger doses to compete with the tetramer.")
    swapped = ("Receptors of low affinity bind the monomer even at small doses, while receptors of high affinity "
               "need larger doses to compete with the tetramer.")
    assert [d.kind for d in swapped_roles(swapped, source)] == ["role"]
    assert swapped_roles(source.replace("whereas", "while"), source) == []


def test_a_swap_inside_one_clause_is_not_read_here() -> None:
    # "A activates B" / "B is activated by A" say the same; without a parser one clause is left alone
    assert swapped_roles("Casgevy activates dystrophin in muscle cells.",
                         "Dystrophin activates Casgevy in muscle cells.") == []


def test_clauses_match_only_when_one_source_clause_clearly_says_the_same() -> None:
    ours = clauses("Zolgensma treats infants with SMA, while Luxturna restores vision in patients.")
    theirs = clauses("Luxturna restores vision in patients, while Zolgensma treats infants with SMA.")
    assert match_clauses(ours, theirs, set()) == {0: 1, 1: 0}
    # nothing shared beyond one word: no match, so no swap can be read
    vague = clauses("Zolgensma is costly, while Luxturna is rare.")
    assert match_clauses(vague, theirs, {"zolgensma", "luxturna"}) == {}


ARTICLE = "003_165da83f7d69ab23.txt"


@pytest.mark.model
def test_the_checker_flags_two_therapies_swapped_between_clauses_of_a_real_article(judged_assistant) -> None:
    swapped = judged_assistant.check(
        "Genome editing tools such as CAR T-cell therapy enabled direct correction of mutations, while cell-based "
        "gene therapies like CRISPR-Cas9 combined gene modification and cell therapy to treat cancers "
        f"[1].\n\n[1] {ARTICLE}\n")
    claim = swapped.claims[0]
    assert claim.verdict == "mismatch"
    assert "role" in [d.kind for d in claim.differences]
    reordered = judged_assistant.check(
        "Cell-based gene therapies like CAR T-cell therapy combined gene modification and cell therapy to treat "
        "cancers, while genome editing tools such as CRISPR-Cas9 enabled direct correction of mutations "
        f"[1].\n\n[1] {ARTICLE}\n")
    assert reordered.claims[0].verdict in ("verbatim", "supported")


def test_an_opposite_word_is_read_against_the_clause_the_claim_restates() -> None:
    from assistant.check.clauses import clause_opposite
    from assistant.check.facts import opposite_word
    from assistant.lexical import words

    source = ("In the trial, the hospital stay was 3 days longer with the new drug; the intensive care stay "
              "was shorter for the patients who were treated early.")
    claim = "In the trial, the new drug shortened the hospital stay by 3 days."
    # the whole sentence also says "shorter", which hides the opposite there
    assert opposite_word(set(words(claim)), set(words(source))) is None
    assert [(d.kind, d.claimed, d.source) for d in clause_opposite(claim, source)] == [
        ("negation", "shortened", "longer")]
    # the clause it restates says the same: nothing
    assert clause_opposite("In the trial, the hospital stay was 3 days longer with the new drug.", source) == []
    # one clause on the source side: the whole-sentence rule decides
    assert clause_opposite(claim, "In the trial, the hospital stay was 3 days longer with the new drug.") == []
