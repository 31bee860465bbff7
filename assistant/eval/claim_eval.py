"""Accuracy of the citation checker on a labelled claim set (``assistant eval --claims``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.errors import UserInputError
from assistant.ingest.reading import jsonl_lines
from assistant.models import Verdict
from assistant.service import Assistant

VERDICTS: tuple[str, ...] = ("verbatim", "supported", "mismatch", "wrong-source", "unsupported", "uncited")
ALTERED = ("mismatch", "wrong-source", "unsupported")
PASSING = ("verbatim", "supported")


class LabelledClaim(BaseModel):
    """One labelled claim: its text, the document it cites, and the verdict it deserves."""

    id: str
    claim: str
    cites: str
    label: Verdict
    source_doc: str | None = None  # where the claim's content really is (null for an unsupported claim)
    source_quote: str | None = None
    kind: str = ""


class ClaimOutcome(BaseModel):
    """The checker's verdict on one labelled claim."""

    id: str
    label: str
    predicted: str
    kind: str = ""
    claim: str = ""
    note: str = ""


class ClaimEvaluation(BaseModel):
    """Confusion matrix and rates."""

    outcomes: list[ClaimOutcome] = Field(default_factory=list)
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)
    precision: dict[str, float] = Field(default_factory=dict)
    recall: dict[str, float] = Field(default_factory=dict)
    altered_flagged: float = 0.0
    paraphrases_flagged: float = 0.0
    verbatim_recognised: float = 0.0


def load_claims(path: Path) -> list[LabelledClaim]:
    """Read a JSONL claim set."""
    claims = []
    for number, line in jsonl_lines(path, "claim set"):
        try:
            claims.append(LabelledClaim.model_validate_json(line))
        except ValueError as exc:
            raise UserInputError(f"{path.name} line {number}: not a valid claim") from exc
    if not claims:
        raise UserInputError(f"no claims in {path}")
    return claims


def score_claims(outcomes: Sequence[ClaimOutcome]) -> ClaimEvaluation:
    """Confusion matrix, per-verdict precision/recall, and the flag rates (pure)."""
    confusion = {label: {p: 0 for p in VERDICTS} for label in VERDICTS}
    for o in outcomes:
        confusion[o.label][o.predicted] += 1
    precision, recall = {}, {}
    for v in VERDICTS:
        predicted = sum(confusion[label][v] for label in VERDICTS)
        actual = sum(confusion[v].values())
        precision[v] = confusion[v][v] / predicted if predicted else 0.0
        recall[v] = confusion[v][v] / actual if actual else 0.0
    altered = [o for o in outcomes if o.label in ALTERED]
    paraphrases = [o for o in outcomes if o.label == "supported"]
    verbatim = [o for o in outcomes if o.label == "verbatim"]
    return ClaimEvaluation(
        outcomes=list(outcomes), confusion=confusion, precision=precision, recall=recall,
        altered_flagged=sum(o.predicted not in PASSING for o in altered) / len(altered) if altered else 0.0,
        paraphrases_flagged=sum(o.predicted not in PASSING for o in paraphrases) / len(paraphrases)
        if paraphrases else 0.0,
        verbatim_recognised=sum(o.predicted == "verbatim" for o in verbatim) / len(verbatim) if verbatim else 0.0)


def run_claims(assistant: Assistant, claims: Sequence[LabelledClaim],
               progress: Callable[[int, int], None] | None = None) -> ClaimEvaluation:
    """Check every claim cited to its document; an error counts as 'unsupported'."""
    outcomes = []
    severity = {v: i for i, v in enumerate(("verbatim", "supported", "uncited", "wrong-source", "mismatch",
                                            "unsupported"))}
    for number, claim in enumerate(claims, 1):
        try:
            report = assistant.check(f"{claim.claim} [1]\n\n[1] {claim.cites}\n")
            verdicts = [c.verdict for c in report.claims] or ["unsupported"]
            predicted = max(verdicts, key=lambda v: severity[v])
            note = "; ".join(c.note for c in report.claims if c.note)
        except Exception as exc:  # an error is a failure, never dropped
            predicted, note = "unsupported", f"error: {exc}"
        outcomes.append(ClaimOutcome(id=claim.id, label=claim.label, predicted=predicted, kind=claim.kind,
                                     claim=claim.claim, note=note))
        if progress:
            progress(number, len(claims))
    return score_claims(outcomes)


def confusion_table(evaluation: ClaimEvaluation) -> str:
    """The confusion matrix (rows: label, columns: verdict) and per-verdict precision/recall."""
    header = "| label \\ verdict | " + " | ".join(VERDICTS) + " | recall |"
    lines = [header, "|" + "---|" * (len(VERDICTS) + 2)]
    for label in VERDICTS:
        row = evaluation.confusion[label]
        if not sum(row.values()):
            continue
        lines.append(f"| {label} | " + " | ".join(str(row[v]) for v in VERDICTS)
                     + f" | {100 * evaluation.recall[label]:.1f}% |")
    lines.append("| precision | " + " | ".join(f"{100 * evaluation.precision[v]:.1f}%" for v in VERDICTS) + " | |")
    lines += ["", f"- altered claims flagged (mismatch, wrong-source, unsupported): "
                  f"{100 * evaluation.altered_flagged:.1f}%",
              f"- true paraphrases flagged: {100 * evaluation.paraphrases_flagged:.1f}%",
              f"- verbatim quotes recognised as verbatim: {100 * evaluation.verbatim_recognised:.1f}%"]
    return "\n".join(lines)


def write_claims_report(evaluation: ClaimEvaluation, out_dir: Path, claims_file: str) -> list[Path]:
    """report.json and report.md (table, then every wrong verdict)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "claims_report.json"
    json_path.write_text(json.dumps({"claims_file": claims_file, **evaluation.model_dump()}, indent=1),
                         encoding="utf-8")
    md = [f"# Citation checking on {claims_file}", "", confusion_table(evaluation), "", "## Wrong verdicts", ""]
    for o in evaluation.outcomes:
        if o.predicted != o.label:
            md.append(f"- {o.id} ({o.kind}) label {o.label}, got {o.predicted}: {o.claim} — {o.note}")
    md_path = out_dir / "claims_report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return [json_path, md_path]
