"""Pure formatting of answers for the terminal (and, later, the browser)."""

from __future__ import annotations

from assistant.models import Answer, CheckReport


def format_answer_text(answer: Answer) -> str:
    """A readable plain-text answer: the text, the confidence, then one line per citation (with the
    phrase that answers a short-fact question, when the cited sentence holds one)."""
    searched = ""
    if answer.searched_question and answer.searched_question != answer.question:
        searched = f"(searched for: {answer.searched_question})\n"
    if answer.abstained:
        return f"{searched}The documents don't say: {answer.reason}. (confidence {answer.confidence:.2f})"
    lines = [searched + answer.text, "", f"confidence {answer.confidence:.2f}"]
    if answer.unmatched:
        lines.append(unmatched_note(answer.unmatched))
    for citation in answer.citations:
        phrase = f', answer "{citation.answer_phrase}"' if citation.answer_phrase else ""
        date = date_label(citation.date, citation.date_source)
        lines.append(f"[{citation.marker}] {citation.doc} ({citation.title}{date}), "
                     f"characters {citation.start}-{citation.end}{phrase}")
    for conflict in answer.conflicts:
        lines.append(f"Sources disagree ({conflict.detail}), newest first:")
        lines.extend(f"  {side.title}{date_label(side.date, side.date_source) or ', undated'}: "
                     f"\"{' '.join(side.quote.split())}\"" for side in conflict.sides)
    return "\n".join(lines)


def unmatched_note(words: list[str]) -> str:
    """The warning an answer carries when its citations never say some specific words of the question."""
    return (f"Not in the cited text: {', '.join(words)}. The answer may be about something close to what "
            f"was asked; check the citations.")


def date_label(date: str | None, source: str | None) -> str:
    """", 2014-06-21" for a document's date, ", file date 2026-12-02" when only the file's time
    gave it, "" when unknown."""
    if not date:
        return ""
    return f", file date {date}" if source == "file" else f", {date}"


VERDICT_COLOURS = {"verbatim": "32", "supported": "32", "mismatch": "31", "wrong-source": "33",
                   "unsupported": "31", "uncited": "35"}


def format_check_report(report: CheckReport, colour: bool = False) -> str:
    """A readable citation-check report: one block per claim, then errors and totals."""
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    lines = []
    for claim in report.claims:
        marks = "".join(f"[{m}]" for m in claim.markers)
        lines.append(f"{claim.index:>3}. {paint(claim.verdict.upper(), VERDICT_COLOURS[claim.verdict])} "
                     f"{claim.text} {marks}".rstrip())
        for diff in claim.differences:
            lines.append(f"       {diff.kind}: source says \"{diff.source}\", claim says \"{diff.claimed}\"")
        if claim.evidence is not None:
            lines.append(f"       evidence: {claim.evidence.doc} {claim.evidence.start}-{claim.evidence.end}: "
                         f"\"{' '.join(claim.evidence.text.split())[:200]}\" (similarity {claim.similarity:.2f})")
        if claim.note:
            lines.append(f"       {claim.note}")
    for error in report.errors:
        lines.append(paint(f"error: {error}", "31"))
    totals = ", ".join(f"{n} {v}" for v, n in report.counts.items() if n)
    lines.append(f"{len(report.claims)} claims: {totals or 'none'} -> {'OK' if report.ok else 'NOT OK'}")
    return "\n".join(lines)
