"""The judge: calibrated probabilities that a sentence answers a question, and that a source says a claim.

Two logistic-regression heads over features that transfer across corpora (no word of any corpus is a
feature): dense cosines, IDF-weighted term coverage, answer-type match, names the context lacks, retrieval
ranks, and token-level alignment: for each content word of the question (or claim), the best cosine to any
word of the sentence, from the encoder's contextual token vectors. The claim head also reads the checker's
rule-found differences (number, name, negation...), passed in by the caller so this module stays in the
answering stage. The fitted heads live in ``judge.json`` beside this file (model card: ``judge.md``);
``assistant train-judge`` refits them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from assistant.answer.cross_encoder import CROSS_DIR, CrossEncoder, file_digest
from assistant.errors import AssistantError
from assistant.index.word_vectors import WordVectors
from assistant.lexical import QUESTION_WORDS, STOP_WORDS, stem, terms, words
from assistant.patterns import DIRECTION_PAIRS

JUDGE_FILE = Path(__file__).with_name("judge.json")
# claim-3: numbers compared as quantities (94 million = 94,000,000; "4" for "four" beside a shared word),
# a letter glued to a number (3a) names a variant, a negation stops at punctuation; claim-4: a word in
# British spelling is the same word in American spelling (haemophilia / hemophilia), a share in words is
# a percentage (half / 50%); claim-5: number words up to ninety and "thirty-two", a range's first number
# shares its percent sign (20 to 50 percent), a country and its adjective are one name (Ireland / Irish),
# "increased" stands against "reduction" (opposites in every form)
FEATURE_VERSION = "qa-2+claim-6"
RETRAIN_HINT = "retrain it with `scripts/assistant train-judge`"
LOW_ALIGNMENT = 0.55  # a question word whose best match is below this cosine is "not said" by the sentence

QA_FEATURES = ("dense", "passage_dense", "coverage", "context_coverage", "missing_entity", "type_needed_missing",
               "rank_bonus", "lexical_recip", "dense_recip", "candidate_recip", "gap_score", "gap_dense",
               "gap_coverage", "align_mean", "align_min", "align_idf", "align_low", "align_rare_min",
               "max_missing_idf", "question_words", "length", "cross")
CLAIM_FEATURES = ("dense", "overlap", "overlap_context", "source_covered", "align_mean", "align_min", "align_idf",
                  "align_low", "align_rare_min", "diff_number", "diff_unit", "diff_name", "diff_negation",
                  "direction", "order_discordance", "length_ratio", "pair")


def content_words(vectors: WordVectors, drop_question_words: bool = True) -> WordVectors:
    """Only the words that carry content (no stop words, punctuation or, optionally, question words)."""
    keep = [i for i, w in enumerate(vectors.words)
            if any(ch.isalnum() for ch in w) and w not in STOP_WORDS
            and not (drop_question_words and w in QUESTION_WORDS)]
    return WordVectors(tuple(vectors.words[i] for i in keep), vectors.vectors[keep])


def alignment(query: WordVectors, sentence: WordVectors, weight: Callable[[str], float]) -> list[float]:
    """Token-level alignment of a question or claim with a sentence: for each query content word its best
    cosine to any sentence word; returns [mean, min, weighted mean, weighted share below LOW_ALIGNMENT,
    min over the rarer half]. Without words on either side: [0, 0, 0, 1, 0]."""
    if not query.words or not sentence.words:
        return [0.0, 0.0, 0.0, 1.0, 0.0]
    best = (query.vectors @ sentence.vectors.T).max(axis=1)
    w = np.array([weight(word) for word in query.words], dtype=np.float64)
    total = max(float(w.sum()), 1e-9)
    rare = best[w >= np.median(w)]
    return [float(best.mean()), float(best.min()), float((best * w).sum() / total),
            float((w * (best < LOW_ALIGNMENT)).sum() / total), float(rare.min())]


@dataclass(frozen=True)
class QAEvidence:
    """What the answerer knows about one candidate sentence (inputs of the answer head)."""

    dense: float
    passage_dense: float
    coverage: float
    context_coverage: float
    missing_entity: bool
    type_needed_missing: bool
    chunk_rank: int
    lexical_rank: int  # 0: not retrieved by BM25
    dense_rank: int  # 0: not retrieved by the dense index
    score: float  # the rule-based sentence score
    length: int  # characters


def qa_feature_rows(evidence: Sequence[QAEvidence], alignments: Sequence[list[float]],
                    missing_idf: Sequence[float], question_words: int, cross: Sequence[float] | None = None
                    ) -> np.ndarray:
    """The answer head's feature matrix, one row per candidate (in the order of QA_FEATURES).

    ``missing_idf`` is, per candidate, the highest normalised IDF of a question term its context
    lacks; the ``gap_*`` features compare each candidate with the question's best one; ``cross`` is the
    cross-encoder's probability per candidate (0 without a cross-encoder).
    """
    if not evidence:
        return np.zeros((0, len(QA_FEATURES)), np.float32)
    order = sorted(range(len(evidence)), key=lambda i: -evidence[i].score)
    candidate_rank = {i: r for r, i in enumerate(order)}
    best_score = max(e.score for e in evidence)
    best_dense = max(e.dense for e in evidence)
    best_coverage = max(e.context_coverage for e in evidence)
    rows = []
    cross = list(cross) if cross is not None else [0.0] * len(evidence)
    for i, (e, aligned, missing, read) in enumerate(zip(evidence, alignments, missing_idf, cross)):
        rows.append([e.dense, e.passage_dense, e.coverage, e.context_coverage, float(e.missing_entity),
                     float(e.type_needed_missing), 1.0 / (1.0 + 0.25 * max(e.chunk_rank - 1, 0)),
                     1.0 / e.lexical_rank if e.lexical_rank else 0.0, 1.0 / e.dense_rank if e.dense_rank else 0.0,
                     1.0 / (1 + candidate_rank[i]), e.score - best_score, e.dense - best_dense,
                     e.context_coverage - best_coverage, *aligned, missing, min(question_words, 20) / 20,
                     min(e.length, 400) / 400, read])
    return np.asarray(rows, dtype=np.float32)


def max_missing_idf(question_terms: set[str], context_terms: set[str] | frozenset[str],
                    idf: Callable[[str], float], ceiling: float) -> float:
    """The highest IDF (over ``ceiling``) among question terms missing from a sentence's context."""
    missing = [idf(t) for t in question_terms if t not in context_terms]
    return max(missing, default=0.0) / ceiling if ceiling > 0 else 0.0


