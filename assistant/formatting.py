"""Pure formatting of answers for the terminal (and, later, the browser)."""

from __future__ import annotations

from assistant.models import Answer


def format_answer_text(answer: Answer) -> str:
    """A readable plain-text answer: the text, the confidence, then one line per citation."""
    if answer.abstained:
        return f"The documents don't say. ({answer.reason}; confidence {answer.confidence:.2f})"
    lines = [answer.text, "", f"confidence {answer.confidence:.2f}"]
    for citation in answer.citations:
        lines.append(f"[{citation.marker}] {citation.doc} ({citation.title}), characters "
                     f"{citation.start}-{citation.end}")
    return "\n".join(lines)
