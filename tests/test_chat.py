"""Follow-up questions in a conversation: the terminal chat resolves them the same way as the
browser (``answer/conversation.ask_in_conversation``); the drug-price case of issue 14."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer.conversation import ask_in_conversation
from assistant.service import Assistant
from conftest import CORPUS, FAKE_MODEL, REPO

COST_Q = "How much does Zolgensma cost?"
FOLLOW_UP = "How much does it cost?"


def test_a_follow_up_keeps_the_previous_subject(fake_assistant: Assistant) -> None:
    asked: list[str] = []

    def ask(question: str):  # the fake embedder's scores are too low to pass the abstention threshold
        return fake_assistant.ask(question, abstain=False)

    first = ask_in_conversation(ask, COST_Q, asked, fake_assistant.index.sentence_df)
    assert first.searched_question == COST_Q and first.citations
    second = ask_in_conversation(ask, FOLLOW_UP, asked, fake_assistant.index.sentence_df)
    assert second.question == FOLLOW_UP and second.searched_question == COST_Q and asked == [COST_Q, COST_Q]
    assert cited(second) == cited(first)  # the same drug's price, not another one's
    # the same follow-up without the conversation is another question (and gets another answer)
    assert cited(ask(FOLLOW_UP)) != cited(first)


def cited(answer) -> list[tuple[str, int]]:
    return [(c.doc, c.start) for c in answer.citations]


@pytest.mark.process
def test_terminal_chat_answers_the_follow_up_about_the_same_drug(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    result = subprocess_chat(tmp_path, f"{COST_Q}\n{FOLLOW_UP}\n\n")
    assert result.returncode == 0, result.stderr
    turns = result.stdout.split("\n? ")
    assert len(turns) >= 3, result.stdout
    first, second = turns[1], turns[2]
    assert f"(searched for: {COST_Q})" in second, second
    # the same sentences and sources as the first answer (another drug's price without the conversation)
    assert second.split("\n", 1)[1].strip() == first.strip(), (first, second)


def subprocess_chat(root: Path, stdin: str) -> subprocess.CompletedProcess:
    """``assistant chat`` (fake embedder, no abstention) with ``stdin`` typed in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL=FAKE_MODEL, ASSISTANT_JUDGE="rules", ASSISTANT_ABSTAIN_THRESHOLD="0",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "assistant", "chat", "--corpus", "corpus", "--index", "idx"],
                          cwd=root, env=env, input=stdin, capture_output=True, text=True, timeout=180)
