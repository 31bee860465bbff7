"""Training the judge (``assistant train-judge``): examples from dev material only, grouped cross-validation,
thresholds chosen on out-of-fold predictions, and the judge file with its model card.

Answer head: for every question, the judge's shortlist of candidate sentences, labelled by whether they
overlap the gold evidence. Questions come from the COVID-QA ``dev`` split (asked normally, and again with
their gold article left out, so that every candidate is wrong), its hand-written near-miss set, and the
project's gene-therapy and off-topic sets. Claim head: the checker's candidates for the COVID-QA dev claims,
the gene-therapy claims and claims altered from dev sentences by ``perturbation``. The COVID-QA ``test``
split is never read here.
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
from assistant.answer.judge import (
    CLAIM_FEATURES,
    FEATURE_VERSION,
    QA_FEATURES,
    Head,
    JudgeModel,
)
from assistant.answer.retrieval import retrieve
from assistant.answer.scoring import confidence
from assistant.eval.evaluation import evidence_spans, load_questions
from assistant.eval.metrics import expected_calibration_error, spans_overlap
from assistant.eval.perturbation import perturbed_claims
from assistant.models import EvalQuestion
from assistant.service import Assistant

FALSE_ABSTAIN_TARGET = 0.05  # the answer threshold keeps false abstention at most this, out of fold
GATE_FALSE_ABSTAIN = 0.02  # the topic gate (rule confidence) refuses at most this share of answerable questions
FLAGGED_TRUE_TARGET = 0.10  # the claim threshold flags at most this share of true claims, out of fold
FOLDS = 5
THRESHOLD_SOURCES = ("covid-dev", "gene")  # the answerable sets, one per collection
CLAIM_THRESHOLD_SOURCES = ("covid-claims", "gene-claims")  # the hand-written claim sets, one per collection
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Example:
    """One question or claim: its candidates' features and labels, and its cross-validation group."""

    source: str  # which set it came from
    group: str  # article (or id) it is grouped by
    positive: bool  # answerable question / claim its cited source says
    features: np.ndarray
    labels: np.ndarray
    verbatim: bool = False  # a claim found word for word in its cited document (passes before the judge)
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
                             (settings.dense_weight, settings.lexical_weight))
        chosen = shortlist(collect_candidates(index, question.question, vector, retrieved))
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
    from assistant.check.support import judge_support

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
            examples.append(Example(f"{name}:{claim['label']}", str(claim.get("cites") or claim["id"]),
                                    claim["label"] in ("verbatim", "supported"), matrix, labels, verbatim=verbatim))
    return examples


def collection(source: str) -> str:
    """The collection an example's set belongs to ("covid-holdout" -> "covid", "gene-claims:mismatch" -> "gene",
    "perturbed:supported" -> "perturbed"): the unit that ``fit_head`` balances and thresholds are held on."""
    name = source.removeprefix("train-only:").split(":")[0]
    return {"nearmiss": "covid", "offtopic": "gene", "other-corpus": "other"}.get(name, name.split("-")[0])


def fit_head(examples: Sequence[Example], names: Sequence[str]) -> tuple[list[float], float]:
    """Logistic regression on every candidate row of ``examples``, each collection weighing the same in
    total, so that the largest (COVID-QA) does not decide alone what transfers to other corpora."""
    from sklearn.linear_model import LogisticRegression

    rows = [e for e in examples if len(e.features)]
    x = np.concatenate([e.features for e in rows])
    y = np.concatenate([e.labels for e in rows]).astype(int)
    totals: dict[str, int] = {}
    for e in rows:
        totals[collection(e.source)] = totals.get(collection(e.source), 0) + len(e.features)
    weight = np.concatenate([np.full(len(e.features), 1.0 / totals[collection(e.source)]) for e in rows])
    model = LogisticRegression(C=1.0, max_iter=5000).fit(x, y, sample_weight=weight * len(weight) / weight.sum())
    return [round(float(c), 5) for c in model.coef_[0]], round(float(model.intercept_[0]), 5)


def cross_validate(examples: list[Example], names: Sequence[str], folds: int = FOLDS) -> None:
    """Out-of-fold probabilities for every example, folds grouped by article."""
    from sklearn.model_selection import GroupKFold

    groups = [e.group for e in examples]
    for train, test in GroupKFold(min(folds, len(set(groups)))).split(examples, groups=groups):
        coef, intercept = fit_head([examples[i] for i in train], names)
        head = Head(features=list(names), coef=coef, intercept=intercept, threshold=0.5)
        for i in test:
            examples[i].oof = head.probabilities(examples[i].features)


