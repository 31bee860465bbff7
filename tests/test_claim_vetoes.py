"""The checker's rule-found differences that overrule the claim head: variant letters, swapped terms,
negations said in other words, scaled units, and a pair keeping its first sentence's swaps."""

from __future__ import annotations

import numpy as np

from assistant.check.facts import fact_differences, letters, names, numbers_with_units, tokens
from assistant.check.support import (
    NEGATION_ALIGNMENT,
    SupportCandidate,
    aligned_negation,
    keep_first_sentence_swaps,
    swapped_names,
)
from assistant.index.word_vectors import WordVectors
from assistant.lexical import american_spelling, place_forms, same_place
from assistant.models import Difference, Sentence


def _vectors(words: list[str], rows: list[list[float]]) -> WordVectors:
    matrix = np.asarray(rows, dtype=np.float32)
    return WordVectors(tuple(words), matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def test_a_variant_letter_follows_a_lower_case_word() -> None:
    assert letters("It treats hemophilia A, not type B.") == {"A", "B"}
    # an article after a dash or opening a sentence names no variant
    assert letters("Casgevy – A CRISPR-based therapy. A second one.") == set()
    assert "A" not in names("Casgevy – A CRISPR-based therapy for sickle cell disease.")
    assert "A" in names("Roctavian treats hemophilia A.")


def test_a_variant_letter_the_source_writes_only_as_an_article_is_a_swap() -> None:
    empty = WordVectors((), np.zeros((0, 2), np.float32))
    diffs = swapped_names("Casgevy is approved for hemophilia A.",
                          "Casgevy – A CRISPR-based therapy approved for hemophilia B.", empty, empty)
    assert [(d.claimed, d.source) for d in diffs] == [("A", "B")]
    facts = fact_differences("Casgevy treats hemophilia A.", "Casgevy – A CRISPR-based therapy for sickle cell disease.")
    assert ("name", "A") in [(d.kind, d.claimed) for d in facts]


def test_a_field_term_aligned_with_another_field_term_is_a_swap() -> None:
    claim = _vectors(["silencing", "dystrophin", "gene"], [[1, 0, 0], [0, 1, 0.1], [0, 0, 1]])
    source = _vectors(["silencing", "transthyretin", "gene"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    diffs = swapped_names("Silencing the dystrophin gene treats it.", "Silencing the transthyretin gene treats it.",
                          claim, source)
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("term", "dystrophin", "transthyretin")]
    # everyday words said otherwise are a paraphrase, however close their vectors
    claim = _vectors(["workers", "female"], [[1, 0], [0, 1]])
    source = _vectors(["workers", "women"], [[1, 0], [0.1, 1]])
    assert swapped_names("Most workers were female.", "Most workers were women.", claim, source) == []


def test_an_acronym_for_the_claims_words_is_not_a_swap() -> None:
    claim = _vectors(["cytoplasmic", "loop"], [[1, 0.1], [0, 1]])
    source = _vectors(["cp", "loop"], [[1, 0], [0, 1]])
    assert swapped_names("Cys86 in the cytoplasmic loop binds it.", "Cys86 in the CP loop binds it.", claim,
                         source) == []


def test_a_negation_on_one_side_of_a_word_said_otherwise_is_found() -> None:
    claim = _vectors(["ntcp", "enough"], [[1, 0, 0], [0, 1, 0.2]])
    source = _vectors(["ntcp", "itself", "sufficient"], [[1, 0, 0], [0.5, 0, 0.8], [0, 1, 0]])
    diffs = aligned_negation("NTCP is enough for infection.", "NTCP itself is not sufficient for infection.",
                             claim, source)
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("negation", "enough", "not sufficient")]
    # the claim negates too: a reworded negation, not a flip
    assert aligned_negation("NTCP is not enough for infection.", "NTCP itself is not sufficient for infection.",
                            claim, source) == []
    # the negated word has nothing close on the other side
    far = _vectors(["ntcp", "enough"], [[1, 0, 0], [0, 0.3, 1]])
    assert aligned_negation("NTCP is enough for infection.", "NTCP itself is not sufficient for infection.",
                            far, source, threshold=NEGATION_ALIGNMENT) == []


def test_a_bound_on_a_count_is_not_a_negation() -> None:
    claim = _vectors(["biotinylated", "one", "biotin"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    source = _vectors(["biotinylated", "1", "biotin"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert aligned_negation("Antigens are biotinylated at no more than one biotin.",
                            "Antigens are biotinylated at 1 biotin.", claim, source) == []


def test_decades_are_counted_in_years() -> None:
    assert numbers_with_units("for more than three decades") == [("30", "years")]
    assert numbers_with_units("for 2 decades") == [("20", "years")]
    assert fact_differences("For more than three decades, PIV5 has been in vaccines.",
                            "PIV5 has been in vaccines for >30 years.") == []


def test_opposite_words_are_a_negation_in_any_of_their_forms() -> None:
    assert fact_differences("IFITM3 was localized to early endosomes.", "IFITM3 was localized to late endosomes.") == [
        Difference(kind="negation", claimed="early", source="late")]
    assert fact_differences("Rapid PCR shortened the stay.", "With rapid PCR the stay was longer.") == [
        Difference(kind="negation", claimed="shortened", source="longer")]
    assert Difference(kind="negation", claimed="upregulated", source="downregulated") in fact_differences(
        "The gene was upregulated in women.", "The gene was downregulated in women.")


def test_a_sentence_saying_both_opposites_is_not_contradicted_by_one() -> None:
    assert fact_differences("The stay was shorter with PCR.",
                            "The stay was shorter with PCR but longer without it.") == []


def _sentence(sentence_id: int, text: str) -> Sentence:
    return Sentence(sentence_id=sentence_id, doc_id="d.txt", start=0, end=len(text), text=text)


def test_a_pair_keeps_the_terms_its_first_sentence_swapped() -> None:
    first, second = _sentence(1, "Hemgenix treats hemophilia B."), _sentence(2, "Roctavian treats hemophilia A.")
    swap = Difference(kind="term", claimed="A", source="B")
    alone = SupportCandidate([first], first.text, 0.9, 0.9, differences=[swap])
    other = SupportCandidate([second], second.text, 0.5, 0.5)
    pair = SupportCandidate([first, second], f"{first.text} {second.text}", 0.9, 0.9,
                            differences=[Difference(kind="name", claimed="Roctavian", source="Hemgenix")])
    later = SupportCandidate([second, _sentence(3, "It is given once.")], "...", 0.4, 0.4)
    keep_first_sentence_swaps([alone, other, pair, later])
    assert [d.kind for d in pair.differences] == ["name", "term"]
    assert later.differences == []  # its first sentence swapped nothing


def test_a_genus_initial_is_not_a_variant_letter() -> None:
    assert letters("Toxins of C. difficile and B. subtilis differ.") == set()


def test_a_code_holding_the_other_is_a_variant_not_a_swap() -> None:
    empty = WordVectors((), np.zeros((0, 2), np.float32))
    assert swapped_names("The rAd5 vaccine failed.", "The Ad5 vaccine failed.", empty, empty) == []
    diffs = swapped_names("IFITM5 is palmitoylated.", "IFITM3 is palmitoylated.", empty, empty)
    assert [(d.claimed, d.source) for d in diffs] == [("IFITM5", "IFITM3")]


def test_a_claim_that_changes_the_sentence_it_restates_is_contradicted() -> None:
    from assistant.check.support import RESTATED_OVERLAP, contradicted

    said = _sentence(1, "Adjustment for asthma weakened the relationship.")
    nearby = _sentence(5, "We studied asthma and obesity.")
    negated = Difference(kind="negation", claimed="not weaken", source="weaken")
    restated = SupportCandidate([said], said.text, 0.7, 0.8, differences=[negated])
    preferred = SupportCandidate([nearby], nearby.text, 0.8, 0.4, probability=0.9)
    assert contradicted([preferred, restated]) is restated
    # a name the sentence lacks does not overrule the judge
    restated.differences = [Difference(kind="name", claimed="COPD", source="(not named)")]
    assert contradicted([preferred, restated]) is None
    # the closest sentence holds too few of the claim's words to be the one it restates
    restated.differences, restated.lexical = [negated], RESTATED_OVERLAP - 0.1
    assert contradicted([preferred, restated]) is None
    assert contradicted([]) is None


def test_the_checker_flags_a_variant_letter_swapped_in_a_real_article(shared_assistant) -> None:
    article = "002_8327220291109cc9.txt"
    report = shared_assistant.check("Hemgenix delivers factor IX genes to liver cells via AAV5, treating "
                                    f"hemophilia A [1].\n\n[1] {article}\n")
    claim = report.claims[0]
    assert claim.verdict == "mismatch"
    assert ("A", "B") in [(d.claimed, d.source) for d in claim.differences]
    kept = shared_assistant.check("Hemgenix delivers factor IX genes to liver cells via AAV5, treating "
                                  f"hemophilia B [1].\n\n[1] {article}\n")
    assert kept.claims[0].verdict in ("verbatim", "supported")


def test_a_field_term_put_in_the_sources_frame_is_substituted() -> None:
    from assistant.check.support import substituted_terms

    diffs = substituted_terms("For example, silencing the dystrophin gene treats hereditary amyloidosis.",
                              "For example, silencing the transthyretin gene treats hereditary amyloidosis.")
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("term", "dystrophin", "transthyretin")]
    multi = substituted_terms("He died during a gene therapy study for severe combined immunodeficiency.",
                              "He died during a gene therapy study for ornithine transcarbamylase deficiency.")
    assert [(d.claimed, d.source) for d in multi] == [("severe combined immunodeficiency",
                                                      "ornithine transcarbamylase deficiency")]


def test_everyday_rewording_acronyms_and_word_forms_are_not_substitutions() -> None:
    from assistant.check.support import substituted_terms

    assert substituted_terms("Most of the workers were female in the survey.",
                             "Most of the workers were women in the survey.") == []
    assert substituted_terms("Adjusting for chronic obstructive pulmonary disease weakened it.",
                             "Adjusting for COPD weakened it.") == []
    assert substituted_terms("Mice that were unprimed responded more.", "Mice that were primed responded more.") == []
    # a rewording longer than a term is not a term put in place of another
    assert substituted_terms("He died in a study for rare severe combined immunodeficiency disorders today.",
                             "He died in a study for ornithine transcarbamylase deficiency today.") == []


def test_an_acronym_the_claim_spells_out_is_not_a_substitution() -> None:
    from assistant.check.support import spells_out, substituted_terms

    assert spells_out("NIAID", tokens("the National Institute of Allergy and Infectious Diseases lists it"))
    assert spells_out("CDCs", tokens("the Centers for Disease Control"))
    assert not spells_out("RSV", tokens("rhinovirus and syncytial virus"))  # lower-case words name nothing
    assert not spells_out("AAV9", tokens("Adeno Associated Virus 9"))  # a code is no acronym
    claim = ("The National Institute of Allergy and Infectious Diseases lists hantavirus as a Category A "
             "priority pathogen.")
    source = ("Hantavirus, a rodent-borne pathogen listed by National Institute of Allergy and Infectious Diseases "
              "(NIAID) as a Category A Priority Pathogen, causes disease.")
    assert substituted_terms(claim, source) == []
    # a term put in the place of another is still one
    swapped = substituted_terms("For example, silencing the dystrophin gene treats hereditary amyloidosis.",
                                "For example, silencing the transthyretin gene treats hereditary amyloidosis.")
    assert [d.claimed for d in swapped] == ["dystrophin"]


def test_a_decimal_number_is_compared_as_a_number_not_as_a_rare_word() -> None:
    diffs = fact_differences("The reproduction number was estimated at 2.56 in January.",
                             "The reproduction number was estimated at 2.49 in January.")
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("number", "2.56", "2.49")]


def test_one_word_in_british_and_american_spelling_is_not_a_swap() -> None:
    assert american_spelling("haemophilia") == "hemophilia" and american_spelling("tumour") == "tumor"
    assert american_spelling("haematopoietic") == "hematopoietic"  # a Greek root breame's list lacks
    assert american_spelling("oedema") == "edema" and american_spelling("septicaemia") == "septicemia"
    assert american_spelling("aerosol") == "aerosol" and american_spelling("gene") == "gene"
    claim = _vectors(["haemophilia", "patients"], [[1, 0.1], [0, 1]])
    source = _vectors(["hemophilia", "patients"], [[1, 0], [0, 1]])
    assert swapped_names("Roctavian treats haemophilia patients.", "Roctavian treats hemophilia patients.", claim,
                         source) == []
    assert not [d for d in fact_differences("The haematopoietic stem cells were collected.",
                                            "The hematopoietic stem cells were collected.") if d.kind == "name"]
    # a field term swapped for another is still one
    claim = _vectors(["leukaemia", "patients"], [[1, 0.1], [0, 1]])
    source = _vectors(["hemophilia", "patients"], [[1, 0], [0, 1]])
    assert [d.kind for d in swapped_names("It treats leukaemia patients.", "It treats hemophilia patients.", claim,
                                          source)] == ["term"]


def test_opposites_in_other_word_forms_are_a_negation() -> None:
    # a verb against a noun, a raise against a reduction (blind set A, tcl-025 and gbc-038 were passed)
    diffs = fact_differences("Blocking MKP-1 significantly increased the levels of TNF-alpha.",
                             "When MKP-1 was blocked, there was a significant decrease in the levels of TNF-alpha.")
    assert ("negation", "increased", "decrease") in [(d.kind, d.claimed, d.source) for d in diffs]
    diffs = fact_differences("The design sharply raises the chance of activating oncogenes.",
                             "The design deletes the enhancers, substantially reducing the risk of activating oncogenes.")
    assert [d.kind for d in diffs] == ["negation"]
    assert fact_differences("The trials showed substantial reductions in crises.",
                            "The trials showed substantial reductions in crises.") == []
    # a claim using both sides of a pair, where the source says one, is still caught
    assert [d.kind for d in fact_differences("It improved the efficacy but reduced the safety.",
                                             "It improved the efficacy and also the safety.")] == ["negation"]


def test_a_country_and_its_adjective_name_one_place() -> None:
    assert same_place("Ireland", "Irish") and same_place("chinese", "China") and same_place("Dutch", "Netherlands")
    assert not same_place("Ireland", "Scottish") and not same_place("Yunnan", "Sichuan")
    assert not same_place("us", "US")  # two-letter codes are no forms (us is a pronoun)
    assert {"ireland", "irish"} <= place_forms("Irish") and place_forms("hepcidin") == frozenset()
    claim, source = "Samples came from 24 counties of Ireland.", "Samples came from 24 Irish counties."
    words = _vectors(["counties", "ireland"], [[1, 0], [0, 1]])
    irish = _vectors(["irish", "counties"], [[0.1, 1], [1, 0]])
    assert swapped_names(claim, source, words, irish) == []
    assert "name" not in [d.kind for d in fact_differences(claim, source)]
    # another country's adjective is still another name
    assert ("name", "Ireland") in [(d.kind, d.claimed) for d in fact_differences(claim, "Samples came from 24 Scottish counties.")]


def test_a_swapped_name_is_compared_with_the_source_words_the_claim_does_not_say() -> None:
    claim = "The strain was isolated in 2005 in China's Yunnan province."
    source = "The strain was isolated in the Sichuan province of China in 2005."
    # Yunnan's closest source word is China, which the claim says too: Sichuan is what it replaced
    claim_words = _vectors(["strain", "china", "yunnan", "province"], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0.8, 0.6, 0],
                                                                       [0, 0, 0, 1]])
    source_words = _vectors(["strain", "sichuan", "province", "china"], [[1, 0, 0, 0], [0, 0.5, 0.86, 0],
                                                                        [0, 0, 0, 1], [0, 1, 0, 0]])
    diffs = swapped_names(claim, source, claim_words, source_words)
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("term", "Yunnan", "Sichuan")]
    # a source saying only what the claim says has nothing the name could have replaced
    assert swapped_names(claim, "The strain was isolated in China in 2005.", claim_words,
                         _vectors(["strain", "china"], [[1, 0, 0, 0], [0, 1, 0, 0]])) == []


def test_a_number_joined_to_lower_case_words_is_a_quantity_not_a_name() -> None:
    assert names("It raises the odds 1.6-fold in 3-year-old children with COVID-19 and 2019-nCoV.") == {
        "COVID-19", "2019-nCoV"}
    assert "name" not in [d.kind for d in fact_differences(
        "Pollution raises the odds of pneumonia 1.6-fold.", "Pollution increases odds of pneumonia by 1.6 times.")]


def test_medical_words_in_british_spelling_are_one_word() -> None:
    assert american_spelling("amoebiasis") == "amebiasis" and american_spelling("coeliac") == "celiac"
    empty = WordVectors((), np.zeros((0, 2), np.float32))
    assert swapped_names("Chloroquine treats malaria and amoebiasis.", "CQ treats malaria and amebiasis.",
                         empty, empty) == []
