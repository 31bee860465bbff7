"""Examples for training the judge, from dev material only (the COVID-QA ``test`` split is never read).

Answer head: for every question, the judge's shortlist of candidate sentences, labelled by whether they
overlap the gold evidence. Questions come from the COVID-QA ``dev`` split (asked normally, and again with
their gold article left out, so that every candidate is wrong), its hand-written near-miss set, the
project's gene-therapy and off-topic sets, and each collection's questions asked of the other. Claim head:
the checker's candidates for the COVID-QA dev claims, the gene-therapy claims and claims altered from dev
sentences by ``perturbation``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.answer.candidates import collect_candidates, judge_features, previous_text, shortlist
from assistant.answer.cross_encoder import cross_passage
from assistant.answer.judge import CLAIM_FEATURES, Head
from assistant.answer.retrieval import retrieve
from assistant.eval.evaluation import evidence_spans, load_questions
from assistant.eval.metrics import spans_overlap
from assistant.eval.perturbation import perturbed_claims
from assistant.models import EvalQuestion
from assistant.service import Assistant

TRAINING_SHORTLIST = 10  # candidates per question in training: more negatives than the answerer reads


@dataclass
class Example:
    """One question or claim: its candidates' features and labels, and its cross-validation group."""

    source: str  # which set it came from
    group: str  # article (or id) it is grouped by
    positive: bool  # answerable question / claim its cited source says
    features: np.ndarray
    labels: np.ndarray
    verbatim: bool = False  # a claim found word for word in its cited document (passes before the judge)
    vetoed: np.ndarray | None = None  # claim head: per candidate, a difference of a ``support.VETO_KINDS`` kind
    contradicted: bool = False  # claim head: the sentence it restates has such a difference (``support.contradicted``)
    oof: np.ndarray | None = None  # out-of-fold probabilities
    question: str = ""  # answer head: the question and what the cross-encoder reads of each candidate
    passages: list[str] = field(default_factory=list)


def qa_examples(assistant: Assistant, questions: Sequence[EvalQuestion], source: str, holdout: bool = False,
                other_corpus: bool = False) -> list[Example]:
    """Answer-head examples: each question's judge shortlist with labels; with ``holdout``, its gold
    documents are left out of retrieval and it counts as unanswerable; with ``other_corpus``, the questions
    were written for another collection and are asked here, unanswerable (off-topic, on a real corpus)."""
    index, embedder, settings = assistant.index, assistant.query_embedder, assistant.settings
    examples = []
    for question in questions:
        if other_corpus:
            question = question.model_copy(update={"answerable": False, "evidence": [], "id": f"x:{question.id}"})
        spans = evidence_spans(question, index)
        gold = sorted({doc for doc, _, _ in spans})
        if holdout and not gold:
            continue
        doc_filter = [d for d in index.manifest.documents if d not in gold] if holdout else None
        vector = embedder.encode([question.question])[0]
        retrieved = retrieve(index, question.question, vector, settings.k, settings.mode, doc_filter,
                             (settings.dense_weight, settings.lexical_weight), fusion=settings.fusion)
        chosen = shortlist(collect_candidates(index, question.question, vector, retrieved), TRAINING_SHORTLIST)
        labels = np.array([not holdout and any(doc == c.sentence.doc_id and spans_overlap(c.sentence.start,
                           c.sentence.end, s, e) for doc, s, e in spans) for c in chosen], dtype=bool)
        examples.append(Example(source, gold[0] if gold else f"q:{question.id}", question.answerable and not holdout,
                                judge_features(index, embedder, question.question, chosen), labels,
                                question=question.question,
                                passages=[cross_passage(c.sentence.text, previous_text(index, c.sentence))
                                          for c in chosen]))
    return examples


