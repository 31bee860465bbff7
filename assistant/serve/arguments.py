"""The command line's arguments: one parser for every subcommand, and the settings they give.

Errors in arguments are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.errors import UserInputError
from assistant.models import RETRIEVAL_MODES, System
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



def _default(name: str) -> object:
    """A setting's default as ``Settings`` declares it: help texts never restate one."""
    return Settings.model_fields[name].default


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(prog="assistant", description="Cited extractive answers over a document collection.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--corpus", type=Path, help=f"corpus folder or .jsonl file (default: {_default('corpus')}/)")
        p.add_argument("--index", type=Path, help=f"index folder (default: {_default('index')}/)")
        p.add_argument("--model", help="sentence-transformers model path or name")
        p.add_argument("--backend", choices=["local", "qdrant"],
                       help="chunk search: local FAISS + BM25 files (default) or Qdrant (ASSISTANT_QDRANT_URL)")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    p_index = sub.add_parser("index", help="build or update the index")
    common(p_index)
    p_index.add_argument("--workers", type=_positive,
                         help="embed with N worker processes, cores split among them (default: this process); "
                              "with --ray, N Ray actors (default: one per cluster CPU)")
    p_index.add_argument("--ray", dest="ray_address", metavar="ADDRESS",
                         help="embed with Ray Data on the Ray cluster at host:port or ray://host:port, 'auto' "
                              "(RAY_ADDRESS or the last `ray start`) or 'local' (start Ray here); "
                              "needs the [scale] extra")

    def answering(p: argparse.ArgumentParser) -> None:
        common(p)
        p.add_argument("--k", type=_positive, help=f"passages to retrieve (default {_default('k')})")
        p.add_argument("--max-sentences", type=_positive,
                       help=f"most sentences in an answer (default {_default('max_sentences')})")
        p.add_argument("--mode", choices=[m.value for m in RETRIEVAL_MODES],
                       help=f"retrieval mode (default {_default('mode')})")
        p.add_argument("--doc", action="append", dest="docs", help="only search this document (repeatable)")

    def no_rebuild(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-rebuild", action="store_true",
                       help="never rebuild the index: refuse a damaged one, use a stale one as it is")

    p_ask = sub.add_parser("ask", help="answer one question")
    answering(p_ask)
    no_rebuild(p_ask)
    p_ask.add_argument("question", help="the question")
    p_ask.add_argument("--json", action="store_true", help="print the answer contract as JSON")

    p_chat = sub.add_parser("chat", help="interactive terminal chat")
    answering(p_chat)
    no_rebuild(p_chat)

    p_check = sub.add_parser("check", help="check the citations of a text (exit 3 when any claim fails)")
    common(p_check)
    no_rebuild(p_check)
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
    no_rebuild(p_serve)
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, local only)")
    p_serve.add_argument("--port", type=_positive, default=7860, help="port (default 7860)")
    p_serve.add_argument("--queue-size", type=_positive, default=64, help="requests that may wait (default 64)")
    p_serve.add_argument("--concurrency", type=_positive, default=4, help="requests answered at once (default 4)")

    p_train = sub.add_parser("train-judge", help="refit the judge on dev material (writes judge.json and its card)")
    from assistant.eval.judge_training import add_arguments

    add_arguments(p_train)

    p_eval = sub.add_parser("eval", help="evaluate systems on a question set")
    common(p_eval)
    p_eval.add_argument("--questions", type=Path, help="question set (.jsonl)")
    p_eval.add_argument("--claims", type=Path, help="labelled claim set (.jsonl) for the citation checker")
    p_eval.add_argument("--out", type=Path, help="report folder (default evals/runs/<timestamp>/)")
    p_eval.add_argument("--systems", default=",".join(System),
                        help=f"comma-separated systems: {', '.join(System)}")
    p_eval.add_argument("--split", choices=["dev", "test"], help="only questions of this split")
    p_eval.add_argument("--limit", type=_positive, help="only the first N questions")
    p_eval.add_argument("--compare", type=Path, help="an earlier run folder: add deltas and flipped questions")
    p_eval.add_argument("--holdout-docs", type=_positive, metavar="N",
                        help="also answer N sampled questions without their gold article and count abstentions")
    return parser



def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by command-line flags."""
    overrides = {}
    for key in ("corpus", "index", "model", "k", "max_sentences", "mode", "backend", "workers", "ray_address"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    try:
        return Settings(**overrides)
    except ValueError as exc:
        first = str(exc).splitlines()
        raise UserInputError(f"invalid setting: {' '.join(first[1:3]) if len(first) > 2 else first[0]}") from exc