def top(example: Example) -> float:
    """The example's best out-of-fold probability (0 without candidates)."""
    return float(example.oof.max()) if example.oof is not None and len(example.oof) else 0.0


def answer_threshold(examples: Sequence[Example], sources: Sequence[str] = THRESHOLD_SOURCES) -> float:
    """The highest threshold whose out-of-fold false abstention on the answerable questions of each of
    ``sources`` (one per collection) is at most the target: no collection pays for another's ease."""
    found = []
    for source in sources:
        scores = np.sort([top(e) for e in examples if e.positive and e.source == source])
        if len(scores):
            found.append(float(scores[int(np.floor(FALSE_ABSTAIN_TARGET * len(scores)))]) - 1e-6)
    return round(min(found), 4) if found else 0.5


def example_relevance(example: Example) -> float:
    """The rule confidence of the example's best rule-scored candidate (row 0: the shortlist is in rule order)."""
    if not len(example.features):
        return 0.0
    row = dict(zip(QA_FEATURES, example.features[0]))
    return confidence(row["dense"], row["passage_dense"], row["context_coverage"], not row["type_needed_missing"],
                      bool(row["missing_entity"]))


def relevance_gate(examples: Sequence[Example], sources: Sequence[str] = THRESHOLD_SOURCES) -> float:
    """The highest topic-gate threshold that refuses at most ``GATE_FALSE_ABSTAIN`` of the answerable
    questions of each of ``sources``."""
    found = []
    for source in sources:
        scores = np.sort([example_relevance(e) for e in examples if e.positive and e.source == source])
        if len(scores):
            found.append(float(scores[int(np.floor(GATE_FALSE_ABSTAIN * len(scores)))]) - 1e-6)
    return round(max(0.0, min(found)), 4) if found else 0.0


def claim_threshold(examples: Sequence[Example], sources: Sequence[str] = CLAIM_THRESHOLD_SOURCES) -> float:
    """The highest threshold that flags at most the target share of true (non-verbatim) claims of each of
    ``sources`` (hand-written sets, one per collection), out of fold."""
    found = []
    for source in sources:
        scores = np.sort([top(e) for e in examples
                          if e.positive and not e.verbatim and e.source.split(":")[0] == source])
        if len(scores):
            found.append(float(scores[int(np.floor(FLAGGED_TRUE_TARGET * len(scores)))]) - 1e-6)
    return round(min(found), 4) if found else 0.5


def qa_figures(examples: Sequence[Example], threshold: float, source: str, gate: float = 0.0) -> dict[str, float]:
    """Out-of-fold figures of the answer head on one set: gold first, abstention and false abstention (with
    the topic gate), AUROC (of the head alone)."""
    from sklearn.metrics import roc_auc_score

    chosen = [e for e in examples if e.source == source]
    answerable = [e for e in chosen if e.positive]
    other = [e for e in chosen if not e.positive]

    def refused(e: Example) -> bool:
        return top(e) < threshold or example_relevance(e) < gate

    out: dict[str, float] = {}
    if answerable:
        out["gold_first"] = float(np.mean([bool(len(e.oof)) and bool(e.labels[int(np.argmax(e.oof))])
                                           for e in answerable]))
        out["false_abstain"] = float(np.mean([refused(e) for e in answerable]))
    if other:
        out["abstain_unanswerable"] = float(np.mean([refused(e) for e in other]))
    if answerable and other:
        out["auroc"] = float(roc_auc_score([1] * len(answerable) + [0] * len(other),
                                           [top(e) for e in answerable] + [top(e) for e in other]))
    return {f"{source}.{k}": round(v, 4) for k, v in out.items()}


def claim_passes(example: Example, threshold: float) -> bool:
    """Whether the checker would pass the claim, out of fold: verbatim, or its best candidate reaches the
    threshold with no vetoing difference (``support.VETO_KINDS``)."""
    from assistant.check.support import VETO_KINDS

    if example.verbatim:
        return True
    if example.oof is None or not len(example.oof):
        return False
    best = int(np.argmax(example.oof))
    vetoed = any(example.features[best, CLAIM_FEATURES.index(f"diff_{kind}")] > 0 for kind in VETO_KINDS)
    return bool(example.oof[best] >= threshold) and not vetoed