def claim_examples(assistant: Assistant, claims: Sequence[dict], source: str) -> list[Example]:
    """Claim-head examples: the checker's candidates in the cited document (and, for wrong-source claims,
    in the document that says it), labelled by whether they hold the claim's source quote."""
    from assistant.check.checking import CitationChecker
    from assistant.check.facts import normalize_text
    from assistant.check.support import VETO_KINDS, contradicted, judge_support

    index = assistant.index
    checker = CitationChecker(index, assistant.embedder)
    blank = Head(features=list(CLAIM_FEATURES), coef=[0.0] * len(CLAIM_FEATURES), intercept=0.0, threshold=0.5)
    examples = []
    vectors = assistant.embedder.encode([c["claim"] for c in claims])
    for claim, vector in zip(claims, vectors):
        quote_span = None
        if claim.get("source_doc") in index.documents and claim.get("source_quote"):
            at = index.documents[claim["source_doc"]].text.find(claim["source_quote"])
            if at >= 0:
                quote_span = (claim["source_doc"], at, at + len(claim["source_quote"]))
        true = claim["label"] in ("verbatim", "supported", "wrong-source")
        cited = [claim["cites"]] if claim.get("cites") in index.documents else []
        targets = [(cited, source)]
        if claim["label"] == "wrong-source" and quote_span:
            # The document that does say it: a positive example for the head, not a claim-level figure.
            targets.append(([quote_span[0]], f"train-only:{source}"))
        for docs, name in targets:
            found = checker.candidates(claim["claim"], vector, docs, blank)
            matrix = judge_support(index, checker.embedder, checker.vocabulary, blank, claim["claim"], found,
                                   checker._context)
            labels = np.array([true and quote_span is not None and any(
                s.doc_id == quote_span[0] and spans_overlap(s.start, s.end, quote_span[1], quote_span[2])
                for s in c.sentences) for c in found], dtype=bool)
            verbatim = bool(docs) and normalize_text(claim["claim"]) in normalize_text(index.documents[docs[0]].text)
            vetoed = np.array([any(d.kind in VETO_KINDS for d in c.differences) for c in found], dtype=bool)
            examples.append(Example(f"{name}:{claim['label']}", str(claim.get("cites") or claim["id"]),
                                    claim["label"] in ("verbatim", "supported"), matrix, labels, verbatim=verbatim,
                                    vetoed=vetoed, contradicted=contradicted(found) is not None))
    return examples


def collect_examples(covid_dir: Path, gene_corpus: Path, gene_questions: Path, gene_offtopic: Path,
                     gene_claims: Path, assistant_for: Callable[[Path, str], Assistant], log: Callable[[str], None]
                     ) -> tuple[list[Example], list[Example]]:
    """Every answer-head and claim-head example of the training data."""
    covid = assistant_for(covid_dir / "corpus.jsonl", "covid-qa")
    dev = load_questions(covid_dir / "questions.jsonl", split="dev")
    near = load_questions(covid_dir / "nearmiss_dev.jsonl")
    log(f"answer examples: COVID-QA dev ({len(dev)} questions, asked twice), near-miss ({len(near)})")
    qa = qa_examples(covid, dev, "covid-dev") + qa_examples(covid, dev, "covid-holdout", holdout=True)
    qa += qa_examples(covid, near, "nearmiss")
    claims_dev = [json.loads(line) for line in (covid_dir / "claims_dev.jsonl").read_text().splitlines() if line]
    synthetic = perturbed_claims(covid.index, dev, random.Random(7))
    claims = claim_examples(covid, claims_dev, "covid-claims") + claim_examples(covid, synthetic, "perturbed")
    gene = assistant_for(gene_corpus, "gene-therapy")
    gene_q = load_questions(gene_questions)
    qa += qa_examples(gene, gene_q, "gene") + qa_examples(gene, load_questions(gene_offtopic), "offtopic")
    # Each collection's questions asked of the other: off-topic questions over a real corpus.
    log("answer examples: each corpus's questions asked of the other")
    qa += qa_examples(gene, random.Random(5).sample(dev, min(200, len(dev))), "other-corpus", other_corpus=True)
    qa += qa_examples(covid, [q for q in gene_q if q.answerable], "other-corpus", other_corpus=True)
    gene_claims_rows = [json.loads(line) for line in gene_claims.read_text().splitlines() if line]
    claims += claim_examples(gene, gene_claims_rows, "gene-claims")
    return qa, claims
