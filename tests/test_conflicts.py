"""Sources that disagree (``check/conflicts.py``): hand-computed pairs, and an answer over two dated
documents that conflict carries a ``conflicts`` field, newest side first."""

from __future__ import annotations

from pathlib import Path

from assistant.check.conflicts import find_conflicts, negation_conflict, number_conflict, same_subject
from assistant.models import ConflictSide
from conftest import REPO, make_assistant

CONFLICT_CORPUS = REPO / "tests" / "data" / "conflict_corpus"
OLD = "Luxturna has not been approved by the FDA."
NEW = "The FDA approved Luxturna in December 2017 for an inherited retinal disease."


def side(doc: str, quote: str, date: str | None = None, cited: bool = False) -> ConflictSide:
    return ConflictSide(doc=doc, title=doc.upper(), start=0, end=len(quote), quote=quote, date=date, cited=cited)


def test_same_subject_needs_a_shared_name_and_most_terms() -> None:
    assert same_subject(OLD, NEW)  # Luxturna, FDA, approv: all 3 of the shorter one's terms
    assert not same_subject(OLD, "Zolgensma has not been approved in Japan.")  # no shared name
    assert not same_subject(OLD, "Luxturna is injected under the retina in a single operation.")


def test_negation_and_number_conflicts_by_hand() -> None:
    assert negation_conflict(NEW, OLD) == "“approved” / “not approved”"
    assert negation_conflict(OLD, NEW) == "“not approved” / “approved”"
    assert negation_conflict(NEW, "The FDA approved Luxturna after a review.") is None
    assert number_conflict("Zolgensma costs 2.1 million dollars.", "Zolgensma costs 1.9 million dollars.") == (
        "“2.1 million” / “1.9 million”")
    same = "Zolgensma cost 2.1 million dollars in 2019."
    assert number_conflict("Zolgensma costs 2.1 million dollars.", same) is None
    # bare numbers (years, counts) are too often about different events
    assert number_conflict("Luxturna was tested in 2007.", "Luxturna was approved in 2017.") is None
    # the number of a name is no quantity: IL-6 and IL-8 are two cytokines, not "6 levels" against "8 levels"
    assert number_conflict("IL-6 levels rose in the treated mice.", "IL-8 levels rose in the treated mice.") is None


def test_find_conflicts_orders_sides_newest_first_and_needs_a_cited_side() -> None:
    old, new = side("a", OLD, "2014-06-21", cited=True), side("b", NEW, "2018-01")
    price_a = side("c", "Zolgensma costs 2.1 million dollars.")
    price_b = side("d", "Zolgensma costs 1.9 million dollars.")
    conflicts = find_conflicts([old, new, price_a, price_b])
    assert len(conflicts) == 1  # the price pair has no cited side
    conflict = conflicts[0]
    assert conflict.kind == "negation" and conflict.subject == "Luxturna FDA"
    assert [s.doc for s in conflict.sides] == ["b", "a"] and conflict.detail == "“approved” / “not approved”"
    # without any cited side every pair counts; undated sides come last
    conflicts = find_conflicts([price_a, side("d", price_b.quote, "2020")])
    assert len(conflicts) == 1 and conflicts[0].kind == "number" and [s.doc for s in conflicts[0].sides] == ["d", "c"]
    # one document cannot disagree with itself
    assert find_conflicts([side("a", OLD, cited=True), side("a", NEW)]) == []


def test_an_answer_over_conflicting_dated_documents_says_so(tmp_path: Path) -> None:
    assistant = make_assistant(CONFLICT_CORPUS, tmp_path / "index")
    assistant.build()
    answer = assistant.ask("Has Vorelix been approved by the FDA?")
    assert not answer.abstained and answer.conflicts, answer
    conflict = answer.conflicts[0]
    assert [(s.doc, s.date) for s in conflict.sides] == [("vorelix_news_2019.txt", "2019-06-05"),
                                                          ("vorelix_review_2014.html", "2014-03-02")]
    assert "not been approved" in conflict.sides[1].quote and "approved Vorelix" in conflict.sides[0].quote
    assert any(s.cited for s in conflict.sides)
    assert "conflicts" in answer.model_dump(mode="json")
    # a question the two documents agree on has no conflict
    assert assistant.ask("Where is Vorelix injected?").conflicts == []
