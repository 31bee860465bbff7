"""Command line: ``assistant index | ask | chat | check | eval | bench | serve`` (arguments: ``arguments``).

Exit codes: 0 answer or abstention, 2 bad input or usage (one line on stderr), 1 internal
error. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from pathlib import Path

from assistant.errors import AssistantError, UserInputError
from assistant.serve.arguments import build_parser, settings_from_args
from assistant.serve.formatting import format_answer_text
from assistant.settings import Settings, use_local_models


def _progress_printer():
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=f"embedding {label}", unit="text", file=sys.stderr,
                                     leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import Assistant

    assistant = Assistant(settings)
    result = assistant.build(settings.corpus, progress=_progress_printer())
    for warning in assistant.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    m = result.manifest
    chunks = sum(e.chunks for e in m.documents.values())
    sentences = sum(e.sentences for e in m.documents.values())
    print(f"indexed {len(m.documents)} documents, {chunks} chunks, {sentences} sentences into {settings.index} "
          f"in {result.seconds:.1f}s (embedded {result.embedded_texts} texts, reused {result.reused_texts}; "
          f"{len(result.added)} added, {len(result.changed)} changed, {len(result.removed)} removed)")
    return 0


def _open_assistant(settings: Settings, explicit_corpus: bool, rebuild: bool = True):
    """An Assistant whose index is fresh for its corpus: the one given with --corpus, else the
    one the index was built from, else the default corpus when there is no index yet (or its
    manifest is damaged). Without ``rebuild`` a damaged index is refused, a stale one kept."""
    from assistant.errors import IndexError_
    from assistant.index.manifest import read_manifest
    from assistant.service import Assistant

    assistant = Assistant(settings)
    corpus: Path | None = settings.corpus if explicit_corpus else None
    if corpus is None:
        try:
            manifest = read_manifest(settings.index)
        except IndexError_:  # ensure_index reports the damage, then rebuilds or refuses
            manifest = None
        if manifest is None:
            corpus = settings.corpus
        elif manifest.corpus and Path(manifest.corpus).exists():
            corpus = Path(manifest.corpus)
            # uploads and removals must go to the folder this index was built from
            assistant.settings = settings.model_copy(update={"corpus": corpus})
    if corpus is not None:
        built = assistant.ensure_index(corpus, progress=_progress_printer(), rebuild=rebuild)
        if built is not None:
            print(f"index updated in {built.seconds:.1f}s", file=sys.stderr)
        for warning in assistant.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return assistant


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.answer.answering import validate_question

    validate_question(args.question, settings.max_question_chars)  # fail before any index build
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    answer = assistant.ask(args.question, doc_filter=args.docs)
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(format_answer_text(answer))
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    index = assistant.index
    print(f"Ask about {len(index.manifest.documents)} documents in {settings.corpus}. Empty line or Ctrl-D quits.")
    from assistant.answer.conversation import ask_in_conversation

    asked: list[str] = []
    while True:
        try:
            question = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            return 0
        try:  # a follow-up ("How much does it cost?") is resolved as in the browser
            answer = ask_in_conversation(lambda q: assistant.ask(q, doc_filter=args.docs), question, asked,
                                         index.sentence_df)
            print(format_answer_text(answer))
        except UserInputError as exc:
            print(f"error: {exc}")


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
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
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


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.serve.formatting import format_check_report

    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise UserInputError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    if b"\x00" in data[:4096]:
        raise UserInputError(f"{args.file}: looks binary, expected text")
    text = data.decode("utf-8", errors="replace")
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    report = assistant.check(text)
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(format_check_report(report, colour=sys.stdout.isatty()))
    return 0 if report.ok else 3


def _eval_claims(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from tqdm import tqdm

    from assistant.eval.claim_eval import confusion_table, load_claims, run_claims, write_claims_report

    claims = load_claims(args.claims)
    if args.limit:
        claims = claims[: args.limit]
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
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


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    assistant.index  # load (and verify) before accepting requests
    assistant.embed_in_child = True  # an upload's embedding must not leave torch in the server (~450 MB)
    assistant.query_embedder.encode(["warm up"])
    from assistant.serve.http_api import plain_routes
    from assistant.serve.ui import (
        build_app,  # Gradio takes seconds to import: only once the index is usable
    )

    app = build_app(assistant)
    app.queue(max_size=args.queue_size, default_concurrency_limit=args.concurrency)
    print(f"serving {len(assistant.index.manifest.documents)} documents on http://{args.host}:{args.port}",
          file=sys.stderr, flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=False, show_error=False, quiet=True,
               max_file_size="10mb", strict_cors=True, footer_links=["api"],
               app_kwargs={"routes": plain_routes(assistant, args.concurrency, args.queue_size)})
    return 0


def _cmd_train_judge(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.eval.judge_training import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assistant`` console script."""
    use_local_models()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s: %(message)s")
    started = time.perf_counter()
    try:
        settings = settings_from_args(args)
        handler = {"index": _cmd_index, "ask": _cmd_ask, "chat": _cmd_chat, "eval": _cmd_eval,
                   "serve": _cmd_serve, "check": _cmd_check, "bench": _cmd_bench,
                   "train-judge": _cmd_train_judge}[args.command]
        return handler(args, settings)
    except AssistantError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"assistant: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # unexpected: one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"assistant: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1
    finally:
        logging.getLogger(__name__).debug("took %.2fs", time.perf_counter() - started)
