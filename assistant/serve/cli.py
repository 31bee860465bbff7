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
from assistant.serve.cli_eval import _cmd_bench, _cmd_eval, _cmd_train_judge
from assistant.serve.formatting import format_answer_text
from assistant.serve.opening import open_assistant, progress_printer
from assistant.settings import Settings, use_local_models


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import Assistant

    assistant = Assistant(settings)
    result = assistant.build(settings.corpus, progress=progress_printer())
    for warning in assistant.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    m = result.manifest
    chunks = sum(e.chunks for e in m.documents.values())
    sentences = sum(e.sentences for e in m.documents.values())
    print(f"indexed {len(m.documents)} documents, {chunks} chunks, {sentences} sentences into {settings.index} "
          f"in {result.seconds:.1f}s (embedded {result.embedded_texts} texts, reused {result.reused_texts}; "
          f"{len(result.added)} added, {len(result.changed)} changed, {len(result.removed)} removed)")
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.answer.answering import validate_question

    validate_question(args.question, settings.max_question_chars)  # fail before any index build
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    answer = assistant.ask(args.question, doc_filter=args.docs)
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(format_answer_text(answer))
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
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
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False))
    report = assistant.check(text)
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(format_check_report(report, colour=sys.stdout.isatty()))
    return 0 if report.ok else 3


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings, args.corpus is not None, not getattr(args, "no_rebuild", False),
                               serve_meanwhile=True)
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
