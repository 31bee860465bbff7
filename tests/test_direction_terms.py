"""The checker's direction, everyday-term and negation-scope vetoes (``check/direction.py``,
``check/term_kinds.py``, ``facts.negated_words``), and an acronym of lower-case words, which is no
substituted term: pure functions on hand-made sentences."""

from __future__ import annotations

from assistant.check.direction import direction_words, reversed_direction
from assistant.check.facts import fact_differences, negated_words, negation_count
from assistant.check.term_kinds import kind_terms, swapped_kind_terms
from assistant.patterns import FALLING, KIND_TERMS, RISING


def _direction(claim: str, source: str) -> list[tuple[str, str]]:
    return [(d.claimed, d.source) for d in reversed_direction(claim, source)]


def test_a_reversed_direction_about_the_same_thing_is_read() -> None:
    assert _direction("The ventricles of the mutant mice were substantially smaller than those of wild types.",
                      "The mutant mice had substantially larger ventricles than wild types.") == [("smaller", "larger")]
    # other words for the two directions: "slower" against "more rapid"
    assert _direction("Immunity may favour slower within-host transmission.",
                      "Immunity may facilitate more rapid within-host transmission rates.") == [("slower", "more")]
    assert _direction("The drug was 8 to 22 times more active than acyclovir.",
                      "Its activity was 8- to 22-fold lower than that of the reference drug acyclovir.") == [
        ("more", "lower")]


def test_no_direction_is_read_where_the_two_point_at_different_things() -> None:
    # "reduced mortality" says "increased survival": the words point at mortality and survival
    assert _direction("The drug reduced mortality in treated mice.", "The drug increased survival in treated mice.") == []


def test_a_bound_on_a_quantity_is_no_direction() -> None:
    _, up, down = direction_words("More than 50 patients had lower counts.")
    assert up == set() and down == {"lower"}
    assert _direction("More than 50 patients had low counts.", "Over 50 patients had lower counts.") == []


def test_a_side_saying_both_directions_is_not_read() -> None:
    # the source says both a rise and a fall: which one the claim restates is not for a word list to tell
    assert _direction("Cytokine levels increased.", "IL-6 levels increased while IL-10 levels decreased.") == []
    assert _direction("The same result.", "The same result.") == []


def test_the_direction_lists_do_not_overlap() -> None:
    assert not RISING & FALLING


def test_an_everyday_term_swapped_for_another_of_its_kind_is_read() -> None:
    diffs = swapped_kind_terms("Manidipine lowered the viral load in the liver.",
                               "Manidipine decreased the viral load in the brain.")
    assert [(d.kind, d.claimed, d.source) for d in diffs] == [("term", "liver", "brain")]
    assert [d.claimed for d in swapped_kind_terms("Symptoms included fever and vomiting.",
                                                  "Symptoms included fever and diarrhoea.")] == ["vomiting"]
    assert [d.claimed for d in swapped_kind_terms("It was grown in duck eggs.", "It was grown in chicken eggs.")] == [
        "duck"]


def test_other_forms_and_plain_synonyms_of_a_term_are_no_swap() -> None:
    assert kind_terms("hepatic and renal damage") == {"organ": {"liver", "kidney"}}
    assert swapped_kind_terms("RNA was found in stool samples.", "RNA was found in faeces.") == []
    assert swapped_kind_terms("It caused hepatic injury.", "It injured the liver.") == []
    # a term the claim adds while the source names none of its kind is for the judge, not this rule
    assert swapped_kind_terms("Mice had fever.", "Mice were infected.") == []
    # a term the sentences before the source name is not a swap
    assert swapped_kind_terms("The virus reached the brain.", "It then reached the liver.",
                              context="The virus first infected the brain.") == []


def test_every_kind_term_form_is_listed_once() -> None:
    forms = [form for members in KIND_TERMS.values() for member in members for form in member.split("|")]
    assert len(forms) == len(set(forms))


def test_data_not_shown_is_no_negation() -> None:
    source = "The assay did not show any cross-reactivity with anti-HIV samples (data not shown)."
    assert negation_count(source) == 1
    # a light verb is skipped: the negation bears on the noun after it
    assert negated_words(source) == ["cross-reactivity"]
    diffs = fact_differences("The assay cross-reacted with anti-HIV samples.", source)
    assert [d.kind for d in diffs] == ["negation"]


def test_a_light_verb_with_no_content_word_after_it_is_what_is_negated() -> None:
    assert negated_words("Gene therapy has not yet been shown to be safe.") == ["shown"]
    diffs = fact_differences("In vivo gene therapy has not yet been shown to be safe in humans.",
                             "In vivo gene therapy has shown to be safe in humans.")
    assert [d.kind for d in diffs] == ["negation"]


def test_absence_and_missing_are_negations() -> None:
    # "lack of" and "missing" say the same: no difference; before, "lack" alone was read as a negation
    assert [d.kind for d in fact_differences(
        "Missing measles vaccination raises the odds of pneumonia.",
        "Lack of measles vaccination increases the odds of pneumonia.")] == []
    assert negation_count("the absence of fever") == 1


def test_an_acronym_of_lower_case_words_in_a_row_is_no_substitution() -> None:
    from assistant.check.facts import tokens
    from assistant.check.support import spells_out, substituted_terms

    assert spells_out("SMA", tokens("treating spinal muscular atrophy in infants"))
    assert not spells_out("SM", tokens("spinal muscular atrophy"))  # two lower-case initials match too much
    assert not spells_out("RSV", tokens("rhinovirus and syncytial virus"))
    assert substituted_terms("Approved therapies now treat blindness, SMA and hemophilia.",
                             "Approved therapies now treat blindness, spinal muscular atrophy and hemophilia.") == []