def claim_figures(examples: Sequence[Example], threshold: float, prefix: str) -> dict[str, float]:
    """Out-of-fold claim-level figures: true claims flagged, altered claims flagged."""
    chosen = [e for e in examples if e.source.startswith(prefix)]
    passed = [claim_passes(e, threshold) for e in chosen]
    true = [p for e, p in zip(chosen, passed) if e.positive]
    altered = [p for e, p in zip(chosen, passed) if not e.positive]
    return {f"{prefix}.true_flagged": round(1 - float(np.mean(true)), 4) if true else float("nan"),
            f"{prefix}.altered_flagged": round(1 - float(np.mean(altered)), 4) if altered else float("nan")}


def train_judge(covid_dir: Path, gene_corpus: Path, gene_questions: Path, gene_offtopic: Path, gene_claims: Path,
                work: Path, encoder: str, log: Callable[[str], None] = print, reuse: bool = False,
                cross: bool = True, cross_from: Path | None = None) -> tuple[JudgeModel, list[Example], list[Example]]:
    """Collect every example, cross-validate both heads, pick thresholds and fit the final heads."""
    from assistant.settings import Settings

    def assistant_for(corpus: Path, name: str) -> Assistant:
        assistant = Assistant(Settings(corpus=corpus, index=work / name, model=encoder, judge="rules"))
        assistant.ensure_index()
        return assistant

    cache = work / f"examples-{FEATURE_VERSION}.pkl"
    if reuse and cache.is_file():
        import pickle

        log(f"reusing the examples collected in {cache}")
        qa, claims = pickle.loads(cache.read_bytes())
    else:
        qa, claims = collect_examples(covid_dir, gene_corpus, gene_questions, gene_offtopic, gene_claims,
                                      assistant_for, log)
        import pickle

        cache.write_bytes(pickle.dumps((qa, claims)))
    digest = None
    if cross:
        digest = add_cross_feature(qa, work, encoder, cross_from, log)
    model, qa, claims = fit_judge(qa, claims, encoder, log)
    model.cross_encoder = digest
    return model, qa, claims


def add_cross_feature(qa: list[Example], work: Path, encoder: str, cross_from: Path | None,
                      log: Callable[[str], None]) -> str:
    """Train (or take from ``cross_from``: ``a/``, ``b/`` and ``fold_a.json``) the two fold cross-encoders,
    export them, fill every example's ``cross`` feature out of fold and ship fold A's model."""
    import shutil

    from assistant.answer.cross_encoder import CROSS_DIR, CrossEncoder, export_cross_encoder, file_digest
    from assistant.eval.cross_training import add_cross_column, cross_pairs, fold_groups, train_cross
    from assistant.index.embedding import resolve_model_path

    rng = random.Random(11)
    if cross_from is not None:
        fold_a = set(json.loads((cross_from / "fold_a.json").read_text()))
        trained = {name: cross_from / name for name in ("a", "b")}
    else:
        fold_a = fold_groups(qa, rng)
        trained = {}
        for name, inside in (("a", True), ("b", False)):
            pairs = cross_pairs([e for e in qa if (e.group in fold_a) == inside], rng)
            log(f"cross-encoder fold {name}: {len(pairs)} pairs")
            trained[name] = train_cross(pairs, Path(resolve_model_path(encoder)), work / f"cross-{name}", log=log)
    scorers = {}
    for name, folder in trained.items():
        exported = export_cross_encoder(folder, work / f"cross-{name}-onnx")
        scorers[name] = CrossEncoder(exported, threads=2).probabilities
    log("scoring every candidate with the fold cross-encoder that never saw its article")
    add_cross_column(qa, fold_a, scorers["a"], scorers["b"])
    if CROSS_DIR.exists():
        shutil.rmtree(CROSS_DIR)
    shutil.copytree(work / "cross-a-onnx", CROSS_DIR)
    return file_digest(CROSS_DIR / "model.onnx")


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


