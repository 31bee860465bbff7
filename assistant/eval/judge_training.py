"""Training the judge (``assistant train-judge``): collect the examples (``judge_examples``), optionally add
the fold cross-encoders' column, fit both heads (``judge_fitting``) and write the judge file with its model
card and reliability plot.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.answer.judge import FEATURE_VERSION, JudgeModel
from assistant.eval.judge_examples import Example, collect_examples  # Example: pickled example caches name it here
from assistant.eval.judge_fitting import (
    CALIBRATION_SOURCE,
    CLAIM_THRESHOLD_SOURCES,
    FALSE_ABSTAIN_TARGET,
    FLAGGED_TRUE_TARGET,
    GATE_FALSE_ABSTAIN,
    THRESHOLD_SOURCES,
    fit_judge,
    top,
)
from assistant.service import Assistant

REPO = Path(__file__).resolve().parents[2]


def train_judge(covid_dir: Path, gene_corpus: Path, gene_questions: Path, gene_offtopic: Path, gene_claims: Path,
                work: Path, encoder: str, log: Callable[[str], None] = print, reuse: bool = False,
                cross: bool = False, cross_from: Path | None = None) -> tuple[JudgeModel, list[Example], list[Example]]:
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
    if model.confidence_map:
        slope, intercept = model.confidence_map
        confidence_line = (f"with a = {slope:.3f}, b = {intercept:+.3f} (Platt's map, fitted on the out-of-fold best "
                           f"probabilities of the answered {CALIBRATION_SOURCE} questions against \"it is the gold "
                           "sentence\"; its ECE figures below: `_mapped` by grouped CV of the map on "
                           f"{CALIBRATION_SOURCE}, with the final map elsewhere). The abstention threshold applies "
                           "to p itself.")
    else:
        confidence_line = "with a = 1, b = 0: no map was fitted."
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
- **Confidence**: an answer shows sigmoid(a * logit(p) + b) of its best candidate's probability p,
  {confidence_line}
- **Claim head**: P(a source sentence, or two adjacent ones, says the claim). The checker calls a claim
  supported at or above {model.claim.threshold:.4f} (at most {FLAGGED_TRUE_TARGET:.0%} of the true claims
  of each hand-written set, {", ".join(CLAIM_THRESHOLD_SOURCES)}, flagged, out of fold).

## Training data (dev material only; COVID-QA `test` is never read)
{chr(10).join("- " + item for item in model.trained_on)}

Candidates come from the default retrieval (hybrid, fused by score; `ASSISTANT_FUSION`): refit after
changing how chunks are retrieved, as the rank features move with it.

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

A cross-encoder (`--cross`) was fine-tuned on these 2 cores from the bundled MiniLM's weights, with
two recipes: the CLS head of a sequence classifier (1.5 epochs, 4,484 pairs over two folds) and a
mean-pooled head (3 epochs, lr 5e-5, trained on one fold). On the fold it never saw, it put the gold sentence first for
8-10% of COVID-QA dev questions, against 44% for this head. It separated answerable questions from
ones whose gold article was left out with AUROC 0.51, and near-miss ones with 0.52-0.58. The head
gave its column weight -0.01, so it is not shipped. About 400 dev positives are too few to teach a
bi-encoder's weights cross-attention. Refit with `--cross` if more dev material or a GPU is lent.
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
    parser.add_argument("--cross", action="store_true",
                        help="also fine-tune a cross-encoder per fold and add its score as a feature (1-2 hours on "
                             "2 cores; the bundled judge does without)")
    parser.add_argument("--cross-from", type=Path,
                        help="add the cross-encoder feature from fold models already fine-tuned: a/, b/ and fold_a.json")


def run(args) -> int:
    """Collect, cross-validate, fit and write the judge; print its out-of-fold figures."""
    from assistant.answer.judge import JUDGE_FILE
    from assistant.errors import UserInputError

    if not (args.covid / "questions.jsonl").is_file():
        raise UserInputError(f"no COVID-QA questions.jsonl in {args.covid}; pass --covid DIR")
    model, qa, _ = train_judge(args.covid, REPO / "corpus", REPO / "evals" / "questions" / "gene_therapy.jsonl",
                               REPO / "evals" / "questions" / "calibration_offtopic.jsonl",
                               REPO / "evals" / "claims" / "gene_therapy.jsonl", args.work, args.encoder,
                               reuse=args.reuse, cross=args.cross or args.cross_from is not None,
                               cross_from=args.cross_from)
    write_judge(model, qa, args.out or JUDGE_FILE, REPO / "evals" / "reports" / "judge")
    for key, value in sorted(model.figures.items()):
        print(f"{key:40s} {value:.4f}")
    return 0


if __name__ == "__main__":
    import argparse

    _parser = argparse.ArgumentParser(prog="python -m assistant.eval.judge_training", description=run.__doc__)
    add_arguments(_parser)
    raise SystemExit(run(_parser.parse_args()))
