"""Altered claims made from real sentences, for training the judge's claim head.

From the gold sentences of a question set: true claims (the sentence without its leading clause or
reference marks) and altered ones, each with one fact changed the way hand-written test sets change
them: a number, a negation, a direction word, a term swapped for one from another article, or two
terms of the sentence swapped (roles).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from assistant.patterns import DIRECTION_PAIRS
from assistant.eval.evaluation import evidence_spans
from assistant.eval.metrics import spans_overlap
from assistant.index.store import LoadedIndex
from assistant.lexical import STOP_WORDS, words
from assistant.models import EvalQuestion
from assistant.patterns import REFERENCE_MARK

_AUXILIARY = re.compile(r"\b(is|are|was|were|can|could|may|might|will|would|should|does|did|has|have|had)\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _rare_words(text: str, common: set[str]) -> list[str]:
    return [w for w in dict.fromkeys(re.findall(r"[A-Za-z][\w-]{4,}", text)) if w.lower() not in common]


def alter(sentence: str, kind: str, rng: random.Random, foreign: Sequence[str], common: set[str]) -> str | None:
    """``sentence`` with one fact changed (``kind``: number, negation, direction, term, roles), or None
    when the sentence offers nothing of that kind."""
    if kind == "number":
        found = list(_NUMBER.finditer(sentence))
        if not found:
            return None
        match = rng.choice(found)
        value = float(match.group(0))
        new = value + rng.choice([1, 2, 3, 5, 10]) if rng.random() < 0.5 else value * rng.choice([2, 3])
        text = f"{new:g}" if "." in match.group(0) else str(int(new))
        return sentence[: match.start()] + text + sentence[match.end():]
    if kind == "negation":
        if re.search(r"\bnot\b", sentence):
            return re.sub(r"\s*\bnot\b", "", sentence, count=1)
        match = _AUXILIARY.search(sentence)
        return sentence[: match.end()] + " not" + sentence[match.end():] if match else None
    if kind == "direction":
        for a, b in DIRECTION_PAIRS:
            for old, new in ((a, b), (b, a)):
                if re.search(rf"\b{old}\b", sentence):
                    return re.sub(rf"\b{old}\b", new, sentence, count=1)
        return None
    rare = _rare_words(sentence, common)
    if kind == "term" and rare and foreign:
        return re.sub(rf"\b{re.escape(rng.choice(rare))}\b", rng.choice(foreign), sentence, count=1)
    if kind == "roles" and len(rare) >= 2:
        a, b = rng.sample(rare, 2)
        return re.sub(rf"\b({re.escape(a)}|{re.escape(b)})\b", lambda m: b if m.group(0) == a else a, sentence)
    return None


def shorten(sentence: str) -> str | None:
    """A true claim from a sentence: without reference marks and, when long, without its leading clause."""
    plain = " ".join(REFERENCE_MARK.sub("", sentence).split())
    head, _, rest = plain.partition(", ")
    if rest and len(words(rest)) >= 8 and len(words(head)) >= 3:
        return rest[0].upper() + rest[1:]
    return plain if plain != " ".join(sentence.split()) else None


def perturbed_claims(index: LoadedIndex, questions: Sequence[EvalQuestion], rng: random.Random) -> list[dict]:
    """Claims in the claim-set format (``claim``, ``cites``, ``label``, ``source_doc``, ``source_quote``,
    ``kind``) made from each question's first gold sentence."""
    common = set(STOP_WORDS) | {w for w, _ in sorted(index.sentence_df.items(), key=lambda kv: -kv[1])[:300]}
    by_doc: dict[str, list[str]] = {}
    sentences_of: dict[str, list] = {}
    for sentence in index.sentences:  # one pass: rows are parsed on each read
        sentences_of.setdefault(sentence.doc_id, []).append(sentence)
    gold = []
    for question in questions:
        for doc, start, end in evidence_spans(question, index)[:1]:
            sentence = next((s for s in sentences_of.get(doc, []) if spans_overlap(s.start, s.end, start, end)),
                            None)
            if sentence is not None and len(words(sentence.text)) >= 8:
                gold.append(sentence)
                by_doc.setdefault(doc, []).extend(_rare_words(sentence.text, common))
    claims = []
    for number, sentence in enumerate(gold):
        foreign = [w for d, found in by_doc.items() if d != sentence.doc_id for w in found]
        base = dict(cites=sentence.doc_id, source_doc=sentence.doc_id, source_quote=sentence.text)
        true = shorten(sentence.text)
        if true:
            claims.append(dict(base, id=f"p{number}-true", claim=true, label="supported", kind="shortened"))
        kind = rng.choice(["number", "negation", "direction", "term", "roles"])
        for attempt in (kind, "term", "negation"):
            altered = alter(sentence.text, attempt, rng, foreign, common)
            if altered and altered != sentence.text:
                claims.append(dict(base, id=f"p{number}-{attempt}", claim=altered, label="mismatch", kind=attempt))
                break
    return claims