def direction_flip(claim: str, source: str) -> bool:
    """Whether the claim uses one word of a DIRECTION_PAIRS pair where the source uses the other."""
    claimed, said = set(words(claim)), set(words(source))
    return any((a in claimed and b in said and a not in said) or (b in claimed and a in said and b not in said)
               for a, b in DIRECTION_PAIRS)


def order_discordance(claim: str, source: str) -> float:
    """Share of discordant pairs among the content stems both share, by order of first appearance
    (high when the claim swaps who did what to whom; passive voice also raises it)."""
    position: dict[str, int] = {}
    for i, term in enumerate(stem(w) for w in words(source) if w not in STOP_WORDS):
        position.setdefault(term, i)
    claimed = dict.fromkeys(stem(w) for w in words(claim) if w not in STOP_WORDS)
    sequence = [position[t] for t in claimed if t in position]
    n = len(sequence)
    if n < 3:
        return 0.0
    discordant = sum(1 for i in range(n) for j in range(i + 1, n) if sequence[i] > sequence[j])
    return discordant / (n * (n - 1) / 2)


def claim_feature_row(claim: str, source: str, context: str, dense: float, aligned: list[float],
                      difference_kinds: Sequence[str], pair: bool) -> list[float]:
    """The claim head's features for one claim and one source text (a sentence, or two adjacent ones)."""
    claim_terms, source_terms = set(terms(claim)), set(terms(source))
    context_terms = source_terms | set(terms(context))
    overlap = len(claim_terms & source_terms) / len(claim_terms) if claim_terms else 0.0
    overlap_context = len(claim_terms & context_terms) / len(claim_terms) if claim_terms else 0.0
    kinds = list(difference_kinds)
    return [dense, overlap, overlap_context, len(claim_terms & source_terms) / max(len(source_terms), 1), *aligned,
            min(kinds.count("number"), 3) / 3, min(kinds.count("unit"), 2) / 2, min(kinds.count("name"), 3) / 3,
            float("negation" in kinds), float(direction_flip(claim, source)), order_discordance(claim, source),
            min(len(words(claim)) / max(len(words(source)), 1), 3.0) / 3.0, float(pair)]


