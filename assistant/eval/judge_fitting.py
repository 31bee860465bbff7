"""Fitting the judge's heads: grouped cross-validation (each collection weighing the same), thresholds
chosen on out-of-fold predictions and held per collection, and the out-of-fold figures of the model card."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from assistant.answer.judge import CLAIM_FEATURES, FEATURE_VERSION, QA_FEATURES, Head, JudgeModel, calibrate, logit
from assistant.answer.scoring import confidence
from assistant.eval.judge_examples import Example
from assistant.eval.metrics import expected_calibration_error

FALSE_ABSTAIN_TARGET = 0.05  # the answer threshold keeps false abstention at most this, out of fold
GATE_FALSE_ABSTAIN = 0.02  # the topic gate (rule confidence) refuses at most this share of answerable questions
FLAGGED_TRUE_TARGET = 0.10  # the claim threshold flags at most this share of true claims, out of fold
FOLDS = 5
THRESHOLD_SOURCES = ("covid-dev", "gene")  # the answerable sets, one per collection
CLAIM_THRESHOLD_SOURCES = ("covid-claims", "gene-claims")  # the hand-written claim sets, one per collection
# The confidence map is fitted on the questions written by others (COVID-QA dev); one map for both
# collections over-corrects both, as their answerable questions differ in how often the best is right.
CALIBRATION_SOURCE = "covid-dev"


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


def _answered(examples: Sequence[Example], threshold: float, source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(best out-of-fold probability, whether that candidate is gold, group) of the answerable questions
    of ``source`` that the threshold answers."""
    rows = [e for e in examples if e.source == source and e.positive and len(e.oof) and top(e) >= threshold]
    return (np.array([top(e) for e in rows]), np.array([bool(e.labels[int(np.argmax(e.oof))]) for e in rows]),
            [e.group for e in rows])


def fit_confidence_map(best: np.ndarray, right: np.ndarray) -> list[float]:
    """[slope, intercept] of Platt's map (``judge.calibrate``) from best probabilities to being right."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0, max_iter=1000).fit(logit(best)[:, None], right.astype(int))
    return [round(float(model.coef_[0][0]), 5), round(float(model.intercept_[0]), 5)]


def confidence_map(examples: Sequence[Example], threshold: float) -> tuple[list[float] | None, dict[str, float]]:
    """The confidence map fitted on ``CALIBRATION_SOURCE``, and its figures: ECE of the answered questions
    before and after it, for that source by grouped cross-validation of the map itself and for the other
    answerable sets with the final map (they never fitted it)."""
    from sklearn.model_selection import GroupKFold

    best, right, groups = _answered(examples, threshold, CALIBRATION_SOURCE)
    if len(set(right.tolist())) < 2 or len(set(groups)) < FOLDS:
        return None, {}
    mapped = np.zeros_like(best)
    for train, test in GroupKFold(FOLDS).split(best, groups=groups):
        fold_map = fit_confidence_map(best[train], right[train])
        mapped[test] = [calibrate(float(v), fold_map) for v in best[test]]
    final = fit_confidence_map(best, right)
    figures = {f"{CALIBRATION_SOURCE}.ece_answered": expected_calibration_error(best.tolist(), right.tolist()),
               f"{CALIBRATION_SOURCE}.ece_answered_mapped": expected_calibration_error(mapped.tolist(), right.tolist())}
    for source in sorted({e.source for e in examples if e.positive} - {CALIBRATION_SOURCE}):
        other, hit, _ = _answered(examples, threshold, source)
        if len(other):
            figures[f"{source}.ece_answered"] = expected_calibration_error(other.tolist(), hit.tolist())
            figures[f"{source}.ece_answered_mapped"] = expected_calibration_error(
                [calibrate(float(v), final) for v in other], hit.tolist())
    return final, {k: round(v, 4) for k, v in figures.items()}


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
    threshold with no vetoing difference (``support.VETO_KINDS``), nor one in the sentence it restates."""
    from assistant.check.support import VETO_KINDS

    if example.verbatim:
        return True
    if example.oof is None or not len(example.oof):
        return False
    best = int(np.argmax(example.oof))
    if example.vetoed is not None:
        vetoed = bool(example.vetoed[best])
    else:  # examples collected before vetoes were stored: the kinds that are also features
        vetoed = any(example.features[best, CLAIM_FEATURES.index(f"diff_{kind}")] > 0
                     for kind in VETO_KINDS if f"diff_{kind}" in CLAIM_FEATURES)
    return bool(example.oof[best] >= threshold) and not vetoed and not example.contradicted


def claim_figures(examples: Sequence[Example], threshold: float, prefix: str) -> dict[str, float]:
    """Out-of-fold claim-level figures: true claims flagged, altered claims flagged."""
    chosen = [e for e in examples if e.source.startswith(prefix)]
    passed = [claim_passes(e, threshold) for e in chosen]
    true = [p for e, p in zip(chosen, passed) if e.positive]
    altered = [p for e, p in zip(chosen, passed) if not e.positive]
    return {f"{prefix}.true_flagged": round(1 - float(np.mean(true)), 4) if true else float("nan"),
            f"{prefix}.altered_flagged": round(1 - float(np.mean(altered)), 4) if altered else float("nan")}


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
    mapping, calibration = confidence_map(qa, qa_threshold)
    figures |= calibration
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
                       relevance_gate=gate, confidence_map=mapping, figures=figures)
    return model, qa, claims