def fit_judge(qa: list[Example], claims: list[Example], encoder: str, log: Callable[[str], None]
              ) -> tuple[JudgeModel, list[Example], list[Example]]:
    """Cross-validate both heads, choose thresholds out of fold, and fit the final heads on everything."""
    log(f"{len(qa)} question examples, {len(claims)} claim examples; cross-validating")
    cross_validate(qa, QA_FEATURES)
    cross_validate(claims, CLAIM_FEATURES)
    qa_threshold, support_threshold, gate = answer_threshold(qa), claim_threshold(claims), relevance_gate(qa)
    figures: dict[str, float] = {"answer.threshold": qa_threshold, "answer.relevance_gate": gate,
                                 "claim.threshold": support_threshold}
    for source in ("covid-dev", "covid-holdout", "nearmiss", "gene", "offtopic", "other-corpus"):
        figures |= qa_figures(qa, qa_threshold, source, gate)
    for pair, name in ((("covid-dev", "covid-holdout"), "covid-dev+holdout"), (("gene", "offtopic"), "gene+offtopic")):
        renamed = [Example(name, e.group, e.positive, e.features, e.labels, oof=e.oof) for e in qa if e.source in pair]
        figures |= qa_figures(renamed, qa_threshold, name, gate)
    for prefix in ("covid-claims", "gene-claims", "perturbed"):
        figures |= claim_figures(claims, support_threshold, prefix)
    answered = [e for e in qa if e.positive and len(e.oof)]
    figures["answer.ece_top"] = round(expected_calibration_error(
        [top(e) for e in answered], [bool(e.labels[int(np.argmax(e.oof))]) for e in answered]), 4)
    qa_coef, qa_intercept = fit_head(qa, QA_FEATURES)
    claim_coef, claim_intercept = fit_head(claims, CLAIM_FEATURES)
    model = JudgeModel(feature_version=FEATURE_VERSION, encoder=encoder,
                       trained_on=["COVID-QA dev (questions, gold article left out, near-miss, claims, perturbed "
                                   "claims)", "gene-therapy questions, off-topic questions and claims",
                                   "each collection's questions asked of the other (off-topic)"],
                       answer=Head(features=list(QA_FEATURES), coef=qa_coef, intercept=qa_intercept,
                                   threshold=qa_threshold),
                       claim=Head(features=list(CLAIM_FEATURES), coef=claim_coef, intercept=claim_intercept,
                                  threshold=support_threshold),
                       relevance_gate=gate, figures=figures)
    return model, qa, claims


def write_judge(model: JudgeModel, qa: Sequence[Example], out: Path, plot_dir: Path) -> None:
    """Write the judge file, its model card beside it and the reliability plot of the answer head."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.write_text(model.model_dump_json(indent=1) + "\n", encoding="utf-8")
    answered = [e for e in qa if len(e.oof)]
    confidence = np.array([top(e) for e in answered])
    correct = np.array([e.positive and bool(e.labels[int(np.argmax(e.oof))]) for e in answered], float)
    plot_dir.mkdir(parents=True, exist_ok=True)
    edges = np.linspace(0, 1, 11)
    centers, accuracy, counts = [], [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence >= low) & (confidence < high if high < 1 else confidence <= high)
        if inside.any():
            centers.append(confidence[inside].mean()), accuracy.append(correct[inside].mean())
            counts.append(int(inside.sum()))
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    axis.plot(centers, accuracy, "o-", label="judge (out of fold)")
    axis.set_xlabel("confidence (best candidate's probability)")
    axis.set_ylabel("share whose best candidate cites the gold sentence")
    axis.set_title("Answer head reliability, dev sets, grouped CV")
    axis.legend()
    figure.tight_layout()
    figure.savefig(plot_dir / "reliability.png", dpi=100)
    plt.close(figure)
    rows = "\n".join(f"| {name} | {coef:+.3f} |" for name, coef in zip(model.answer.features, model.answer.coef))
    claim_rows = "\n".join(f"| {name} | {coef:+.3f} |" for name, coef in zip(model.claim.features, model.claim.coef))
    figures = "\n".join(f"| {key} | {value:.3f} |" for key, value in sorted(model.figures.items()))
    card = f"""# Model card: the judge (`{out.name}`)

Two logistic-regression heads (scikit-learn, C=1, each training collection weighing the same) over
features from the frozen encoder `{model.encoder}` and the collection's term statistics; feature
version `{model.feature_version}`.
Refit with `scripts/assistant train-judge` (one command; the COVID-QA files in
`../shared/benchmarks/covid-qa/` and the gene-therapy sets in `evals/`).

