"""Evaluation reports: the summary table (pure formatting) and report files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from assistant.models import EvalRecord, EvalReport

TABLE_COLUMNS = [
    ("hit_rate", "hit"), ("exact_match", "EM"), ("f1", "F1"), ("gold_cited_at_1", "gold@1"),
    ("gold_cited_any", "gold cited"), ("citation_validity", "valid cites"), ("recall_at_5", "R@5"),
    ("mrr", "MRR"), ("abstention_recall", "abstain (unans)"), ("false_abstention", "false abstain"),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
]


def _cell(key: str, value: float) -> str:
    return f"{value:.1f}" if key.endswith("_ms") else f"{100 * value:.1f}%"


def summary_table(summary: dict[str, dict[str, float]]) -> str:
    """A Markdown table, one row per system, with counts beside the rates."""
    header = ["system", "answered/abstained/errored"] + [label for _, label in TABLE_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, figures in summary.items():
        counts = f"{int(figures['answered'])}/{int(figures['abstained'])}/{int(figures['errored'])}"
        cells = [system, counts] + [_cell(key, figures[key]) for key, _ in TABLE_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def misses_markdown(records: Sequence[EvalRecord], system: str) -> str:
    """Every miss of one system: question, gold answer, the system's answer and citations."""
    out = [f"## Misses of `{system}`", ""]
    for r in records:
        if r.system != system:
            continue
        wrong = (r.answerable and not r.hit) or (not r.answerable and not r.abstained) or r.errored
        if not wrong:
            continue
        gold = "" if not r.answerable else " | ".join(r.gold_answers)
        out.append(f"- **{r.id}** {r.question}")
        if r.errored:
            out.append(f"  - error: {r.error}")
            continue
        answer = r.answer
        if answer is None:
            continue
        out.append(f"  - expected: {'abstain' if not r.answerable else 'an answer'} {gold}")
        out.append(f"  - got: {'abstained: ' + (answer.reason or '') if answer.abstained else answer.text}")
        for c in answer.citations:
            out.append(f"  - [{c.marker}] {c.doc} {c.start}-{c.end}")
    return "\n".join(out)


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write report.json and report.md into ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    md = [f"# Evaluation of {report.questions_file}", "", f"Corpus: {report.corpus}  ", f"Run: {report.created_at}",
          "", summary_table(report.summary), ""]
    for system in report.summary:
        md.extend([misses_markdown(report.records, system), ""])
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return [json_path, md_path]


def load_report(path: Path) -> EvalReport:
    """Read a report.json (a run folder or the file itself)."""
    path = path / "report.json" if path.is_dir() else path
    return EvalReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
