"""Fine-tuning the judge's cross-encoder on dev questions, in two folds grouped by article.

Pairs come from the collected answer-head examples of the COVID-QA ``dev`` split (normal and gold-left-out
runs): up to two gold candidates as positives, the best-ranked wrong ones as negatives, and one synthetic
near-miss per question (a named term of the question swapped for one from another article, read against
the gold passage, which then no longer answers). The near-miss and gene-therapy sets are never used, so
the figures on them stay out of sample. Fold A's model is shipped; each fold's model scores the other
fold's questions, so the answer head is fitted on cross-encoder probabilities it would see on new text.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.lexical import STOP_WORDS

EPOCHS = 1.5
BATCH = 16
LEARNING_RATE = 4e-5
POSITIVE_WEIGHT = 2.0
TRAINED_SOURCES = ("covid-dev", "covid-holdout")
_NAMED = re.compile(r"[A-Za-z][\w-]{3,}")


def named_terms(text: str) -> list[str]:
    """Capitalised or digit-bearing words of a question (names, genes, strains)."""
    return [w for w in _NAMED.findall(text)
            if (w[0].isupper() or any(ch.isdigit() for ch in w)) and w.lower() not in STOP_WORDS]


def cross_pairs(examples: Sequence, rng: random.Random) -> list[tuple[str, str, float, str]]:
    """(question, passage, label, group) training pairs from answer-head examples (see module doc)."""
    pairs: list[tuple[str, str, float, str]] = []
    names: dict[str, set[str]] = {}
    for e in examples:
        if e.source not in TRAINED_SOURCES:
            continue
        holdout = e.source == "covid-holdout"
        positives = [p for p, label in zip(e.passages, e.labels) if label]
        negatives = [p for p, label in zip(e.passages, e.labels) if not label][: 3 if holdout else 4]
        pairs += [(e.question, p, 1.0, e.group) for p in positives[:2]]
        pairs += [(e.question, p, 0.0, e.group) for p in negatives]
        if not holdout and e.positive:
            names.setdefault(e.group, set()).update(named_terms(e.question))
    groups = sorted(g for g in names if names[g])
    for e in examples:
        if e.source != "covid-dev" or not e.positive:
            continue
        gold = next((p for p, label in zip(e.passages, e.labels) if label), None)
        if gold is None:
            continue
        mentioned = [w for w in named_terms(e.question) if w.lower() in gold.lower()]
        others = [g for g in groups if g != e.group]
        if not mentioned or not others:
            continue
        new = rng.choice(sorted(names[rng.choice(others)]))
        if new.lower() in gold.lower():
            continue
        swapped = re.sub(rf"\b{re.escape(rng.choice(mentioned))}\b", new, e.question, count=1)
        pairs.append((swapped, gold, 0.0, e.group))
    rng.shuffle(pairs)
    return pairs


def train_cross(pairs: Sequence[tuple[str, str, float, str]], model_dir: Path, out: Path, epochs: float = EPOCHS,
                log: Callable[[str], None] = print) -> Path:
    """Fine-tune a one-logit sequence classifier from ``model_dir`` on ``pairs``; save it to ``out``."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=1)
    steps = max(1, int(len(pairs) * epochs / BATCH))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(POSITIVE_WEIGHT))
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        batch = [pairs[(step * BATCH + k) % len(pairs)] for k in range(BATCH)]
        encoded = tokenizer([b[0] for b in batch], [b[1] for b in batch], truncation="only_second", max_length=128,
                            padding=True, return_tensors="pt")
        loss = loss_of(model(**encoded).logits.squeeze(-1), torch.tensor([b[2] for b in batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            rate = (step + 1) * BATCH / (time.perf_counter() - started)
            log(f"cross-encoder step {step}/{steps}, loss {loss.item():.3f}, {rate:.1f} pairs/s")
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def fold_groups(examples: Sequence, rng: random.Random) -> set[str]:
    """Fold A: half of the articles of the trained sources, chosen at random."""
    groups = sorted({e.group for e in examples if e.source in TRAINED_SOURCES})
    rng.shuffle(groups)
    return set(groups[: len(groups) // 2])


def add_cross_column(examples: Sequence, fold_a: set[str], score_a: Callable, score_b: Callable) -> None:
    """Overwrite each example's ``cross`` feature (the last column) with a probability from the fold model
    that never trained on its article: B for fold A's articles, A for everything else."""
    for e in examples:
        if not len(e.passages):
            continue
        score = score_b if (e.source in TRAINED_SOURCES and e.group in fold_a) else score_a
        e.features[:, -1] = np.asarray(score(e.question, e.passages), dtype=np.float32)
