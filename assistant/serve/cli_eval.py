"""The measuring commands: ``assistant eval`` (questions or claims), ``bench`` and ``train-judge``
(``cli`` dispatches to them; arguments in ``arguments``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.errors import UserInputError
from assistant.serve.opening import open_assistant
from assistant.settings import Settings


def _corpus_cache_dir(corpus: Path) -> Path:
    """An index folder under evals/cache/ keyed by the corpus's content, so reruns reuse it."""
    import hashlib

    digest = hashlib.sha256()
    paths = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.is_file())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return Path("evals") / "cache" / digest.hexdigest()[:16]


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from tqdm import tqdm

    from assistant.eval.evaluation import SYSTEMS, eval_report, load_questions, run_evaluation, run_holdout
    from assistant.eval.outcomes import compare_records
    from assistant.eval.reports import comparison_table, load_report, summary_table, write_report

    if args.questions is None and args.claims is None:
        raise UserInputError("eval needs --questions FILE or --claims FILE")
    if args.corpus is not None and args.index is None:  # never overwrite the default index with another corpus
        settings = settings.model_copy(update={"index": _corpus_cache_dir(settings.corpus)})
    if args.claims is not None:
        return _eval_claims(args, settings)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        raise UserInputError(f"unknown system {unknown[0] if unknown else '(none)'}; choose from {', '.join(SYSTEMS)}")
    previous = None
    if args.compare is not None:
        try:
            previous = load_report(args.compare)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"cannot read the run to compare with in {args.compare}") from exc
    questions = load_questions(args.questions, split=args.split, limit=args.limit)
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    bar = tqdm(total=len(questions) * len(systems), desc="questions", unit="answer", file=sys.stderr)
    records = run_evaluation(assistant, questions, systems, progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    if args.holdout_docs:
        bar = tqdm(total=args.holdout_docs, desc="held-out gold", unit="question", file=sys.stderr)
        records += run_holdout(assistant, questions, args.holdout_docs,
                               progress=lambda done, total: bar.update(done - bar.n))
        bar.close()
    now = dt.datetime.now(dt.timezone.utc)
    report = eval_report(assistant, str(args.questions), records, now.isoformat(timespec="seconds"),
                         config={**settings.model_dump(mode="json"), "systems": systems, "split": args.split,
                                 "limit": args.limit, "holdout_docs": args.holdout_docs})
    summary = report.summary
    flips = compare_records(records, previous.records) if previous else []
    out = args.out or Path("evals") / "runs" / now.strftime("%Y%m%dT%H%M%S")
    paths = write_report(report, out, assistant.abstain_threshold, previous, flips)
    print(comparison_table(summary, previous.summary) if previous else summary_table(summary))
    if previous:
        print(f"\n{sum(f[2] == 'fixed' for f in flips)} fixed, {sum(f[2] == 'broken' for f in flips)} broken since "
              f"{args.compare}")
    print(f"\nreport: {out}/ ({', '.join(p.name for p in paths)})")
    return 0


def _eval_claims(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from tqdm import tqdm

    from assistant.eval.claim_eval import confusion_table, load_claims, run_claims, write_claims_report

    claims = load_claims(args.claims)
    if args.limit:
        claims = claims[: args.limit]
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    bar = tqdm(total=len(claims), desc="claims", unit="claim", file=sys.stderr)
    evaluation = run_claims(assistant, claims, progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    now = dt.datetime.now(dt.timezone.utc)
    out = args.out or Path("evals") / "runs" / f"claims-{now.strftime('%Y%m%dT%H%M%S')}"
    paths = write_claims_report(evaluation, out, str(args.claims))
    print(confusion_table(evaluation))
    print(f"\nreport: {', '.join(str(p) for p in paths)}")
    return 0


def _cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from assistant.eval.bench import run_bench
    from assistant.eval.bench_report import bench_markdown

    corpora = args.corpora or [settings.corpus]
    for corpus in corpora:
        if not corpus.exists():
            raise UserInputError(f"corpus not found: {corpus}")
    try:
        sizes = [int(x) for x in args.scale.split(",") if x.strip()]
        serve_sizes = [int(x) for x in args.serve_scale.split(",") if x.strip()]
    except ValueError as exc:
        raise UserInputError(f"--scale and --serve-scale expect numbers like 10000,100000, got "
                             f"{args.scale!r} and {args.serve_scale!r}") from exc
    if any(n < 1 for n in sizes + serve_sizes):
        raise UserInputError("--scale and --serve-scale sizes must be positive")
    questions = args.questions or Path("evals/questions/gene_therapy.jsonl")
    out = args.out or Path("evals") / "bench" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    report = run_bench(settings, corpora, questions, out, sizes, args.count, not args.no_http,
                       progress=lambda message: print(message, file=sys.stderr, flush=True), serve_sizes=serve_sizes)
    print(bench_markdown(report))
    print(f"\nreport: {out}/")
    return 0


def _cmd_train_judge(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.eval.judge_training import run

    return run(args)