- **Answer head**: P(a candidate sentence answers the question). The answerer cites the best
  candidates by this probability and abstains when the best is below {model.answer.threshold:.4f}
  (chosen on out-of-fold predictions so that at most {FALSE_ABSTAIN_TARGET:.0%} of the answerable dev
  questions of each collection, {", ".join(THRESHOLD_SOURCES)}, are refused). Before it, a topic gate
  abstains when the rule confidence of the best rule-scored sentence is below {model.relevance_gate:.4f}
  (refusing at most {GATE_FALSE_ABSTAIN:.0%} of those questions).
- **Claim head**: P(a source sentence, or two adjacent ones, says the claim). The checker calls a claim
  supported at or above {model.claim.threshold:.4f} (at most {FLAGGED_TRUE_TARGET:.0%} of the true claims
  of each hand-written set, {", ".join(CLAIM_THRESHOLD_SOURCES)}, flagged, out of fold).

## Training data (dev material only; COVID-QA `test` is never read)
{chr(10).join("- " + item for item in model.trained_on)}

## Figures: out of fold (5 folds grouped by article)
Each figure comes from predictions on articles the fold never trained on; thresholds were chosen on
these same out-of-fold predictions, so they are slightly optimistic. Held-out figures on COVID-QA test
are in `evals/reports/`.

| figure | value |
|---|---|
{figures}

![reliability](../../evals/reports/judge/reliability.png)

## Weights
Answer head (intercept {model.answer.intercept:+.3f}):

| feature | weight |
|---|---|
{rows}

Claim head (intercept {model.claim.intercept:+.3f}):

| feature | weight |
|---|---|
{claim_rows}

## Limits
No cross-attention: it cannot read whether a sentence *answers*, only how well its words align with
the question. Near-miss questions that name real entities but ask for a value the text does not give
are the weakest case (see the near-miss figures).
"""
    out.with_suffix(".md").write_text(card, encoding="utf-8")


def add_arguments(parser) -> None:
    """The ``train-judge`` flags (shared by the CLI and ``python -m assistant.eval.judge_training``)."""
    from assistant.settings import BUNDLED_MODEL

    parser.add_argument("--covid", type=Path, default=REPO.parent / "shared" / "benchmarks" / "covid-qa",
                        help="the COVID-QA folder (only its dev split and dev sets are read)")
    parser.add_argument("--out", type=Path, help="judge file to write (default: the bundled assistant/answer/judge.json)")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "judge-training",
                        help="indexes, collected examples and fold models")
    parser.add_argument("--encoder", default=BUNDLED_MODEL, help="the encoder the features come from")
    parser.add_argument("--reuse", action="store_true", help="reuse the examples of the last run (same features)")
    parser.add_argument("--no-cross", action="store_true", help="fit the heads without the cross-encoder feature")
    parser.add_argument("--cross-from", type=Path, help="fold models already fine-tuned: a/, b/ and fold_a.json")


def run(args) -> int:
    """Collect, cross-validate, fit and write the judge; print its out-of-fold figures."""
    from assistant.answer.judge import JUDGE_FILE
    from assistant.errors import UserInputError

    if not (args.covid / "questions.jsonl").is_file():
        raise UserInputError(f"no COVID-QA questions.jsonl in {args.covid}; pass --covid DIR")
    model, qa, _ = train_judge(args.covid, REPO / "corpus", REPO / "evals" / "questions" / "gene_therapy.jsonl",
                               REPO / "evals" / "questions" / "calibration_offtopic.jsonl",
                               REPO / "evals" / "claims" / "gene_therapy.jsonl", args.work, args.encoder,
                               reuse=args.reuse, cross=not args.no_cross, cross_from=args.cross_from)
    write_judge(model, qa, args.out or JUDGE_FILE, REPO / "evals" / "reports" / "judge")
    for key, value in sorted(model.figures.items()):
        print(f"{key:40s} {value:.4f}")
    return 0


if __name__ == "__main__":
    import argparse

    _parser = argparse.ArgumentParser(prog="python -m assistant.eval.judge_training", description=run.__doc__)
    add_arguments(_parser)
    raise SystemExit(run(_parser.parse_args()))
