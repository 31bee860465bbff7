"""Eval: score systems on question sets (``EvalReport``), the citation checker on claim sets, and speed.

Stage 5 of the pipeline (evaluate); it drives the library through ``assistant.service.Assistant``.
Plots (matplotlib) are imported only when written.
"""

from assistant.eval.bench import run_bench
from assistant.eval.bench_report import BenchReport, bench_markdown, write_bench_report
from assistant.eval.claim_eval import (
           confusion_table,
           load_claims,
           run_claims,
           write_claims_report,
)
from assistant.eval.evaluation import (
           SYSTEMS,
           eval_report,
           load_questions,
           run_evaluation,
)
from assistant.eval.outcomes import compare_records, summarize, summarize_by_tag
from assistant.eval.reports import load_report, summary_table, write_report

__all__ = ["SYSTEMS", "BenchReport", "bench_markdown", "compare_records", "confusion_table", "eval_report",
           "load_claims", "load_questions",
           "load_report", "run_bench", "run_claims", "run_evaluation", "summarize", "summarize_by_tag",
           "summary_table", "write_bench_report", "write_claims_report", "write_report"]
