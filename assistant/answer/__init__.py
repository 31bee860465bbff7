"""Answer: retrieve chunks (dense, BM25, hybrid), score their sentences and compose a cited ``Answer``.

Stage 3 of the pipeline (retrieve → answer). ``abstention`` decides when the documents do not answer,
and why; ``conversation`` resolves short follow-up questions.
"""

from assistant.answer.abstention import abstain_threshold, abstention
from assistant.answer.answering import (
    AnswerOptions,
    answer_question,
    display_text,
    validate_question,
)
from assistant.answer.conversation import resolve_follow_up
from assistant.answer.retrieval import retrieve

__all__ = ["AnswerOptions", "abstain_threshold", "abstention", "answer_question", "display_text", "resolve_follow_up",
           "retrieve", "validate_question"]
