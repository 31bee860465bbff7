"""Whether to abstain, and why: the one place that decides it.

``abstention`` decides for one question from its best candidate sentence and says why in one line;
``merged_abstention`` decides for a question answered in parts (``multipart``); ``abstain_threshold``
is the confidence below which an answer abstains. Answering, two-part merging, the eval's naive
baseline and the facade (which reports the threshold in eval reports) all ask here.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer.candidates import Candidate, context_terms
from assistant.answer.judge import Judge
from assistant.answer.scoring import confidence, expected_answer_type
from assistant.index.store import LoadedIndex
from assistant.lexical import key_words, stem
from assistant.models import Answer
from assistant.patterns import display_text

RULES_THRESHOLD = 0.5  # for the rule-based confidence (``ASSISTANT_JUDGE=rules``)


def abstain_threshold(setting: float | None, judge: Judge | None) -> float:
    """The confidence below which an answer abstains: the setting when given, else the judge's own
    threshold (chosen by cross-validation), else ``RULES_THRESHOLD`` for the rule scores."""
    if setting is not None:
        return setting
    return judge.answer.threshold if judge is not None else RULES_THRESHOLD


def rule_confidence(candidate: Candidate) -> float:
    """The hand-weighted confidence (``scoring.confidence``) that ``candidate`` answers the question."""
    return confidence(candidate.dense, candidate.passage_dense, candidate.context_coverage, candidate.type_match,
                      bool(candidate.missing_entity))


def abstention(question: str, best: Candidate | None, threshold: float, index: LoadedIndex,
               abstain: bool = True, relevance: float | None = None, gate: float = 0.0) -> tuple[float, str | None]:
    """``(confidence, reason)`` for answering with ``best``, the top candidate: the judge's probability
    when it read it, else the rule-based confidence; ``reason`` is None to answer, else why the documents
    do not answer (one line). Without a candidate it always abstains; else when ``abstain`` and the
    confidence is below ``threshold``, or the ``relevance`` (the rule confidence of the best rule-scored
    candidate, given with a judge) is below the judge's topic ``gate``."""
    if best is None:
        return 0.0, "no passage in the documents matches the question"
    conf = best.probability if best.probability is not None else rule_confidence(best)
    if not abstain or (conf >= threshold and (relevance is None or relevance >= gate)):
        return conf, None
    return conf, _reason(question, best, index)


def _reason(question: str, best: Candidate, index: LoadedIndex) -> str:
    """A one-line explanation of why the documents do not answer the question."""
    if best.missing_entity:
        return (f"no passage about {', '.join(best.missing_entity)} answers it "
                f"(nearest: \"{display_text(best.sentence.text)[:120]}\")")
    if not best.type_match:
        kind = expected_answer_type(question)
        return (f"the closest passages are about the subject but give no {kind}; "
                f"nearest: \"{display_text(best.sentence.text)[:120]}\"")
    context = context_terms(index, best.sentence)
    asked = dict.fromkeys(key_words(question, drop_question_words=True))
    missing = [word for word in asked if stem(word) not in context]
    if best.dense < 0.25 and best.context_coverage < 0.2:
        return "the question does not match anything in the documents"
    if missing:
        return f"the closest passage does not mention {', '.join(missing[:4])}"
    return f"the closest sentence matches the question only weakly ({best.score:.2f})"


def merged_abstention(parts: Sequence[str], answers: Sequence[Answer]) -> tuple[bool, float, str | None]:
    """``(abstained, confidence, reason)`` for a question answered in ``parts`` (``answers`` in the same
    order): it abstains only when every part does. Answered, the confidence is the lowest of the answered
    parts and ``reason`` names the parts not covered (None when all are); abstained, the confidence is
    the highest and ``reason`` joins every part's reason."""
    answered = [a for a in answers if not a.abstained]
    missing = [(p, a) for p, a in zip(parts, answers) if a.abstained]
    if answered:
        reason = ("the documents don't cover: " + "; ".join(f"\"{p}\" ({a.reason})" for p, a in missing)
                  if missing else None)
        return False, min(a.confidence for a in answered), reason
    reason = "; ".join(f"\"{p}\": {a.reason}" for p, a in missing)
    return True, max((a.confidence for a in answers), default=0.0), reason
