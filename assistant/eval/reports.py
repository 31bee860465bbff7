"""Evaluation reports: the summary table (pure formatting) and report files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from assistant.eval.metrics import reliability_bins
from assistant.models import EvalRecord, EvalReport

TABLE_COLUMNS = [
    ("hit_rate", "hit"), ("exact_match", "EM"), ("f1", "F1"), ("phrase_exact_match", "phrase EM"),
    ("phrase_f1", "phrase F1"), ("gold_cited_at_1", "gold@1"),
    ("gold_cited_any", "gold cited"), ("citation_validity", "valid cites"), ("recall_at_5", "R@5"),
    ("mrr", "MRR"), ("abstention_recall", "abstain (unans)"), ("false_abstention", "false abstain"),
    ("calibration_error", "ECE"),
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


def write_report(report: EvalReport, out_dir: Path, threshold: float, previous: EvalReport | None = None,
                 flips: Sequence[tuple[str, str, str, str]] = ()) -> list[Path]:
    """Write report.json, report.md and the PNG plots into ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    md = [f"# Evaluation of {report.questions_file}", "", f"Corpus: {report.corpus}  ", f"Run: {report.created_at}  ",
          f"Index build: {report.index_build_seconds:.1f}s", "",
          "Rates are over answerable questions (hit, EM, F1, gold cited, R@k, false abstain) or unanswerable ones "
          "(abstain); counts are answered/abstained/errored; an errored question fails every metric.", ""]
    if previous is not None:
        md += [f"## Compared with {previous.created_at} (delta in points)", "",
               comparison_table(report.summary, previous.summary), "", "### Flipped questions", ""]
        md += [f"- {kind}: `{system}` {qid} {question}" for system, qid, kind, question in flips] or ["none"]
        md.append("")
    else:
        md += [summary_table(report.summary), ""]
    if report.by_tag:
        md += ["## By tag", "", tag_table(report.by_tag), ""]
    md += ["## Warnings of unmatched words", "",
           "Answers that say which specific words of the question their citations never mention "
           "(`Answer.unmatched`), among answered questions.", "", warning_table(report.summary), ""]
    plots = write_plots(report, out_dir, threshold)
    md += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    for system in report.summary:
        md.extend([misses_markdown(report.records, system), ""])
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return [json_path, md_path, *plots]


def load_report(path: Path) -> EvalReport:
    """Read a report.json (a run folder or the file itself)."""
    path = path / "report.json" if path.is_dir() else path
    return EvalReport.model_validate(json.loads(path.read_text(encoding="utf-8")))


def comparison_table(summary: dict[str, dict[str, float]], previous: dict[str, dict[str, float]]) -> str:
    """The summary table with a delta (current - previous) beside each rate."""
    header = ["system", "answered/abstained/errored"] + [label for _, label in TABLE_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, figures in summary.items():
        cells = [system, f"{int(figures['answered'])}/{int(figures['abstained'])}/{int(figures['errored'])}"]
        for key, _ in TABLE_COLUMNS:
            cell = _cell(key, figures[key])
            if system in previous and key in previous[system]:
                delta = figures[key] - previous[system][key]
                cell += f" ({delta:+.1f})" if key.endswith("_ms") else f" ({100 * delta:+.1f})"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tag_table(by_tag: dict[str, dict[str, dict[str, float]]]) -> str:
    """Per tag and system: questions, hit rate (answerable) and abstention (unanswerable)."""
    lines = ["| tag | system | questions | hit | abstained on unanswerable | false abstain |", "|---|---|---|---|---|---|"]
    for tag, systems in by_tag.items():
        for system, f in systems.items():
            lines.append(f"| {tag} | {system} | {int(f['questions'])} | {_cell('h', f['hit_rate'])} | "
                         f"{_cell('a', f['abstention_recall'])} | {_cell('f', f['false_abstention'])} |")
    return "\n".join(lines)


def warning_table(summary: dict[str, dict[str, float]]) -> str:
    """Per system: the share of answered unanswerable, and of answered answerable, questions whose answer
    warns of unmatched words."""
    lines = ["| system | answered unanswerable, warned | answered answerable, warned |", "|---|---|---|"]
    for system, f in summary.items():
        lines.append(f"| {system} | {_cell('w', f.get('unmatched_warned_unanswerable', 0.0))} | "
                     f"{_cell('w', f.get('unmatched_warned_answerable', 0.0))} |")
    return "\n".join(lines)


def write_plots(report: EvalReport, out_dir: Path, threshold: float) -> list[Path]:
    """PNG plots: key metrics per system, latency histogram, and the confidence distribution of
    answerable versus unanswerable questions with the abstention threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    systems = list(report.summary)
    keys = ["hit_rate", "gold_cited_any", "f1", "abstention_recall", "false_abstention"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        ax.bar([k + i * width for k in range(len(keys))], [report.summary[system][k] for k in keys], width, label=system)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))], keys)
    ax.set_ylim(0, 1)
    ax.set_title("Metrics per system")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "metrics.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for system in systems:
        ax.hist([r.latency_ms for r in report.records if r.system == system], bins=30, alpha=0.5, label=system)
    ax.set_xlabel("latency per question (ms)")
    ax.set_title("Latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "latency.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    main = "full" if "full" in systems else systems[-1]
    fig, ax = plt.subplots(figsize=(7, 4))
    for answerable, label in ((True, "answerable"), (False, "unanswerable")):
        values = [r.answer.confidence for r in report.records
                  if r.system == main and r.answer is not None and r.answerable == answerable]
        if values:
            ax.hist(values, bins=20, range=(0, 1), alpha=0.6, label=f"{label} ({len(values)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"abstention threshold {threshold:.2f}")
    ax.set_xlabel(f"confidence ({main})")
    ax.set_title("Confidence of answerable vs unanswerable questions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "confidence.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    # Reliability: on answered answerable questions, confidence against "a citation holds the gold sentence"
    # (the same pairs as the calibration_error figure).
    answered = [r for r in report.records if r.system == main and r.answerable and r.answer is not None
                and not r.abstained and not r.errored]
    table = reliability_bins([r.answer.confidence for r in answered], [r.cited_gold_any for r in answered])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    if table:
        ax.plot([c for c, _, _ in table], [a for _, a, _ in table], marker="o", label=f"{main} ({len(answered)})")
        for conf, acc, count in table:
            ax.annotate(str(count), (conf, acc), fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("share citing the gold sentence")
    ax.set_title(f"Reliability (ECE {report.summary.get(main, {}).get('calibration_error', 0.0):.3f})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "reliability.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
