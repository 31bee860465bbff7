"""Follow-up questions: resolve "How much does it cost?" against the previous question's subject."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from assistant.answer.scoring import entity_terms
from assistant.lexical import QUESTION_WORDS, STOP_WORDS, stem, words
from assistant.models import Answer
from assistant.patterns import QUESTION_TOKEN

_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|him|her|his)\b", re.I)
_FOLLOW_UP_MAX_WORDS = 8


def subject_of(question: str, document_frequency: Mapping[str, int] | None = None) -> str:
    """The subject of a question: its names (Zolgensma, AAV9) in their original spelling, or
    else its rarest content words known to the collection."""
    tokens = QUESTION_TOKEN.findall(question)
    names = set(entity_terms(question))
    subject = [t for t in tokens if t.lower() in names]
    if subject:
        return " ".join(dict.fromkeys(subject))
    content = [t for t in tokens if t.lower() not in STOP_WORDS and t.lower() not in QUESTION_WORDS]
    if document_frequency:
        known = [t for t in content if document_frequency.get(stem(t.lower()), 0) > 0]
        rarest = set(sorted(known, key=lambda t: document_frequency.get(stem(t.lower()), 0))[:3])
        content = [t for t in known if t in rarest]  # keep the question's word order
    return " ".join(content[:3])


def is_follow_up(question: str) -> bool:
    """A short question that points back with a pronoun and names nothing itself."""
    return (len(words(question)) <= _FOLLOW_UP_MAX_WORDS and bool(_PRONOUN.search(question))
            and not entity_terms(question))


def resolve_follow_up(question: str, previous: Sequence[str],
                      document_frequency: Mapping[str, int] | None = None) -> str:
    """The question to search for: a follow-up gets the previous question's subject in place of
    its first pronoun ("How much does it cost?" -> "How much does Zolgensma cost?"); any other
    question is returned unchanged."""
    if not previous or not is_follow_up(question):
        return question
    subject = subject_of(previous[-1], document_frequency)
    if not subject:
        return question
    match = _PRONOUN.search(question)
    assert match is not None
    if match.group(0).lower() in ("its", "their", "his", "her"):
        replacement = f"{subject}'" if subject.endswith("s") else f"{subject}'s"
    else:
        replacement = subject
    return question[: match.start()] + replacement + question[match.end():]


def ask_in_conversation(ask: Callable[[str], Answer], question: str, asked: list[str],
                        document_frequency: Mapping[str, int] | None = None) -> Answer:
    """One turn of a conversation, the same in the browser and the terminal: resolve a follow-up
    against the questions searched so far (``asked``), answer the searched question with ``ask``,
    append it to ``asked``, and return the answer with the question as typed and, when they
    differ, the one searched for (``searched_question``)."""
    searched = resolve_follow_up(question, asked, document_frequency)
    answer = ask(searched)
    asked.append(searched)
    return answer.model_copy(update={"question": question.strip(), "searched_question": searched})
