"""A plain JSON API beside the Gradio app: one request per answer.

Gradio's own API needs two requests (a POST that queues the call, then a GET of its event
stream) and goes through its queue: about 30 ms per question here. These routes answer in one
request with the same library call and the same contracts (``Answer``, ``CheckReport``).

- ``POST /api/ask``   ``{"question": str, "max_sentences": 1-10, "mode": "hybrid"|"dense"|"bm25",
  "documents": [doc ids] | null}`` -> the answer contract;
- ``POST /api/check`` ``{"text": str}`` -> the check report.

Bad input is a 400 with ``{"error": "<one line>"}``; a body over the limit is a 413; more calls in
flight than the server allows is a 503, answered at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistant.errors import AssistantError, UserInputError
from assistant.models import RETRIEVAL_MODES
from assistant.service import Assistant

MAX_BODY_BYTES = 1_000_000
MAX_SENTENCES = 10  # the most sentences one answer may have (the API's and the UI slider's limit)


def ask_arguments_problem(max_sentences: Any, mode: Any, documents: Any) -> str | None:
    """Why the arguments of an API call to ``ask`` are unusable (one line), or None."""
    if mode not in RETRIEVAL_MODES:
        *first, last = RETRIEVAL_MODES
        return f"unknown mode {str(mode)[:40]!r}; use {', '.join(first)} or {last}"
    try:
        count = float(max_sentences)  # 2, 2.0 and "2" are fine
    except (TypeError, ValueError):
        count = float("nan")
    if isinstance(max_sentences, bool) or not 1 <= count <= MAX_SENTENCES or count != int(count):
        return f"max_sentences must be a whole number from 1 to {MAX_SENTENCES}"
    if documents is not None and (not isinstance(documents, list) or not all(isinstance(d, str) for d in documents)):
        return "documents must be a list of document ids or null"
    return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_object(request: Request) -> dict | JSONResponse:
    """The request's JSON object, or the error response saying what is wrong with it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "the request body is not JSON")
    except RecursionError:
        return _error(400, "the request body is JSON nested too deeply")
    if not isinstance(value, dict):
        return _error(400, "the request body must be a JSON object")
    return value


class _Gate:
    """Runs at most ``concurrency`` calls at once, lets up to ``waiting`` more wait, and refuses
    any beyond that at once (a 503) instead of queueing without bound."""

    def __init__(self, concurrency: int, waiting: int) -> None:
        self.limit, self.in_flight = concurrency + waiting, 0
        self._running = asyncio.Semaphore(concurrency)

    async def run(self, call: Callable[[], Any]) -> Any:
        if self.in_flight >= self.limit:
            return _error(503, "the server is busy; try again in a moment")
        self.in_flight += 1  # the event loop is single-threaded: no lock needed
        try:
            async with self._running:
                return await run_in_threadpool(call)
        finally:
            self.in_flight -= 1


def plain_routes(assistant: Assistant, concurrency: int = 4, waiting: int = 64) -> list[Route]:
    """The ``/api/ask`` and ``/api/check`` routes for ``assistant``."""
    gate = _Gate(concurrency, waiting)

    async def ask(request: Request) -> JSONResponse:
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        unknown = sorted(set(body) - {"question", "max_sentences", "mode", "documents"})
        if unknown:
            return _error(400, f"unknown field {unknown[0][:40]!r}; use question, max_sentences, mode, documents")
        question = body.get("question")
        if not isinstance(question, str):
            return _error(400, "question must be a string")
        max_sentences = body.get("max_sentences", assistant.settings.max_sentences)
        mode, documents = body.get("mode", assistant.settings.mode), body.get("documents")
        problem = ask_arguments_problem(max_sentences, mode, documents)
        if problem:
            return _error(400, problem)

        def answer() -> JSONResponse:
            try:
                result = assistant.ask(question, max_sentences=int(float(max_sentences)), mode=mode,
                                       doc_filter=documents or None)
            except UserInputError as exc:
                return _error(400, str(exc))
            except AssistantError as exc:
                return _error(500, str(exc))
            return JSONResponse(result.model_dump(mode="json"))

        return await gate.run(answer)

    async def check(request: Request) -> JSONResponse:
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        text = body.get("text")
        if not isinstance(text, str) or set(body) != {"text"}:
            return _error(400, 'the body must be {"text": "<the text to check>"}')

        def report() -> JSONResponse:
            try:
                return JSONResponse(assistant.check(text).model_dump(mode="json"))
            except UserInputError as exc:
                return _error(400, str(exc))
            except AssistantError as exc:
                return _error(500, str(exc))

        return await gate.run(report)

    return [Route("/api/ask", ask, methods=["POST"]), Route("/api/check", check, methods=["POST"])]