class Head(BaseModel):
    """One logistic-regression head: p = sigmoid(coef . x + intercept), and its decision threshold."""

    features: list[str]
    coef: list[float]
    intercept: float
    threshold: float

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Probability per row of ``rows`` (columns in the order of ``features``)."""
        if len(rows) == 0:
            return np.zeros(0, np.float64)
        z = rows.astype(np.float64) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def calibrate(probability: float, mapping: Sequence[float] | None) -> float:
    """The confidence an answer shows for its best candidate's ``probability``: Platt's map
    sigmoid(slope * logit(p) + intercept), fitted on answered dev questions against "the cited sentence is
    the gold one" (``judge_fitting.confidence_map``). The head's probability is per candidate; the best of
    a shortlist is right more often than a lone candidate with the same score. Identity without a map."""
    if not mapping:
        return probability
    z = mapping[0] * float(logit(probability)) + mapping[1]
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def logit(probability):
    """log(p / (1 - p)), with p kept within [1e-6, 1 - 1e-6]; for a number or an array."""
    p = np.clip(probability, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class JudgeModel(BaseModel):
    """The fitted judge file: both heads, what they were trained for, and their cross-validated figures."""

    format: int = 1
    feature_version: str
    encoder: str
    trained_on: list[str]
    answer: Head
    claim: Head
    cross_encoder: str | None = None  # digest of the cross-encoder file its "cross" feature came from
    # A topic gate before the judge: abstain when the rule confidence (``scoring.confidence``) of the best
    # rule-scored candidate is below this; chosen so that it refuses at most 2% of answerable dev questions.
    relevance_gate: float = 0.0
    # [slope, intercept] of the map from the best candidate's probability to the confidence an answer shows
    # (``calibrate``); None: the probability itself.
    confidence_map: list[float] | None = None
    figures: dict[str, float] = {}


@dataclass
class Judge:
    """A loaded judge: the fitted heads and, when they use one, the cross-encoder."""

    model: JudgeModel
    cross: CrossEncoder | None = None

    @property
    def answer(self) -> Head:
        return self.model.answer

    @property
    def claim(self) -> Head:
        return self.model.claim


def load_judge(path: Path, encoder: str, cross_dir: Path = CROSS_DIR) -> Judge:
    """Read a judge file, refusing a missing or damaged one, or one fitted for another encoder or
    feature version (its features would not mean what they meant in training)."""
    try:
        judge = JudgeModel.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise AssistantError(f"the judge file {path} is missing; {RETRAIN_HINT} "
                             "(or set ASSISTANT_JUDGE=rules to answer without it)") from None
    except (OSError, ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AssistantError(f"the judge file {path} is damaged ({first}); {RETRAIN_HINT}") from None
    if judge.feature_version != FEATURE_VERSION:
        raise AssistantError(f"the judge file {path} has features {judge.feature_version!r}, this version computes "
                             f"{FEATURE_VERSION!r}; {RETRAIN_HINT}")
    if judge.encoder != encoder:
        raise AssistantError(f"the judge file {path} was trained for the encoder {judge.encoder!r}, not {encoder!r}; "
                             f"{RETRAIN_HINT} (or set ASSISTANT_JUDGE=rules)")
    for head, names in ((judge.answer, QA_FEATURES), (judge.claim, CLAIM_FEATURES)):
        if tuple(head.features) != names or len(head.coef) != len(names) or not all(map(math.isfinite, head.coef)):
            raise AssistantError(f"the judge file {path} does not match this version's features; {RETRAIN_HINT}")
    cross = None
    if judge.cross_encoder:
        model_file = cross_dir / "model.onnx"
        found = file_digest(model_file) if model_file.is_file() else "(missing)"
        if found != judge.cross_encoder:
            raise AssistantError(f"the judge file {path} was fitted with the cross-encoder {judge.cross_encoder}, but "
                                 f"{model_file} is {found}; {RETRAIN_HINT}")
        cross = CrossEncoder(cross_dir)
    return Judge(judge, cross)
