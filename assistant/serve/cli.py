"""Command line: ``assistant index | ask | chat``.

Exit codes: 0 answer or abstention, 2 bad input or usage (one line on stderr), 1 internal
error. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from assistant.errors import AssistantError, UserInputError
from assistant.serve.formatting import format_answer_text
from assistant.settings import Settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"assistant: error: {message}\n")
        raise SystemExit(2)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(prog="assistant", description="Cited extractive answers over a document collection.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--corpus", type=Path, help="corpus folder or .jsonl file (default: corpus/)")
        p.add_argument("--index", type=Path, help="index folder (default: index/)")
        p.add_argument("--model", help="sentence-transformers model path or name")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    p_index = sub.add_parser("index", help="build or update the index")
    common(p_index)

    def answering(p: argparse.ArgumentParser) -> None:
        common(p)
        p.add_argument("--k", type=_positive, help="passages to retrieve (default 8)")
        p.add_argument("--max-sentences", type=_positive, help="most sentences in an answer (default 2)")
        p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], help="retrieval mode (default hybrid)")
        p.add_argument("--doc", action="append", dest="docs", help="only search this document (repeatable)")

    p_ask = sub.add_parser("ask", help="answer one question")
    answering(p_ask)
    p_ask.add_argument("question", help="the question")
    p_ask.add_argument("--json", action="store_true", help="print the answer contract as JSON")

    p_chat = sub.add_parser("chat", help="interactive terminal chat")
    answering(p_chat)

    p_check = sub.add_parser("check", help="check the citations of a text (exit 3 when any claim fails)")
    common(p_check)
    p_check.add_argument("file", help="file to check, or - for standard input")
    p_check.add_argument("--json", action="store_true", help="print the check report as JSON")

    p_bench = sub.add_parser("bench", help="measure speed and memory (writes a report)")
    p_bench.add_argument("--corpus", type=Path, action="append", dest="corpora",
                         help="corpus to index and time (repeatable; the last one is used for latency)")
    p_bench.add_argument("--questions", type=Path, help="questions for latency (default: the gene-therapy set)")
    p_bench.add_argument("--count", type=_positive, default=200, help="questions to time (default 200)")
    p_bench.add_argument("--scale", default="10000,100000,1000000",
                         help="vector counts for the FAISS scaling run, comma-separated ('' to skip)")
    p_bench.add_argument("--serve-scale", default="",
                         help="chunk counts of synthetic indexes to build and serve, e.g. 10000,100000,1000000 "
                              "(default: none; 1M takes about 15 minutes)")
    p_bench.add_argument("--no-http", action="store_true", help="skip the HTTP API measurement")
    p_bench.add_argument("--out", type=Path, help="report folder (default evals/bench/<timestamp>/)")
    p_bench.add_argument("--model", help="sentence-transformers model path or name")
    p_bench.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    p_serve = sub.add_parser("serve", help="start the browser UI")
    common(p_serve)
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, local only)")
    p_serve.add_argument("--port", type=_positive, default=7860, help="port (default 7860)")
    p_serve.add_argument("--queue-size", type=_positive, default=64, help="requests that may wait (default 64)")
    p_serve.add_argument("--concurrency", type=_positive, default=4, help="requests answered at once (default 4)")

    p_eval = sub.add_parser("eval", help="evaluate systems on a question set")
    common(p_eval)
    p_eval.add_argument("--questions", type=Path, help="question set (.jsonl)")
    p_eval.add_argument("--claims", type=Path, help="labelled claim set (.jsonl) for the citation checker")
    p_eval.add_argument("--out", type=Path, help="report folder (default evals/runs/<timestamp>/)")
    p_eval.add_argument("--systems", default="naive,dense,bm25,hybrid,full",
                        help="comma-separated systems: naive, dense, bm25, hybrid, full")
    p_eval.add_argument("--split", choices=["dev", "test"], help="only questions of this split")
    p_eval.add_argument("--limit", type=_positive, help="only the first N questions")
    p_eval.add_argument("--compare", type=Path, help="an earlier run folder: add deltas and flipped questions")
    p_eval.add_argument("--holdout-docs", type=_positive, metavar="N",
                        help="also answer N sampled questions without their gold article and count abstentions")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by command-line flags."""
    overrides = {}
    for key in ("corpus", "index", "model", "k", "max_sentences", "mode"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    try:
        return Settings(**overrides)
    except ValueError as exc:
        first = str(exc).splitlines()
        raise UserInputError(f"invalid setting: {' '.join(first[1:3]) if len(first) > 2 else first[0]}") from exc


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


def _open_assistant(settings: Settings, explicit_corpus: bool):
    """An Assistant whose index is fresh for its corpus: the one given with --corpus, else the
    one the index was built from, else the default corpus when there is no index yet."""
    from assistant.index.store import read_manifest
    from assistant.service import Assistant

    assistant = Assistant(settings)
    corpus: Path | None = settings.corpus if explicit_corpus else None
    if corpus is None:
        manifest = read_manifest(settings.index)
        if manifest is None:
            corpus = settings.corpus
        elif manifest.corpus and Path(manifest.corpus).exists():
            corpus = Path(manifest.corpus)
            # uploads and removals must go to the folder this index was built from
            assistant.settings = settings.model_copy(update={"corpus": corpus})
    if corpus is not None:
        built = assistant.ensure_index(corpus, progress=_progress_printer())
        if built is not None:
            print(f"index updated in {built.seconds:.1f}s", file=sys.stderr)
        for warning in assistant.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return assistant


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.answer.answering import validate_question

    validate_question(args.question, settings.max_question_chars)  # fail before any index build
    assistant = _open_assistant(settings, args.corpus is not None)
    answer = assistant.ask(args.question, doc_filter=args.docs)
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(format_answer_text(answer))
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _open_assistant(settings, args.corpus is not None)
    index = assistant.index
    print(f"Ask about {len(index.manifest.documents)} documents in {settings.corpus}. Empty line or Ctrl-D quits.")
    while True:
        try:
            question = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            return 0
        try:
            print(format_answer_text(assistant.ask(question, doc_filter=args.docs)))
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

    from assistant.eval.evaluation import (SYSTEMS, compare_records, load_questions, run_evaluation, run_holdout,
                                      summarize, summarize_by_tag)
    from assistant.models import EvalReport
    from assistant.eval.reports import comparison_table, load_report, summary_table, write_report

    if args.questions is None and args.claims is None:
        raise UserInputError("eval needs --questions FILE or --claims FILE")
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
    if args.corpus is not None and args.index is None:
        settings = settings.model_copy(update={"index": _corpus_cache_dir(settings.corpus)})
    assistant = _open_assistant(settings, args.corpus is not None)
    bar = tqdm(total=len(questions) * len(systems), desc="questions", unit="answer", file=sys.stderr)
    records = run_evaluation(assistant, questions, systems, progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    if args.holdout_docs:
        bar = tqdm(total=args.holdout_docs, desc="held-out gold", unit="question", file=sys.stderr)
        records += run_holdout(assistant, questions, args.holdout_docs,
                               progress=lambda done, total: bar.update(done - bar.n))
        bar.close()
    names = list(dict.fromkeys(r.system for r in records))
    summary = {s: summarize([r for r in records if r.system == s]) for s in names}
    now = dt.datetime.now(dt.timezone.utc)
    report = EvalReport(questions_file=str(args.questions), corpus=assistant.index.manifest.corpus,
                        created_at=now.isoformat(timespec="seconds"),
                        config={**settings.model_dump(mode="json"), "systems": systems, "split": args.split,
                                "limit": args.limit, "holdout_docs": args.holdout_docs},
                        index_build_seconds=assistant.index.manifest.build_seconds,
                        summary=summary, by_tag=summarize_by_tag(records), records=records)
    flips = compare_records(records, previous.records) if previous else []
    out = args.out or Path("evals") / "runs" / now.strftime("%Y%m%dT%H%M%S")
    paths = write_report(report, out, settings.abstain_threshold, previous, flips)
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
    assistant = _open_assistant(settings, args.corpus is not None)
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
    assistant = _open_assistant(settings, args.corpus is not None)
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

    from assistant.eval.bench import bench_markdown, run_bench

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
    assistant = _open_assistant(settings, args.corpus is not None)
    assistant.index  # load (and verify) before accepting requests
    assistant.query_embedder.encode(["warm up"])
    from assistant.serve.http_api import plain_routes
    from assistant.serve.ui import build_app  # Gradio takes seconds to import: only once the index is usable

    app = build_app(assistant)
    app.queue(max_size=args.queue_size, default_concurrency_limit=args.concurrency)
    print(f"serving {len(assistant.index.manifest.documents)} documents on http://{args.host}:{args.port}",
          file=sys.stderr, flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=False, show_error=False, quiet=True,
               max_file_size="10mb", strict_cors=True, footer_links=["api"],
               app_kwargs={"routes": plain_routes(assistant, args.concurrency, args.queue_size)})
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assistant`` console script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s: %(message)s")
    started = time.perf_counter()
    try:
        settings = settings_from_args(args)
        handler = {"index": _cmd_index, "ask": _cmd_ask, "chat": _cmd_chat, "eval": _cmd_eval,
                   "serve": _cmd_serve, "check": _cmd_check, "bench": _cmd_bench}[args.command]
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
